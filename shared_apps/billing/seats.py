"""Seats: how many client users (admins and staff) a site's plan allows.

A seat is taken by every active membership and by every pending invitation (not accepted, not
expired): an invitation promises a place, so accepting it never fails on seats, and an admin
cannot send more invitations than there are free seats. Engineers and platform admins are the
IT company's people and take no seat. Deactivating someone or withdrawing an invitation frees one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils import timezone

from shared_apps.billing.models import Plan


@dataclass(frozen=True)
class SeatUse:
    plan: Plan | None
    active: int
    invited: int

    @property
    def used(self) -> int:
        return self.active + self.invited

    @property
    def free(self) -> int | None:
        return None if self.plan is None else max(0, self.plan.seats - self.used)


def site_plan(client) -> Plan | None:
    """The plan in force now: the subscription's, or the site's own before it has one."""
    from shared_apps.billing.models import Subscription

    subscription = Subscription.objects.select_related("plan").filter(client_id=client.pk).first()
    if subscription is not None:
        return subscription.plan
    return Plan.objects.filter(pk=client.plan_id).first() if client.plan_id else None


_UNSET = object()


def seat_use(client, *, ignore_email: str = "", plan=_UNSET) -> SeatUse:
    """Seats of `client` (pass `plan` when the caller has it, to save a query)."""
    from shared_apps.tenancy.models import Invitation, Membership

    members = Membership.objects.filter(client_id=client.pk, is_active=True)
    active = members.count()
    # An invitation to someone who is a member already (they joined another way) holds no seat.
    invitations = Invitation.objects.filter(
        client_id=client.pk, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).exclude(email__in=members.annotate(email=Lower("user__email")).values("email"))
    if ignore_email:
        invitations = invitations.exclude(email__iexact=ignore_email)
    invited = invitations.count()
    return SeatUse(plan=site_plan(client) if plan is _UNSET else plan, active=active, invited=invited)


def seat_take_check(client, *, email: str = "") -> None:
    """Raise ValidationError unless one more person fits the site's plan. Call inside the
    transaction that adds them: the site's row is locked, so two invitations at once cannot both
    take the last seat. `email`'s own pending invitation is not counted (it is being replaced or
    turned into the membership)."""
    from shared_apps.tenancy.models import Client

    Client.objects.select_for_update().filter(pk=client.pk).values_list("pk", flat=True).first()
    use = seat_use(client, ignore_email=email)
    if use.plan is None or use.used < use.plan.seats:
        return
    invited = f" and {use.invited} invited" if use.invited else ""
    raise ValidationError(
        f"The {use.plan.name} plan allows {use.plan.seats} users on {client.name}: {use.active} active{invited} "
        "already. Deactivate someone first (pending invitations count too), or ask us about a bigger plan.",
        code="seats",
    )
