"""Which sites an engineer covers."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from shared_apps.engineers.models import EngineerProfile


def engineer_covers(*, user, client) -> bool:
    """True if `user` is an active engineer covering `client` (or, with `client=None`, any site).

    One query whatever the answer.
    """
    profiles = EngineerProfile.objects.filter(user=user, is_active=True, user__is_active=True)
    if client is None:
        return profiles.exists()
    return profiles.filter(Q(covers_all_sites=True) | Q(sites=client)).exists()


def engineers_covering_schema(schema_name: str) -> QuerySet[EngineerProfile]:
    """Active engineers covering the site with this schema (the coverage `engineer_covers` grants
    access by), as a queryset to filter further or use as a subquery."""
    return EngineerProfile.objects.filter(is_active=True, user__is_active=True).filter(
        Q(covers_all_sites=True) | Q(sites__schema_name=schema_name)
    )


def engineer_avatar_get_for(*, viewer, user_id: int, schema_name: str | None) -> EngineerProfile | None:
    """The engineer profile whose picture `viewer` may see, or None (missing and hidden look the
    same). One query.

    On a client site (`schema_name`): the engineer must cover it; the tenant-access middleware
    has already checked that the viewer may use the site at all. On the root domain (`None`):
    the engineer themselves, platform admins, and anyone who can use a site the engineer covers
    (a member of it, or an engineer covering it too).
    """
    from shared_apps.tenancy.models import Membership
    from shared_apps.tenancy.selectors import client_sites_queryset

    profiles = EngineerProfile.objects.filter(user_id=user_id).exclude(avatar="")
    if schema_name is not None:
        return engineers_covering_schema(schema_name).filter(pk__in=profiles.values("pk")).first()
    if viewer.pk == user_id or viewer.is_superuser:
        return profiles.first()
    members_of = Membership.objects.filter(user=viewer, is_active=True).values("client_id")
    viewer_covers = EngineerProfile.objects.filter(user=viewer, is_active=True, user__is_active=True)
    viewer_sites = client_sites_queryset().filter(
        Q(pk__in=members_of)
        | Q(Exists(viewer_covers.filter(covers_all_sites=True)))
        | Q(pk__in=viewer_covers.values("sites"))
    )
    shared = Q(covers_all_sites=True, has_site=True) | Q(shares_site=True)
    return (
        profiles.filter(is_active=True, user__is_active=True)
        .alias(has_site=Exists(viewer_sites), shares_site=Exists(viewer_sites.filter(engineers=OuterRef("pk"))))
        .filter(shared)
        .first()
    )


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
# What a queue row shows, and nothing more (no model instances: 50 rows of TicketIndex, Client
# and User built per request cost more than the query; docs/benchmarks.md, queue section).
QUEUE_ROW_FIELDS = ("client_id", "number", "subject", "status", "priority", "sla_due", "sla_breached",
                    "client__name", "client__subdomain", "assignee_id", "assignee__full_name", "assignee__email",
                    "assignee__engineer_profile__avatar", "assignee__engineer_profile__avatar_version")  # fmt: skip


def queue_covered_sites(*, user) -> QuerySet:
    """The ids of the active client sites `user` covers as an active engineer, as a subquery: the
    queue filters on it in SQL instead of reading the profile first (one query less per request).
    Empty for anyone who is not an active engineer."""
    from shared_apps.tenancy.selectors import client_sites_queryset

    profiles = EngineerProfile.objects.filter(user=user, is_active=True)
    listed = EngineerProfile.sites.through.objects.filter(engineerprofile__in=profiles).values("client_id")
    return (
        client_sites_queryset()
        .filter(status="active")
        .filter(Exists(profiles.filter(covers_all_sites=True)) | Q(pk__in=listed))
        .values("pk")
    )


def queue_for(
    *, user, tab: str = "mine", site: str = "", priority: str = "", status: str = "", category: str = "", covered=None
):
    """The engineer's cross-site queue, read from TicketIndex only: (rows, counts per tab).

    Rows are the tab's tickets on the sites the engineer covers (active sites), sorted by the
    next SLA due time, as a lazy queryset of `QUEUE_ROW_FIELDS` tuples (slice it, then
    `queue_rows()`); counts are the four tabs' totals under the same filters, in one query that
    the covering partial index `ticket_index_open_site` answers without reading the table.
    `covered` is `queue_covered_sites(user=user)`, if the caller has built it already.
    """
    from datetime import timedelta

    from django.db.models import Count
    from django.utils import timezone

    from shared_apps.engineers.models import TicketIndex

    where = Q(client__in=queue_covered_sites(user=user) if covered is None else covered)
    where &= Q(status=status) if status else Q(status__in=OPEN)
    if site:
        where &= Q(client__subdomain=site)
    if priority:
        where &= Q(priority=priority)
    if category:
        where &= Q(category_slug=category)
    rows = TicketIndex.objects.filter(where)  # one filter() call: each call clones the query
    soon = timezone.now() + timedelta(hours=BREACHING_WINDOW_HOURS)
    tabs = {
        "mine": Q(assignee=user),
        "unassigned": Q(assignee__isnull=True),
        "breaching": Q(sla_breached=True) | Q(sla_due__lte=soon),
        "all": Q(),
    }
    # COUNT(client_id), not COUNT(id): the id is not in the covering index (and client_id is never null).
    counts = rows.aggregate(**{name: Count("client", filter=condition) for name, condition in tabs.items()})
    selected = rows.filter(tabs.get(tab, tabs["mine"]))
    ordered = selected.order_by(F("sla_due").asc(nulls_last=True), "-updated_at").values_list(*QUEUE_ROW_FIELDS)
    return ordered, counts


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One row of the queue, ready to print: labels and the link are computed here, not in the
    template (50 rows x several filters and lookups add up)."""

    client_id: int
    number: int
    subject: str
    status: str
    priority: str
    sla_due: datetime | None
    sla_breached: bool
    site_name: str
    reference: str  # ACME-42
    url: str  # the ticket on its own site
    assignee: str  # display name, "" if none
    assignee_id: int | None
    assignee_avatar: int  # the version of the assignee's picture (`engineer_avatar`), 0 if none
    sla_due_iso: str
    sla_due_label: str


def queue_rows(values) -> list[QueueRow]:
    """`QUEUE_ROW_FIELDS` tuples (a slice of `queue_for()`'s rows) as `QueueRow`s: one query."""
    from django.utils import timezone
    from django.utils.dates import MONTHS_3

    from shared_apps.tenancy.links import site_url_for_subdomain

    zone = timezone.get_current_timezone()
    months = {month: str(label).title() for month, label in MONTHS_3.items()}  # the date filter's "M"
    rows = []
    for (client_id, number, subject, status, priority, due, breached, name, subdomain,
         assignee_id, full_name, email, picture, picture_version) in values:  # fmt: skip
        local = due.astimezone(zone) if due else None
        rows.append(
            QueueRow(
                client_id=client_id,
                number=number,
                subject=subject,
                status=status[:1].upper() + status[1:],
                priority=priority[:1].upper() + priority[1:],
                sla_due=due,
                sla_breached=breached,
                site_name=name,
                reference=f"{(subdomain or '').replace('-', '').upper()}-{number}",
                url=site_url_for_subdomain(subdomain, f"/tickets/{number}/"),
                assignee=full_name or email or "",
                assignee_id=assignee_id,
                assignee_avatar=picture_version if picture else 0,
                sla_due_iso=local.isoformat() if local else "",
                sla_due_label=f"{months[local.month]} {local.day}, {local:%H:%M}" if local else "",  # "M j, H:i"
            )
        )
    return rows


def queue_site_menu(*, user, limit: int, covered=None) -> list[tuple[str, str]] | None:
    """(subdomain, name) of the sites `user` covers, for the queue's site filter; None when there
    are more than `limit` (the page then shows a text box). One query."""
    from shared_apps.tenancy.models import Client

    sites = list(
        Client.objects.filter(pk__in=queue_covered_sites(user=user) if covered is None else covered)
        .order_by("name")
        .values_list("subdomain", "name")[: limit + 1]
    )
    return sites if len(sites) <= limit else None


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
