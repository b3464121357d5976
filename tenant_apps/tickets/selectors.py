"""Reads of tickets, always scoped by the acting user and their role on the site.

Requesters (staff) see their own tickets and those shared with them; client admins and the
engineers covering the site see all of the site's tickets. A ticket that is missing and one that
is invisible give the same answer (404), so numbers leak nothing.
"""

from datetime import timedelta

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from shared_apps.engineers.ticket_index import current_client_id
from tenant_apps.tickets.models import Message, Priority, SLAPolicy, Ticket, TimeEntry

SEES_ALL = ("admin", "engineer")


def ticket_visible_to(*, user, role: str | None) -> QuerySet[Ticket]:
    if role in SEES_ALL:
        return Ticket.objects.all()
    if role != "staff":
        return Ticket.objects.none()
    shared = get_objects_for_user(
        user, "tickets.view_ticket", klass=Ticket, use_groups=False, with_superuser=False, accept_global_perms=False
    )
    return Ticket.objects.filter(Q(requester=user) | Q(pk__in=shared.values("pk")))


def ticket_get_for(*, user, role: str | None, number: int) -> Ticket:
    ticket = (
        ticket_visible_to(user=user, role=role)
        .select_related("category", "requester", "assignee", "duplicate_of")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


def message_list_for(*, ticket: Ticket, role: str | None) -> QuerySet[Message]:
    """The conversation in order; internal notes only for engineers."""
    messages = ticket.messages.order_by("created_at", "pk").prefetch_related("attachments")
    if role != "engineer":
        messages = messages.exclude(kind=Message.Kind.INTERNAL)
    return messages


def ticket_list_for(
    *,
    user,
    role: str | None,
    status: str = "",
    query: str = "",
    priority: str = "",
    category: str = "",
    assignee: str = "",
    sla: str = "",
    sort: str = "",
    now=None,
) -> QuerySet[Ticket]:
    """The list page's tickets, filtered. `assignee` is a user id, "me" or "none"; `sla` is
    "breached" or "due4h" (due within four hours, or breached); `sort` "sla" orders by the next
    due time. Two queries whatever the number of tickets (count and page)."""
    tickets = ticket_visible_to(user=user, role=role).select_related("category", "assignee", "requester")
    if status == "active":
        tickets = tickets.exclude(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED])
    elif status in Ticket.Status.values:
        tickets = tickets.filter(status=status)
    if priority:
        tickets = tickets.filter(priority=priority)
    if category:
        tickets = tickets.filter(category__slug=category)
    if assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee.isdigit():
        tickets = tickets.filter(assignee_id=int(assignee))
    # The next SLA target: first response while there is none yet, then resolution.
    next_due = Coalesce(Case(When(first_responded_at__isnull=True, then=F("first_response_due"))), F("resolution_due"))
    tickets = tickets.annotate(next_due=next_due)
    if sla in ("breached", "due4h"):
        breached = Q(first_response_breached=True) | Q(resolution_breached=True)
        if sla == "due4h":
            soon = (now or timezone.now()) + timedelta(hours=4)
            breached |= Q(next_due__lte=soon)
        tickets = tickets.filter(breached).exclude(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED])
    if query.strip():
        search = SearchQuery(query.strip(), search_type="websearch", config="english")
        tickets = tickets.filter(search_vector=search).annotate(rank=SearchRank(F("search_vector"), search))
        return tickets.order_by("-rank", "-updated_at")
    if sort == "sla":
        return tickets.order_by(F("next_due").asc(nulls_last=True), "-updated_at")
    return tickets.order_by("-updated_at")


def event_list_for(*, ticket: Ticket, role: str | None):
    """The audit trail, oldest first. Client users do not see events about internal notes."""
    events = ticket.events.select_related("actor").order_by("created_at", "pk")
    if role != "engineer":
        events = events.exclude(kind="note")
    return events


def attachment_get_for(*, user, role: str | None, number: int, attachment_id: int):
    """An attachment of a ticket the user may see; those on internal notes only for engineers."""
    from tenant_apps.tickets.models import Attachment

    ticket = ticket_get_for(user=user, role=role, number=number)
    attachments = Attachment.objects.filter(ticket=ticket, pk=attachment_id)
    if role != "engineer":
        attachments = attachments.exclude(message__kind=Message.Kind.INTERNAL)
    attachment = attachments.first()
    if attachment is None:
        raise Http404("No such attachment")
    return attachment


def time_entry_list_for(*, ticket: Ticket) -> QuerySet[TimeEntry]:
    """The ticket's time entries (newest first) with their engineers, each with `invoice_number`:
    the invoice it is billed on (and so locked, see services.time_entry_update), or None. The
    number comes from the public TimeEntryIndex in the same query (the search path reaches the
    public schema, as for the engineer's user row): one query however many entries."""
    from shared_apps.engineers.models import TimeEntryIndex

    billed_on = TimeEntryIndex.objects.filter(client_id=current_client_id(), entry_pk=OuterRef("pk")).values(
        "invoice_line__invoice__number"
    )
    return ticket.time_entries.select_related("engineer").annotate(invoice_number=Subquery(billed_on[:1]))


def time_entry_get_for(*, ticket: Ticket, role: str | None, entry_id: int) -> TimeEntry:
    """A time entry of `ticket`, which the caller got from `ticket_get_for` (so the user may see
    it). Time entries are for engineers only: to client users one is missing (404), as an
    internal note's attachment is."""
    entry = ticket.time_entries.filter(pk=entry_id).first() if role == "engineer" else None
    if entry is None:
        raise Http404("No such time entry")
    return entry


def attachment_list_opening(*, ticket: Ticket):
    """Files attached when the ticket was opened (replies carry their own)."""
    return ticket.attachments.filter(message__isnull=True)


def sla_policy_list() -> list[SLAPolicy]:
    """The site's SLA targets, most pressing priority first."""
    order = {priority: index for index, priority in enumerate(reversed(Priority.values))}
    return sorted(SLAPolicy.objects.all(), key=lambda policy: order.get(policy.priority, len(order)))


def category_list() -> QuerySet:
    """The site's active categories, for menus."""
    from tenant_apps.tickets.models import Category

    return Category.objects.filter(is_active=True)


def event_last_id(*, ticket: Ticket) -> int:
    return ticket.events.order_by("-pk").values_list("pk", flat=True).first() or 0


LIVE_CATCH_UP_MAX = 200


def live_catch_up_for(*, ticket: Ticket, role: str | None, after: int, after_event: int) -> dict:
    """What a live thread missed, oldest first: the messages after message id `after` and the
    events after event id `after_event` (thread lines; not those about a message, which show as
    the message) that `role` may see. Every service that adds a message locks the ticket row
    first, so a ticket's message ids grow in commit order and "after an id" misses nothing.
    `more` is True when there were more than LIVE_CATCH_UP_MAX (the browser then reloads)."""
    messages = message_list_for(ticket=ticket, role=role).select_related("author").filter(pk__gt=after)
    messages = list(messages[: LIVE_CATCH_UP_MAX + 1])
    events = list(
        event_list_for(ticket=ticket, role=role)
        .exclude(after__has_key="message")  # replies, notes, AI answers: shown as their message
        .filter(pk__gt=after_event)[: LIVE_CATCH_UP_MAX + 1]
    )
    more = len(messages) > LIVE_CATCH_UP_MAX or len(events) > LIVE_CATCH_UP_MAX
    return {"messages": messages[:LIVE_CATCH_UP_MAX], "events": events[:LIVE_CATCH_UP_MAX], "more": more}
