from shared_apps.accounts.models import User


def account_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email.strip()).exists()


def user_get_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()


def user_get(*, pk) -> User | None:
    return User.objects.filter(pk=pk, is_active=True).first() if pk else None
