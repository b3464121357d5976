"""Test data builders. Users get a verified primary email, as allauth's mandatory verification needs."""

from allauth.account.models import EmailAddress

from shared_apps.accounts.models import User

PASSWORD = "correct-horse-battery-9"


def user_create(email: str, *, full_name: str = "", superuser: bool = False, verified: bool = True) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=PASSWORD, full_name=full_name, is_superuser=superuser)
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": verified, "primary": True})
    return user
