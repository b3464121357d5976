from django import forms

from tenant_apps.tickets.forms import _categories
from tenant_apps.tickets.models import Priority


class CorrectionForm(forms.Form):
    category = forms.ModelChoiceField(queryset=None, empty_label=None)
    priority = forms.ChoiceField(choices=Priority.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories()
