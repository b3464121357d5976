from allauth.account.forms import SignupForm
from allauth.core import context
from django import forms

from shared_apps.accounts.adapter import _client_site


class SiteSignupForm(SignupForm):
    """Self-signup on a client site: only for the email domains that site lists."""

    def clean_email(self):
        email = super().clean_email()
        site = _client_site(context.request)
        domain = email.rsplit("@", 1)[-1].lower()
        if site is None or domain not in site.signup_domains:
            allowed = ", ".join(f"@{d}" for d in (site.signup_domains if site else []))
            raise forms.ValidationError(
                f"Sign-up on this site is for {allowed} addresses. Ask your client admin for an invitation."
            )
        from shared_apps.billing.seats import seat_use

        use = seat_use(site, ignore_email=email)
        if use.plan is not None and use.used >= use.plan.seats:
            raise forms.ValidationError(
                f"{site.name} has no free seat on its {use.plan.name} plan ({use.plan.seats} users). "
                "Ask your client admin."
            )
        return email
