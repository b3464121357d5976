"""allauth glue: who may sign up where, and what signing up on a site gives you."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


def _client_site(request):
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return None
    return tenant


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        """Invitation only, except on a client site that allows self-signup for listed domains.
        The root domain never signs people up: engineers and platform admins are invited."""
        site = _client_site(request)
        return bool(site and site.allow_signup and site.signup_domains and not site.is_suspended)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        from shared_apps.tenancy.services import membership_create_from_signup

        membership_create_from_signup(user=user, client=_client_site(request))
        return user
