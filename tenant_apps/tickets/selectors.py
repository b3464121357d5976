"""Reads of tickets, always scoped by the acting user and their role on the site.

Requesters (staff) see their own tickets and those shared with them; client admins and the
engineers covering the site see all of the site's tickets. A ticket that is missing and one that
is invisible give the same answer (404), so numbers leak nothing.
"""

from django.db.models import Q, QuerySet
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from tenant_apps.tickets.models import Message, Ticket

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
    ticket = ticket_visible_to(user=user, role=role).select_related("category").filter(number=number).first()
    if ticket is None:
        raise Http404("No such ticket")
    return ticket


def message_list_for(*, ticket: Ticket, role: str | None) -> QuerySet[Message]:
    """The conversation in order; internal notes only for engineers."""
    messages = ticket.messages.order_by("created_at", "pk")
    if role != "engineer":
        messages = messages.exclude(kind=Message.Kind.INTERNAL)
    return messages
