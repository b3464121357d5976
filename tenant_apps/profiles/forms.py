from django import forms

from tenant_apps.profiles.avatars import MAX_BYTES, MAX_SIDE
from tenant_apps.profiles.models import NotificationKind
from tenant_apps.profiles.phone import FORMAT_HINT, phone_normalize
from tenant_apps.profiles.selectors import timezone_choices


class NotificationForm(forms.Form):
    enabled = forms.MultipleChoiceField(
        choices=NotificationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Email me when",
    )


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        label="Display name", max_length=150, required=False, help_text="Shown on every site you use."
    )
    job_title = forms.CharField(label="Job title", max_length=100, required=False)
    phone = forms.CharField(label="Phone", max_length=40, required=False, help_text=FORMAT_HINT)
    timezone = forms.ChoiceField(
        label="Timezone", required=False, help_text="Every date and time on this site is shown in it."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()

    def clean_phone(self) -> str:
        return phone_normalize(self.cleaned_data["phone"])  # all errors at once (the service checks too)


class AvatarForm(forms.Form):
    avatar = forms.FileField(
        label="New picture",
        help_text=f"JPEG, PNG, GIF or WebP, at most {MAX_BYTES // 1024 // 1024} MB and {MAX_SIDE:,} x {MAX_SIDE:,} "
        "pixels. It is cropped to a square; location and camera data are removed.",
    )
