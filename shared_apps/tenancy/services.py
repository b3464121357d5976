"""Writes about sites and their people: invitations, memberships, suspension, deletion."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.billing.models import Subscription
from shared_apps.billing.seats import seat_take_check
from shared_apps.tenancy.models import Client, Invitation, Membership
from shared_apps.tenancy.schema_names import quote_ident


def member_email_check(*, email: str, site_name: str) -> None:
    """Raise ValidationError if `email` belongs to one of the IT company's engineers (any
    engineer profile, active or not): they reach a site through the coverage the platform admins
    set and take no seat, so they are never a site's member as well (the platform console refuses
    the converse, shared_apps/engineers/services.py)."""
    from shared_apps.engineers.models import EngineerProfile

    if EngineerProfile.objects.filter(user__email__iexact=email.strip()).exists():
        raise ValidationError(
            f"{email.strip().lower()} belongs to one of the IT company's engineers. Engineers are not invited "
            f"as staff: they reach {site_name} through the coverage the IT company sets on its platform, and "
            "take no seat.",
            code="engineer",
        )


@transaction.atomic
def invitation_create(*, client: Client, email: str, role: str, invited_by=None) -> Invitation:
    """Invite `email` to `client` and queue the email after commit. Re-inviting someone replaces
    their pending invitation (the old link stops working); then `invitation.replaced_pending` is
    True, so the caller can say so."""
    email = email.strip().lower()
    if Membership.objects.filter(client=client, user__email__iexact=email, is_active=True).exists():
        raise ValidationError(f"{email} is already a member of {client.name}.")
    member_email_check(email=email, site_name=client.name)
    seat_take_check(client, email=email)  # a pending invitation holds a seat
    earlier = Invitation.objects.filter(client=client, email=email, accepted_at__isnull=True)
    replaced_pending = earlier.filter(expires_at__gt=timezone.now()).exists()
    earlier.delete()
    token = Invitation.new_token()
    invitation = Invitation.objects.create(
        client=client, email=email, role=role, token_hash=Invitation.hash_token(token), invited_by=invited_by
    )
    invitation.replaced_pending = replaced_pending
    from shared_apps.tenancy.tasks import invitation_send

    transaction.on_commit(lambda: invitation_send.delay(invitation.pk, token))
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User | None = None, password: str = "", full_name: str = ""):
    """Turn an invitation into an active membership. With no `user`, create the account for the
    invited email (its address is verified by the link itself)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise ValidationError("This invitation has expired or was already used. Ask for a new one.")
    if user is None:
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError("An account with this email exists already: log in to accept.")
        user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name.strip())
    elif user.email.lower() != invitation.email.lower():
        raise ValidationError(f"This invitation is for {invitation.email}; you are logged in as {user.email}.")
    member_email_check(email=invitation.email, site_name=invitation.client.name)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    membership, _ = Membership.objects.update_or_create(
        user=user,
        client=invitation.client,
        defaults={"role": invitation.role, "is_active": True, "deactivated_at": None},
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


@transaction.atomic
def invitation_cancel(*, invitation: Invitation) -> None:
    """Withdraw a pending invitation: its link stops working and its seat is free again."""
    invitation = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
    if invitation is None:
        return  # cancelled twice at once: the first did it
    if invitation.accepted_at is not None:
        raise ValidationError(f"{invitation.email} has already accepted; deactivate them instead.")
    invitation.delete()


@transaction.atomic
def membership_deactivate(*, membership: Membership, by: User) -> Membership:
    """Take a person off a site at once (their account and history stay)."""
    if membership.user_id == by.pk:
        raise ValidationError("You cannot deactivate yourself.")
    if membership.role == Membership.Role.ADMIN:
        other_admins = Membership.objects.filter(
            client_id=membership.client_id, role=Membership.Role.ADMIN, is_active=True
        ).exclude(pk=membership.pk)
        if not other_admins.exists():
            raise ValidationError("A site needs at least one active client admin.")
    membership.is_active = False
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["is_active", "deactivated_at"])
    return membership


@transaction.atomic
def membership_reactivate(*, membership: Membership) -> Membership:
    if not membership.is_active:
        member_email_check(email=membership.user.email, site_name=membership.client.name)
        seat_take_check(membership.client, email=membership.user.email)
    membership.is_active = True
    membership.deactivated_at = None
    membership.save(update_fields=["is_active", "deactivated_at"])
    return membership


def _require_platform_admin(user: User) -> None:
    if not user.is_superuser:
        raise PermissionDenied


@transaction.atomic
def site_suspend(*, client: Client, by: User | None) -> Client:
    """Users of a suspended site see a 'suspended' page; nothing is deleted. `by=None` is the
    system itself (billing's dunning, shared_apps/billing/dunning.py)."""
    if by is not None:
        _require_platform_admin(by)
        # The platform admin's reason from now on, even where an earlier dunning suspension left
        # its mark (a site they reactivated by hand): the suspended page must not blame billing,
        # and recording a payment must not lift this one.
        Subscription.objects.filter(client_id=client.pk, suspended_for_nonpayment=True).update(
            suspended_for_nonpayment=False
        )
    client.status = Client.Status.SUSPENDED
    client.suspended_at = timezone.now()
    client.save(update_fields=["status", "suspended_at"])
    return client


@transaction.atomic
def site_reactivate(*, client: Client, by: User | None) -> Client:
    if by is not None:
        _require_platform_admin(by)
    client.status = Client.Status.ACTIVE
    client.suspended_at = None
    client.save(update_fields=["status", "suspended_at"])
    return client


def site_export_request(*, client: Client, by: User) -> None:
    """Queue the writing of an export archive (a worker does it; the console lists it when done)."""
    _require_platform_admin(by)
    from shared_apps.tenancy.tasks import site_export_task

    transaction.on_commit(lambda: site_export_task.delay(client.pk))


@transaction.atomic
def site_delete(*, client: Client, by: User | None, confirmation: str) -> None:
    """Drop the site's schema and every row about it, all or nothing. `confirmation` must be the
    subdomain typed again. `by=None` is the command line (`delete_site --yes`)."""
    if by is not None:
        _require_platform_admin(by)
    if client.schema_name in (settings.PUBLIC_SCHEMA_NAME, settings.TENANT_BASE_SCHEMA):
        raise ValidationError("The public and template schemas cannot be deleted.")
    if confirmation != client.subdomain:
        raise ValidationError(f"Type the subdomain '{client.subdomain}' to confirm.")
    with connection.cursor() as cursor:
        # Deferred foreign-key checks still pending in this transaction would block the DROP.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(client.schema_name)} CASCADE")
    client.delete(force_drop=False)


@transaction.atomic
def site_signup_settings_update(*, client: Client, allow_signup: bool, signup_domains: list[str]) -> Client:
    client.allow_signup = allow_signup
    client.signup_domains = sorted(set(signup_domains))
    client.save(update_fields=["allow_signup", "signup_domains"])
    return client


@transaction.atomic
def membership_create_from_signup(*, user: User, client: Client) -> Membership:
    """A self-signup on a site that allows it makes the person staff there. (The sign-up form
    checks the seats first, so nobody gets an account the site has no room for.)"""
    if not Membership.objects.filter(user=user, client=client, is_active=True).exists():
        seat_take_check(client, email=user.email)
    membership, _ = Membership.objects.get_or_create(user=user, client=client, defaults={"role": Membership.Role.STAFF})
    return membership


@transaction.atomic
def membership_grant(*, user: User, client: Client, role: str) -> Membership:
    """Make `user` an active member of `client` with `role` (used by the demo and fixtures)."""
    member_email_check(email=user.email, site_name=client.name)
    if not Membership.objects.filter(user=user, client=client, is_active=True).exists():
        seat_take_check(client, email=user.email)
    membership, _ = Membership.objects.update_or_create(
        user=user, client=client, defaults={"role": role, "is_active": True, "deactivated_at": None}
    )
    return membership
