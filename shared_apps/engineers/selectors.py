"""Which sites an engineer covers."""

from django.db.models import F, Q, QuerySet

from shared_apps.engineers.models import EngineerProfile


def engineer_covers(*, user, client) -> bool:
    """True if `user` is an active engineer covering `client` (or, with `client=None`, any site).

    One query whatever the answer.
    """
    profiles = EngineerProfile.objects.filter(user=user, is_active=True, user__is_active=True)
    if client is None:
        return profiles.exists()
    return profiles.filter(Q(covers_all_sites=True) | Q(sites=client)).exists()


def engineer_sites(*, user) -> QuerySet | None:
    """The client sites an engineer covers, or None if `user` is not an active engineer."""
    from shared_apps.tenancy.selectors import client_sites_queryset

    profile = EngineerProfile.objects.filter(user=user, is_active=True).first()
    if profile is None:
        return None
    if profile.covers_all_sites:
        return client_sites_queryset()
    return client_sites_queryset().filter(engineers=profile)


def engineer_users_covering(*, client):
    """Active engineers (as users) covering `client`, for assignment menus. One query."""
    from shared_apps.accounts.models import User

    return (
        User.objects.filter(is_active=True, engineer_profile__is_active=True)
        .filter(Q(engineer_profile__covers_all_sites=True) | Q(engineer_profile__sites=client))
        .distinct()
        .order_by("full_name", "email")
    )


QUEUE_TABS = ("mine", "unassigned", "breaching", "all")
# Spelled as IN (the open ones), not NOT IN (the finished ones): PostgreSQL can then use the
# partial indexes on open rows (TicketIndex.Meta) instead of scanning every ticket of every site.
OPEN = ("new", "open", "pending")
BREACHING_WINDOW_HOURS = 4


def queue_for(*, user, tab: str = "mine", site: str = "", priority: str = "", status: str = "", category: str = ""):
    """The engineer's cross-site queue, read from TicketIndex only: (rows, counts per tab).

    Rows are the tab's tickets on the sites the engineer covers (active sites), sorted by the
    next SLA due time; counts are the four tabs' totals under the same filters, in one query.
    """
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from shared_apps.engineers.models import TicketIndex

    sites = engineer_sites(user=user)
    if sites is None:
        return TicketIndex.objects.none(), dict.fromkeys(QUEUE_TABS, 0)
    rows = TicketIndex.objects.filter(client__in=sites.filter(status="active").values("pk"))
    if site:
        rows = rows.filter(client__subdomain=site)
    if priority:
        rows = rows.filter(priority=priority)
    if category:
        rows = rows.filter(category_slug=category)
    rows = rows.filter(status=status) if status else rows.filter(status__in=OPEN)
    soon = timezone.now() + timedelta(hours=BREACHING_WINDOW_HOURS)
    tabs = {
        "mine": Q(assignee=user),
        "unassigned": Q(assignee__isnull=True),
        "breaching": Q(sla_breached=True) | Q(sla_due__lte=soon),
        "all": Q(),
    }
    counts = rows.aggregate(**{name: Count("pk", filter=condition) for name, condition in tabs.items()})
    selected = rows.filter(tabs.get(tab, tabs["mine"]))
    ordered = selected.select_related("client", "assignee").order_by(F("sla_due").asc(nulls_last=True), "-updated_at")
    return ordered, counts


def engineer_list_for(*, user):
    """Engineers with their open-ticket load (from TicketIndex), for platform admins."""
    from django.db.models import Count
    from django.db.models import Q as Q_

    if not user.is_superuser:
        return EngineerProfile.objects.none()
    return (
        EngineerProfile.objects.select_related("user")
        .prefetch_related("sites")
        .annotate(
            load=Count(
                "user__ticketindex_assigned",
                filter=Q_(user__ticketindex_assigned__status__in=OPEN),
            )
        )
        .order_by("user__email")
    )


def time_week_for(*, user, monday):
    """An engineer's time entries of every site for the week starting `monday`, with totals per
    site and billable / non-billable (one query for the rows; totals computed from them)."""
    from datetime import timedelta

    from shared_apps.engineers.models import TimeEntryIndex

    entries = list(
        TimeEntryIndex.objects.filter(engineer=user, work_date__gte=monday, work_date__lt=monday + timedelta(days=7))
        .select_related("client")
        .order_by("work_date", "client__name", "pk")
    )
    per_site: dict = {}
    for entry in entries:
        totals = per_site.setdefault(entry.client, {"billable": 0, "non_billable": 0})
        totals["billable" if entry.billable else "non_billable"] += entry.minutes
    return entries, per_site
