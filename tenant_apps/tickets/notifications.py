"""Who hears about a ticket event, and the email they get (sent by a worker after commit).

- new ticket -> its assignee or, if none, every engineer covering the site;
- public reply -> the other side: from the client side to the assignee (or the covering
  engineers), from an engineer to the requester and the colleagues it is shared with;
- status change -> the requester and those colleagues;
- SLA breach -> the assignee.
Internal notes notify nobody. The actor is never notified of their own action, and each person
can turn each kind off for this site (profiles.Profile.notifications_off).
"""

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from guardian.shortcuts import get_users_with_perms

from shared_apps.accounts.models import User
from shared_apps.engineers.selectors import engineer_users_covering
from shared_apps.tenancy.links import site_url
from tenant_apps.profiles.selectors import notifications_off_for
from tenant_apps.tickets.models import Message, Ticket, TicketEvent
from tenant_apps.tickets.richtext import plain_text

EVENT_KINDS = {"created": "new_ticket", "reply": "reply", "status": "status", "sla_breach": "sla_breach"}


def _client_side(ticket: Ticket) -> list[User]:
    shared = get_users_with_perms(ticket, only_with_perms_in=["view_ticket"], with_group_users=False)
    return [ticket.requester, *shared]


def _support_side(ticket: Ticket) -> list[User]:
    if ticket.assignee_id:
        return [ticket.assignee]
    return list(engineer_users_covering(client=connection.tenant))


def recipients_for(event: TicketEvent) -> list[User]:
    ticket = event.ticket
    if event.kind == "created":
        people = _support_side(ticket)
    elif event.kind == "reply":
        engineers = {user.pk for user in engineer_users_covering(client=connection.tenant)}
        people = _client_side(ticket) if event.actor_id in engineers else _support_side(ticket)
    elif event.kind == "status":
        people = _client_side(ticket)
    elif event.kind == "sla_breach":
        people = [ticket.assignee] if ticket.assignee_id else []
    else:
        return []
    kind = EVENT_KINDS[event.kind]
    people = [p for p in {p.pk: p for p in people if p and p.is_active}.values() if p.pk != event.actor_id]
    off = notifications_off_for(user_ids=[p.pk for p in people])
    return [p for p in people if kind not in off.get(p.pk, set())]


def ticket_event_email_send(event_id: int) -> int:
    """Send the emails for one event; returns how many were sent."""
    event = (
        TicketEvent.objects.select_related("ticket", "ticket__requester", "ticket__assignee", "actor")
        .filter(pk=event_id)
        .first()
    )
    if event is None or event.kind not in EVENT_KINDS:
        return 0
    message = None
    if event.kind == "reply":
        message = Message.objects.filter(pk=event.after.get("message"), kind=Message.Kind.PUBLIC).first()
        if message is None:
            return 0  # never mail anything that is not a public reply
    site = connection.tenant
    reference = f"{site.ticket_prefix}-{event.ticket.number}"
    context = {
        "event": event,
        "ticket": event.ticket,
        "site": site,
        "reference": reference,
        "excerpt": plain_text(message.body if message else event.ticket.description)[:1500],
        "url": site_url(site, f"/tickets/{event.ticket.number}/"),
        "settings_url": site_url(site, "/profile/notifications/"),
    }
    sent = 0
    for person in recipients_for(event):
        context["person"] = person
        email = EmailMultiAlternatives(
            subject=f"[{reference}] {event.ticket.subject}",
            body=render_to_string("tickets/email/event.txt", context),
            to=[person.email],
        )
        email.attach_alternative(render_to_string("tickets/email/event.html", context), "text/html")
        email.send()
        sent += 1
    return sent


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def ticket_event_notify(event_id: int) -> int:
    """Email the people an event concerns (tickets/notifications.py), in the event's site."""
    return ticket_event_email_send(event_id)


def ticket_event_notify_after_commit(event_id: int) -> None:
    """Queue the notification once the transaction commits, for the schema current NOW: the
    header is otherwise read when the message is built, and by commit time code that switched
    schemas by hand (commands, tests) may be back on public."""
    schema = connection.schema_name
    transaction.on_commit(lambda: ticket_event_notify.apply_async(args=[event_id], headers={"_schema_name": schema}))
