"""Writes about engineers: invite, coverage and skills, availability, handing tickets back, and
the engineer's one picture for every site they cover."""

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.engineers.models import EngineerProfile, TicketIndex
from shared_apps.tenancy.links import root_url
from shared_apps.tenancy.models import Invitation, Membership
from tenant_apps.profiles.avatars import avatar_stored
from tenant_apps.profiles.services import person_cards_forget


def _require_platform_admin(user) -> None:
    if not getattr(user, "is_superuser", False):
        raise PermissionDenied


@transaction.atomic
def engineer_invite(*, email: str, full_name: str, by) -> EngineerProfile:
    """Create the engineer's account (no password yet) and email them a link to choose one.
    An address a client site uses is refused (`_refuse_client_address`)."""
    _require_platform_admin(by)
    email = email.strip().lower()
    _refuse_client_address(email)
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=None, full_name=full_name.strip())
    if EngineerProfile.objects.filter(user=user).exists():
        raise ValidationError(f"{email} is already an engineer.")
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    profile = EngineerProfile.objects.create(user=user)
    person_cards_forget(user_id=user.pk)  # if they are a member of some site, their picture there changes
    transaction.on_commit(lambda: _send_welcome(user))
    return profile


def _refuse_client_address(email: str) -> None:
    """Engineers are the IT company's own staff; an address that belongs to a client site's user
    is not theirs to use. Counted: every membership, active or deactivated, and every pending
    invitation. A deactivated member is one click from active again (the site's client admin
    can reactivate them, and nobody at the IT company would see it), and the mailbox behind the
    address is the client's, so whoever controls it could take the engineer's password-reset
    link and, with it, every covered site and the global knowledge base. A pending invitation is
    the client admin's claim on the address, and accepting it would make the engineer a member."""
    ties = [
        f"{'a member' if membership.is_active else 'a deactivated member'} of the client site {membership.client.name}"
        for membership in Membership.objects.filter(user__email__iexact=email).select_related("client")
    ]
    ties += [
        f"a person invited to the client site {invitation.client.name}"
        for invitation in Invitation.objects.filter(
            email__iexact=email, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .exclude(client__memberships__user__email__iexact=email)
        .select_related("client")
    ]
    if ties:
        raise ValidationError(
            f"{email} belongs to {' and '.join(sorted(ties))}. Engineers are the IT company's own staff: "
            "invite them with their work address at the IT company, not one a client site uses.",
            code="client_address",
        )


def _send_welcome(user: User) -> None:
    from django.core.mail import send_mail

    key = default_token_generator.make_token(user)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(user), "key": key})
    send_mail(
        subject="[TenantDesk] You are an engineer on TenantDesk",
        message=(
            f"Hello {user.get_short_name()},\n\nYou were added as an engineer. Choose your password here:\n"
            f"{root_url(path)}\n\nThen your queue is at {root_url('/queue/')}\n"
        ),
        from_email=None,
        recipient_list=[user.email],
    )


@transaction.atomic
def engineer_profile_update(*, profile: EngineerProfile, by, sites, **fields) -> EngineerProfile:
    """Skills, coverage, capacity, availability. Coverage changes take effect on the next
    request everywhere: access is decided from the profile on every request."""
    _require_platform_admin(by)
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean(exclude=["user", "sites"])
    profile.save(update_fields=list(fields))
    profile.sites.set([] if profile.covers_all_sites else sites)
    person_cards_forget(user_id=profile.user_id)  # where their picture shows follows their coverage
    return profile


def engineer_avatar_set(*, user, upload) -> EngineerProfile:
    """Check and re-encode `upload` (profiles/avatars.py, the same pipeline as client staff's
    pictures) and make it the engineer's picture on every site they cover and on the root
    domain. A refused file raises ValidationError before anything is stored; if saving fails,
    the new file is deleted again; the old file goes once the change commits."""
    with avatar_stored(upload, folder=f"engineers/avatars/{user.pk}") as name:
        with transaction.atomic():
            profile = EngineerProfile.objects.select_for_update().filter(user=user).first()
            if profile is None:
                raise PermissionDenied("Only engineers have a picture for every site.")
            old = profile.avatar.name
            profile.avatar.name = name
            profile.avatar_version += 1
            profile.save(update_fields=["avatar", "avatar_version"])
            if old:
                transaction.on_commit(lambda: default_storage.delete(old))
            person_cards_forget(user_id=user.pk)
    return profile


@transaction.atomic
def engineer_avatar_remove(*, user) -> None:
    profile = EngineerProfile.objects.select_for_update().filter(user=user).first()
    if profile is None or not profile.avatar:
        return
    old = profile.avatar.name
    profile.avatar = ""
    profile.avatar_version += 1
    profile.save(update_fields=["avatar", "avatar_version"])
    transaction.on_commit(lambda: default_storage.delete(old))
    person_cards_forget(user_id=user.pk)


def engineer_tickets_release(*, profile: EngineerProfile, by) -> int:
    """Unassign the engineer's open tickets on every site (they go back to "Unassigned"), each
    through the ticket service so each gets its event. Returns how many."""
    _require_platform_admin(by)
    from tenant_apps.tickets.models import Ticket
    from tenant_apps.tickets.services import ticket_assign

    open_rows = (
        TicketIndex.objects.filter(assignee=profile.user)
        .exclude(status__in=["resolved", "closed"])
        .select_related("client")
        .order_by("client_id")
    )
    released = 0
    by_site: dict = {}
    for row in open_rows:
        by_site.setdefault(row.client, []).append(row.ticket_pk)
    for client, pks in by_site.items():
        with tenant_context(client):
            for ticket in Ticket.objects.filter(pk__in=pks):
                ticket_assign(ticket=ticket, actor=by, role="engineer", assignee=None,
                              reason=f"{profile.user.display_name} is away")  # fmt: skip
                released += 1
    return released
