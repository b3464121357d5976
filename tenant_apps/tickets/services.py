"""Every write to a ticket: validate, change, write a `TicketEvent`, in one transaction.

Services take the acting user and their role on the site (`request.role`: "staff", "admin" or
"engineer"); visibility is the selectors' job (`ticket_get_for`), what a role may do is checked
here, so a view cannot forget either.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, Value
from django.utils import timezone

from shared_apps.engineers.assignment import assignment_choose, assignment_record
from shared_apps.engineers.ticket_index import current_client_id, ticket_index_sync, time_entry_index_add
from tenant_apps.ai.dispatch import ai_categorize_after_commit
from tenant_apps.reviews.notifications import ticket_status_changed
from tenant_apps.tickets import live
from tenant_apps.tickets.attachments import CheckedUpload, uploads_check
from tenant_apps.tickets.models import (
    Attachment,
    Category,
    Message,
    Priority,
    SLAPolicy,
    Ticket,
    TicketCounter,
    TicketEvent,
    TimeEntry,
)
from tenant_apps.tickets.notifications import ticket_event_notify_after_commit
from tenant_apps.tickets.richtext import MAX_LENGTH, plain_text, sanitize_html
from tenant_apps.tickets.sla import sla_apply, sla_pause, sla_resume

logger = logging.getLogger(__name__)

ENGINEER = "engineer"
NOTIFIED_EVENTS = {"created", "reply", "status"}  # and sla_breach, from the periodic check
CLIENT_ROLES = ("admin", "staff")

S = Ticket.Status
# Which status may follow which, and who may make the move.
TRANSITIONS: dict[tuple[str, str], set[str]] = {
    (S.NEW, S.OPEN): {ENGINEER},
    (S.NEW, S.PENDING): {ENGINEER},
    (S.NEW, S.RESOLVED): {ENGINEER},
    (S.NEW, S.CLOSED): {ENGINEER, *CLIENT_ROLES},
    (S.OPEN, S.PENDING): {ENGINEER},
    (S.OPEN, S.RESOLVED): {ENGINEER},
    (S.OPEN, S.CLOSED): {ENGINEER, *CLIENT_ROLES},
    (S.PENDING, S.OPEN): {ENGINEER, *CLIENT_ROLES},
    (S.PENDING, S.RESOLVED): {ENGINEER},
    (S.PENDING, S.CLOSED): {ENGINEER, *CLIENT_ROLES},
    (S.RESOLVED, S.CLOSED): {ENGINEER, *CLIENT_ROLES},  # the requester confirms the resolution
    (S.RESOLVED, S.OPEN): {ENGINEER, *CLIENT_ROLES},  # reopen
    (S.CLOSED, S.OPEN): {ENGINEER, *CLIENT_ROLES},  # reopen, within settings.TICKET_REOPEN_DAYS
}


def _event(ticket: Ticket, *, actor, kind: str, before: dict | None = None, after: dict | None = None, note=""):
    event = TicketEvent.objects.create(
        ticket=ticket, actor=actor, kind=kind, before=before or {}, after=after or {}, note=note[:300]
    )
    # Every change writes an event, so this is the one place that keeps the cross-site index equal
    # to the ticket, in the same transaction.
    ticket_index_sync([ticket])
    if kind in NOTIFIED_EVENTS:
        ticket_event_notify_after_commit(event.pk)
    if kind == "status":  # resolved: ask the requester to rate it (reviews/notifications.py)
        ticket_status_changed(ticket, new_status=ticket.status)
    # ...and the one place that shows it live to everyone viewing the ticket, after commit.
    live.broadcast_on_commit(event)
    return event


def _clean_body(html: str, *, field: str) -> str:
    body = sanitize_html(html or "")
    if not plain_text(body).strip():
        raise ValidationError({field: ["Write something first."]})
    if len(body) > MAX_LENGTH:
        raise ValidationError({field: [f"This is too long ({len(body):,} characters; at most {MAX_LENGTH:,})."]})
    return body


def _search_refresh(ticket: Ticket) -> None:
    """Full-text vector over the subject, description and public replies (never internal notes,
    so a requester's search cannot surface them)."""
    replies = ticket.messages.filter(kind=Message.Kind.PUBLIC).values_list("body", flat=True)
    text = " ".join([plain_text(ticket.description), *(plain_text(body) for body in replies)])
    Ticket.objects.filter(pk=ticket.pk).update(
        search_vector=SearchVector(Value(ticket.subject), weight="A", config="english")
        + SearchVector(Value(text[:200_000]), weight="B", config="english")
    )


def _auto_assign(ticket: Ticket) -> None:
    """Give an unassigned, categorized ticket to the best engineer (engineers/assignment.py); the
    event says who and why, or why nobody. A manual assignment is never overridden."""
    if ticket.assignee_id or not ticket.category_id or ticket.is_finished:
        return
    choice = assignment_choose(client_id=current_client_id(), category_slug=ticket.category.slug)
    if choice.profile is not None:
        ticket.assignee = choice.profile.user
        ticket.save(update_fields=["assignee"])
        assignment_record(choice.profile)
    _event(
        ticket,
        actor=None,
        kind="auto_assigned",
        after={"assignee": ticket.assignee_id},
        note=f"{choice.profile.user.display_name if choice.profile else 'Nobody'}: {choice.reason}",
    )


def _next_number() -> int:
    # The row lock serializes concurrent creations; a rollback returns the number (gap-free).
    counter, _ = TicketCounter.objects.select_for_update().get_or_create(pk=1)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _attach(ticket: Ticket, message: Message | None, checked: list[CheckedUpload], actor) -> None:
    """Store checked uploads. If the surrounding transaction fails afterwards, `_files_kept_only_on_success`
    deletes the files again (Django has no on-rollback hook)."""
    for item in checked:
        attachment = Attachment(
            ticket=ticket,
            message=message,
            original_name=item.name,
            content_type=item.content_type,
            size=item.size,
            uploaded_by=actor,
        )
        attachment.file.save(item.name, item.upload, save=False)
        _saved_files.get().append(attachment.file.name)
        attachment.save()


def _with_attachments(service):
    """A service that may store files: atomic, and its files are deleted if it fails."""

    @wraps(service)
    def wrapped(*args, **kwargs):
        with _files_kept_only_on_success(), transaction.atomic():
            return service(*args, **kwargs)

    return wrapped


_saved_files: ContextVar[list[str]] = ContextVar("saved_files")


@contextmanager
def _files_kept_only_on_success():
    token = _saved_files.set([])
    try:
        yield
    except BaseException:
        for name in _saved_files.get():
            default_storage.delete(name)
        raise
    finally:
        _saved_files.reset(token)


@_with_attachments
def ticket_create(
    *,
    requester,
    subject: str,
    description: str,
    category: Category | None = None,
    priority: str = "",
    attachments: list[UploadedFile] = (),
) -> Ticket:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError({"subject": ["Give the ticket a subject."]})
    if len(subject) > 200:
        raise ValidationError({"subject": ["Use at most 200 characters."]})
    if priority and priority not in Priority.values:
        raise ValidationError({"priority": [f"'{priority}' is not a priority."]})
    body = _clean_body(description, field="description")
    checked = uploads_check(list(attachments))
    now = timezone.now()
    ticket = Ticket(
        number=_next_number(),
        subject=subject,
        description=body,
        category=category,
        priority=priority,
        requester=requester,
        created_at=now,
        updated_at=now,
    )
    sla_apply(ticket)
    ticket.save()
    _search_refresh(ticket)
    _event(ticket, actor=requester, kind="created", after={"status": ticket.status, "priority": priority})
    _attach(ticket, None, checked, requester)
    _auto_assign(ticket)
    if ticket.category_id is None or not ticket.priority:
        ai_categorize_after_commit(ticket.pk)  # off the request: a worker fills what was left empty
    return ticket


def _check_move(ticket: Ticket, *, new_status: str, role: str, now) -> None:
    allowed = TRANSITIONS.get((ticket.status, new_status))
    if allowed is None:
        raise ValidationError(
            f"A ticket that is {ticket.get_status_display().lower()} cannot become "
            f"{Ticket.Status(new_status).label.lower()}."
        )
    if role not in allowed:
        raise PermissionDenied(f"Your role cannot move a ticket from {ticket.status} to {new_status}.")
    days = settings.TICKET_REOPEN_DAYS
    if ticket.status == S.CLOSED and ticket.closed_at and now - ticket.closed_at > timedelta(days=days):
        raise ValidationError(f"This ticket was closed more than {days} days ago; open a new ticket instead.")


@transaction.atomic
def ticket_transition(*, ticket: Ticket, actor, role: str, new_status: str, note: str = "") -> Ticket:
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    _check_move(ticket, new_status=new_status, role=role, now=now)
    old = ticket.status
    fields = _set_status(ticket, new_status, now=now)
    ticket.save(update_fields=fields)
    _event(ticket, actor=actor, kind="status", before={"status": old}, after={"status": new_status}, note=note)
    return ticket


def _set_status(ticket: Ticket, new_status: str, *, now) -> list[str]:
    fields = ["status", "updated_at"]
    if new_status == S.PENDING:
        fields += sla_pause(ticket, now=now)
    elif ticket.status == S.PENDING:
        fields += sla_resume(ticket, now=now)
    if new_status == S.RESOLVED:
        ticket.resolved_at = now
        fields.append("resolved_at")
    elif new_status == S.CLOSED:
        ticket.closed_at = now
        fields.append("closed_at")
    elif new_status == S.OPEN and ticket.status in (S.RESOLVED, S.CLOSED):
        ticket.resolved_at = ticket.closed_at = None
        fields += ["resolved_at", "closed_at"]
    ticket.status = new_status
    ticket.updated_at = now
    return fields


@_with_attachments
def ticket_reply(
    *,
    ticket: Ticket,
    actor,
    role: str,
    body: str,
    internal: bool = False,
    attachments: list[UploadedFile] = (),
    ai_model: str = "",
) -> Message:
    """A public reply or (engineers only) an internal note. An engineer's first public reply is
    the first response; a requester's reply to a pending ticket reopens it. `ai_model` records
    that an AI draft helped write it (set by the view from a draft the engineer used)."""
    if internal and role != ENGINEER:
        raise PermissionDenied("Only engineers write internal notes.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == S.CLOSED:
        raise ValidationError("This ticket is closed; reopen it to reply.")
    checked = uploads_check(list(attachments))
    now = timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        author=actor,
        kind=Message.Kind.INTERNAL if internal else Message.Kind.PUBLIC,
        body=_clean_body(body, field="body"),
        created_at=now,
        ai_model=ai_model[:100] if role == ENGINEER else "",
    )
    fields = ["updated_at"]
    ticket.updated_at = now
    if not internal:
        if role == ENGINEER:
            if ticket.first_responded_at is None:
                ticket.first_responded_at = now
                fields.append("first_responded_at")
            if ticket.status == S.NEW:
                fields += _set_status(ticket, S.OPEN, now=now)
        elif ticket.status == S.PENDING:
            old = ticket.status
            fields += _set_status(ticket, S.OPEN, now=now)
            _event(ticket, actor=actor, kind="status", before={"status": old}, after={"status": S.OPEN},
                   note="The requester replied.")  # fmt: skip
    ticket.save(update_fields=sorted(set(fields)))
    if not internal:
        _search_refresh(ticket)
    note = f"AI-assisted ({message.ai_model})" if message.ai_model else ""
    _event(ticket, actor=actor, kind="note" if internal else "reply", after={"message": message.pk}, note=note)
    _attach(ticket, message, checked, actor)
    return message


@transaction.atomic
def ticket_ai_triage(*, ticket_id: int, category_slug: str, priority: str, note: str) -> Ticket | None:
    """Fill what the requester left empty from the AI's categorization (never overwrite a choice a
    person made, never touch status or assignee), record it, then auto-assign. The only write the
    AI's output can cause: its category and priority are already checked against closed lists."""
    ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
    if ticket is None:
        return None
    before, after, fields = {}, {}, []
    if ticket.category_id is None:
        category = Category.objects.filter(slug=category_slug, is_active=True).first()
        if category is not None:
            before["category"], after["category"] = None, category.slug
            ticket.category = category
            fields.append("category")
    if not ticket.priority and priority in Priority.values:
        before["priority"], after["priority"] = "", priority
        ticket.priority = priority
        fields += ["priority", *sla_apply(ticket)]
    if fields:
        ticket.save(update_fields=fields)
    _event(ticket, actor=None, kind="ai_triage", before=before, after=after, note=note)
    if "category" in after:
        _auto_assign(ticket)
    return ticket


@transaction.atomic
def ticket_ai_message_add(*, ticket: Ticket, body_html: str, ai_model: str, sources: list[dict]) -> Message:
    """The assistant's answer, as an AI message everyone on the ticket sees (clearly marked)."""
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    now = timezone.now()
    message = Message.objects.create(
        ticket=ticket,
        author=None,
        kind=Message.Kind.AI,
        body=sanitize_html(body_html)[:MAX_LENGTH],
        created_at=now,
        ai_model=ai_model[:100],
        ai_sources=sources[:10],
    )
    ticket.updated_at = now
    ticket.save(update_fields=["updated_at"])
    _event(ticket, actor=None, kind="ai_reply", after={"message": message.pk}, note=ai_model[:100])
    return message


@transaction.atomic
def ticket_resolve_by_assistant(*, ticket: Ticket, actor, role: str, message: Message) -> Ticket:
    """ "This solved it": the requester (or a colleague on the client side) closes the loop on an
    assistant answer. Resolved, not closed, so the engineers still see it and it can be reopened."""
    if role not in CLIENT_ROLES:
        raise PermissionDenied("Only the client side confirms that the assistant solved a ticket.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if message.ticket_id != ticket.pk or message.kind != Message.Kind.AI:
        raise ValidationError("That is not an assistant answer on this ticket.")
    if ticket.is_finished:
        raise ValidationError("This ticket is already resolved or closed.")
    old = ticket.status
    fields = _set_status(ticket, S.RESOLVED, now=timezone.now())
    ticket.save(update_fields=fields)
    _event(ticket, actor=actor, kind="status", before={"status": old}, after={"status": S.RESOLVED},
           note="The assistant's answer solved it.")  # fmt: skip
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor, role: str, priority: str | None = None, category=None) -> Ticket:
    """Engineers set priority and category; a priority change recomputes the SLA due times."""
    if role != ENGINEER:
        raise PermissionDenied("Only engineers change priority and category.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    before, after, fields = {}, {}, ["updated_at"]
    if priority is not None and priority != ticket.priority:
        if priority and priority not in Priority.values:
            raise ValidationError({"priority": [f"'{priority}' is not a priority."]})
        before["priority"], after["priority"] = ticket.priority, priority
        ticket.priority = priority
        fields += ["priority", *sla_apply(ticket)]
    if category is not None and category.pk != ticket.category_id:
        before["category"], after["category"] = ticket.category.slug if ticket.category else None, category.slug
        ticket.category = category
        fields.append("category")
    if not after:
        return ticket
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=fields)
    _event(ticket, actor=actor, kind="updated", before=before, after=after)
    if "category" in after:
        _auto_assign(ticket)
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor, role: str, assignee, reason: str = "") -> Ticket:
    """Assign to an engineer covering this site, or unassign with `assignee=None`."""
    if role != ENGINEER:
        raise PermissionDenied("Only engineers assign tickets.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if assignee is not None:
        from django.db import connection

        from shared_apps.engineers.selectors import engineer_covers

        if not engineer_covers(user=assignee, client=connection.tenant):
            raise ValidationError(f"{assignee.email} does not cover this site.")
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    before = {"assignee": ticket.assignee_id}
    ticket.assignee = assignee
    ticket.updated_at = timezone.now()
    ticket.save(update_fields=["assignee", "updated_at"])
    _event(ticket, actor=actor, kind="assigned", before=before, after={"assignee": ticket.assignee_id}, note=reason)
    return ticket


@transaction.atomic
def time_entry_log(
    *, ticket: Ticket, actor, role: str, minutes: int, billable: bool, note: str = "", work_date=None
) -> TimeEntry:
    if role != ENGINEER:
        raise PermissionDenied("Only engineers log time.")
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"minutes": ["Log between 1 and 1,440 minutes."]})
    entry = TimeEntry.objects.create(
        ticket=ticket,
        engineer=actor,
        minutes=minutes,
        billable=billable,
        note=note,
        work_date=work_date or timezone.localdate(),
    )
    time_entry_index_add(entry)
    _event(ticket, actor=actor, kind="time", after={"minutes": minutes, "billable": billable})
    return entry


def _time_entry_unlocked_check(entry: TimeEntry):
    """The entry's index row, locked; refuse when the entry is on an issued invoice (billing sets
    `invoice_line` on the row in the invoice's transaction, so this check cannot race it)."""
    from shared_apps.engineers.models import TimeEntryIndex

    row = (
        TimeEntryIndex.objects.select_for_update(of=("self",))
        .select_related("invoice_line__invoice")
        .filter(client_id=current_client_id(), entry_pk=entry.pk)
        .first()
    )
    if row is not None and row.invoice_line_id:
        raise ValidationError(
            f"This time entry is on invoice {row.invoice_line.invoice.number}: it can no longer be changed or deleted."
        )
    return row


@transaction.atomic
def time_entry_update(*, entry: TimeEntry, actor, role: str, minutes: int, billable: bool, note: str = "") -> TimeEntry:
    """Correct a time entry (its engineer only), unless it has been invoiced."""
    if role != ENGINEER or entry.engineer_id != actor.pk:
        raise PermissionDenied("Only the engineer who logged the time changes it.")
    if not 1 <= minutes <= 24 * 60:
        raise ValidationError({"minutes": ["Log between 1 and 1,440 minutes."]})
    row = _time_entry_unlocked_check(entry)
    before = {"minutes": entry.minutes, "billable": entry.billable}
    entry.minutes, entry.billable, entry.note = minutes, billable, note
    entry.save(update_fields=["minutes", "billable", "note"])
    if row is not None:
        row.minutes, row.billable, row.note = minutes, billable, note
        row.save(update_fields=["minutes", "billable", "note"])
    _event(entry.ticket, actor=actor, kind="time", before=before, after={"minutes": minutes, "billable": billable})
    return entry


@transaction.atomic
def time_entry_delete(*, entry: TimeEntry, actor, role: str) -> None:
    """Remove a time entry (its engineer only), unless it has been invoiced."""
    if role != ENGINEER or entry.engineer_id != actor.pk:
        raise PermissionDenied("Only the engineer who logged the time deletes it.")
    row = _time_entry_unlocked_check(entry)
    if row is not None:
        row.delete()
    _event(entry.ticket, actor=actor, kind="time", before={"minutes": entry.minutes, "billable": entry.billable})
    entry.delete()


@transaction.atomic
def ticket_merge(*, duplicate: Ticket, into: Ticket, actor, role: str) -> Ticket:
    """Close `duplicate` with a pointer to `into`; its messages stay readable where they are."""
    if role != ENGINEER:
        raise PermissionDenied("Only engineers merge tickets.")
    if duplicate.pk == into.pk:
        raise ValidationError("A ticket cannot be a duplicate of itself.")
    if into.duplicate_of_id:
        raise ValidationError(f"#{into.number} is itself a duplicate; merge into #{into.duplicate_of.number}.")
    duplicate = Ticket.objects.select_for_update().get(pk=duplicate.pk)
    now = timezone.now()
    old = duplicate.status
    fields = ["duplicate_of"]
    duplicate.duplicate_of = into
    if duplicate.status != S.CLOSED:
        fields += _set_status(duplicate, S.CLOSED, now=now)
    duplicate.save(update_fields=fields)
    _event(duplicate, actor=actor, kind="merged", before={"status": old},
           after={"status": S.CLOSED, "duplicate_of": into.number})  # fmt: skip
    _event(into, actor=actor, kind="duplicate_linked", after={"duplicate": duplicate.number})
    return duplicate


@transaction.atomic
def ticket_share(*, ticket: Ticket, actor, role: str, colleague) -> None:
    """Let a colleague on the same site see and follow the ticket (guardian `view_ticket`)."""
    from django.db import connection
    from guardian.shortcuts import assign_perm

    from shared_apps.tenancy.models import Membership

    if not Membership.objects.filter(user=colleague, client=connection.tenant, is_active=True).exists():
        raise ValidationError(f"{colleague.email} is not a member of this site.")
    if colleague.pk == ticket.requester_id:
        raise ValidationError("That is the ticket's requester.")
    assign_perm("tickets.view_ticket", colleague, ticket)
    _event(ticket, actor=actor, kind="shared", after={"with": colleague.pk})


_MOVE_LABELS = {
    S.OPEN: "Open",
    S.PENDING: "Wait on requester",
    S.RESOLVED: "Resolve",
    S.CLOSED: "Close",
    (S.RESOLVED, S.CLOSED): "Confirm resolution",
    (S.RESOLVED, S.OPEN): "Reopen",
    (S.CLOSED, S.OPEN): "Reopen",
    (S.PENDING, S.OPEN): "Back to open",
}


def status_choices_for(*, ticket: Ticket, role: str | None) -> list[tuple[str, str]]:
    """The moves `role` may make from the ticket's current status, as (status, button label);
    "Confirm resolution" is the requester's word, an engineer simply closes."""
    labels = _MOVE_LABELS if role != ENGINEER else {**_MOVE_LABELS, (S.RESOLVED, S.CLOSED): "Close"}
    return [
        (target, labels.get((ticket.status, target)) or labels[target])
        for (source, target), roles in TRANSITIONS.items()
        if source == ticket.status and role in roles
    ]


# The SLA clock runs only while the ticket waits on the support side; pending pauses it, and once
# resolved or closed nothing is due any more (a ticket closed unanswered is not a late answer).
SLA_RUNNING = (S.NEW, S.OPEN)
SLA_BREACHES = ("first_response", "resolution")


@transaction.atomic
def ticket_sla_breaches_flag(*, now: datetime) -> list[Ticket]:
    """Flag the current site's tickets whose first-response or resolution due time passed before
    `now`, with one `sla_breach` event per new breach (no actor: the periodic check did it).

    Returns the tickets that got a new breach, for the caller to notify their assignee (the
    notification work hooks in here, or on the `sla_breach` events). Running it again flags
    nothing new. Paused (pending), resolved and closed tickets are never flagged.
    """
    late = {
        "first_response": Q(first_response_breached=False, first_responded_at__isnull=True, first_response_due__lt=now),
        "resolution": Q(resolution_breached=False, resolution_due__lt=now),
    }
    # One query, on the few tickets still running (index ticket_status_due leads with status).
    # FOR UPDATE: a concurrent check waits, then PostgreSQL re-evaluates the conditions and the
    # *_late flags on the row it committed, so two checks at once never flag a breach twice.
    candidates = (
        Ticket.objects.select_for_update()
        .filter(late["first_response"] | late["resolution"], status__in=SLA_RUNNING, sla_paused_at__isnull=True)
        .annotate(**{f"{breach}_late": ExpressionWrapper(late[breach], output_field=BooleanField()) for breach in late})
        .order_by("pk")
    )
    breached, events = [], []
    for ticket in candidates:
        fields = []
        for breach in SLA_BREACHES:
            if getattr(ticket, f"{breach}_late"):
                setattr(ticket, f"{breach}_breached", True)
                fields.append(f"{breach}_breached")
                events.append(TicketEvent(ticket=ticket, actor=None, kind="sla_breach", after={"breach": breach}))
        # Not `updated_at`: a breach is not activity on the ticket and must not reorder queues.
        ticket.save(update_fields=fields)
        breached.append(ticket)
    for event in TicketEvent.objects.bulk_create(events):
        ticket_event_notify_after_commit(event.pk)
        live.broadcast_on_commit(event)
    if breached:
        ticket_index_sync(breached)
    return breached


# --- SLA policy (client admins, for their own site) ------------------------------------------

FIRST_RESPONSE_MAX_MINUTES = 7 * 24 * 60
RESOLUTION_MAX_MINUTES = 90 * 24 * 60


def _sla_targets_check(*, first_response_minutes: int, resolution_minutes: int) -> None:
    errors: dict[str, list[str]] = {}
    if not 1 <= first_response_minutes <= FIRST_RESPONSE_MAX_MINUTES:
        errors["first_response_minutes"] = ["Set a first-response target between 1 minute and 7 days."]
    if not 1 <= resolution_minutes <= RESOLUTION_MAX_MINUTES:
        errors["resolution_minutes"] = ["Set a resolution target between 1 minute and 90 days."]
    if not errors and resolution_minutes < first_response_minutes:
        errors["resolution_minutes"] = ["The resolution target cannot be shorter than the first-response target."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def sla_policy_update(*, priority: str, first_response_minutes: int, resolution_minutes: int, actor) -> SLAPolicy:
    """Set this site's targets for one priority (client admins only).

    New targets apply to tickets opened afterwards. Due times already set on existing tickets
    are deliberately not recomputed here: a ticket is measured against the promise in force when
    it was opened. (`sla_apply` does use the current targets when an engineer changes a ticket's
    priority, and `sla_resume` when a ticket comes back from pending; the page says so.)
    """
    from django.db import connection

    from shared_apps.tenancy.selectors import ROLE_CLIENT_ADMIN, site_role_for

    if site_role_for(user=actor, client=connection.tenant) != ROLE_CLIENT_ADMIN:
        raise PermissionDenied("Only the site's client admins change SLA targets.")
    if priority not in Priority.values:
        raise ValidationError({"priority": [f"'{priority}' is not a priority."]})
    _sla_targets_check(first_response_minutes=first_response_minutes, resolution_minutes=resolution_minutes)
    policy, created = SLAPolicy.objects.select_for_update().get_or_create(
        priority=priority,
        defaults={"first_response_minutes": first_response_minutes, "resolution_minutes": resolution_minutes},
    )
    before = (policy.first_response_minutes, policy.resolution_minutes)
    if created or before == (first_response_minutes, resolution_minutes):
        return policy
    policy.first_response_minutes, policy.resolution_minutes = first_response_minutes, resolution_minutes
    policy.save(update_fields=["first_response_minutes", "resolution_minutes"])
    logger.info(
        "SLA targets for %s priority on %s changed from %s to %s minutes by user %s",
        priority,
        connection.schema_name,
        before,
        (first_response_minutes, resolution_minutes),
        actor.pk,
    )
    return policy
