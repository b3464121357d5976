from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator

from shared_apps.tenancy.models import Membership


class SiteCreateForm(forms.Form):
    name = forms.CharField(label="Company name", max_length=100)
    subdomain = forms.CharField(
        max_length=60,
        strip=False,
        help_text="3-40 characters: lowercase letters, digits and hyphens. Becomes SUBDOMAIN.your-domain.",
    )
    admin_email = forms.EmailField(label="First admin's email", help_text="They get an invitation to set a password.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subdomain"].help_text = (
            "3-40 characters: lowercase letters, digits and hyphens. "
            f"The site will be at SUBDOMAIN.{settings.ROOT_DOMAIN}."
        )


class SiteDeleteForm(forms.Form):
    confirmation = forms.CharField(label="Type the subdomain to confirm", max_length=60, strip=False)


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.STAFF)


class SignupSettingsForm(forms.Form):
    allow_signup = forms.BooleanField(required=False, label="Let colleagues create their own account")
    signup_domains = forms.CharField(
        required=False,
        label="Email domains allowed to sign up",
        help_text="Comma-separated, e.g. acme.com, acme.co.uk",
    )

    def clean_signup_domains(self) -> list[str]:
        domains = [d.strip().lower().lstrip("@") for d in self.cleaned_data["signup_domains"].split(",") if d.strip()]
        for domain in domains:
            try:
                DomainNameValidator(accept_idna=False)(domain)
            except ValidationError:
                raise forms.ValidationError(f"'{domain}' is not an email domain.") from None
        return domains

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("allow_signup") and not cleaned.get("signup_domains"):
            raise forms.ValidationError("List at least one email domain, or leave sign-up off.")
        return cleaned


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    password1 = forms.CharField(widget=forms.PasswordInput, label="Choose a password", strip=False)
    password2 = forms.CharField(widget=forms.PasswordInput, label="Password again", strip=False)

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            raise forms.ValidationError("The two passwords differ.")
        if cleaned.get("password1"):
            from shared_apps.accounts.models import User

            validate_password(cleaned["password1"], user=User(email=self.email))
        return cleaned
