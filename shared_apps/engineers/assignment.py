"""Auto-assignment (DESIGN section 6): who should take an unassigned ticket.

Eligible: active, available engineers who cover the ticket's site, have its category among their
skills and are under capacity. The least loaded wins (open tickets assigned to them across all
sites, counted in TicketIndex); ties go to whoever was auto-assigned longest ago (round robin).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Q
from django.utils import timezone

from shared_apps.engineers.models import EngineerProfile, TicketIndex

OPEN = ("new", "open", "pending")  # IN, not NOT IN: it uses the partial indexes on open rows


@dataclass(frozen=True)
class AssignmentChoice:
    profile: EngineerProfile | None
    reason: str


def assignment_choose(*, client_id: int, category_slug: str) -> AssignmentChoice:
    """Pick an engineer for a ticket of site `client_id` in `category_slug` (two queries)."""
    today = timezone.localdate()
    candidates = list(
        EngineerProfile.objects.filter(is_active=True, user__is_active=True, is_available=True)
        .filter(Q(away_until__isnull=True) | Q(away_until__lt=today))
        .filter(Q(covers_all_sites=True) | Q(sites=client_id))
        .filter(skills__contains=[category_slug])
        .select_related("user")
        .distinct()
    )
    if not candidates:
        return AssignmentChoice(None, f"nobody available covers this site with the skill '{category_slug}'")
    loads = dict(
        TicketIndex.objects.filter(assignee_id__in=[c.user_id for c in candidates])
        .filter(status__in=OPEN)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
    )
    under_capacity = [c for c in candidates if loads.get(c.user_id, 0) < c.capacity]
    if not under_capacity:
        return AssignmentChoice(None, f"every engineer with the skill '{category_slug}' is at capacity")
    lowest = min(loads.get(c.user_id, 0) for c in under_capacity)
    tied = [c for c in under_capacity if loads.get(c.user_id, 0) == lowest]
    never = datetime.min.replace(tzinfo=UTC)
    chosen = min(tied, key=lambda c: (c.last_assigned_at or never, c.pk))
    reason = f"skills: {category_slug}; load {lowest} of {chosen.capacity}"
    if len(tied) > 1:
        reason += f"; round robin among {len(tied)}"
    return AssignmentChoice(chosen, reason)


def assignment_record(profile: EngineerProfile) -> None:
    EngineerProfile.objects.filter(pk=profile.pk).update(last_assigned_at=timezone.now())
