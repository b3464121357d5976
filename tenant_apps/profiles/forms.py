from django import forms

from tenant_apps.profiles.models import NotificationKind


class NotificationForm(forms.Form):
    enabled = forms.MultipleChoiceField(
        choices=NotificationKind.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Email me when"
    )
