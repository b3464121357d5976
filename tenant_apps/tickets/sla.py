"""SLA due times: targets per priority, counted from creation, with the clock stopped while the
ticket waits on the requester (pending)."""

from datetime import datetime, timedelta

from tenant_apps.tickets.models import SLAPolicy, Ticket


def sla_apply(ticket: Ticket) -> list[str]:
    """Due times from the ticket's priority, its creation and the time it spent paused."""
    policy = SLAPolicy.objects.filter(priority=ticket.priority).first() if ticket.priority else None
    if policy is None:
        ticket.first_response_due = ticket.resolution_due = None
    else:
        paused = timedelta(seconds=ticket.sla_paused_seconds)
        ticket.first_response_due = ticket.created_at + timedelta(minutes=policy.first_response_minutes) + paused
        ticket.resolution_due = ticket.created_at + timedelta(minutes=policy.resolution_minutes) + paused
    return ["first_response_due", "resolution_due"]


def sla_pause(ticket: Ticket, *, now: datetime) -> list[str]:
    if ticket.sla_paused_at is not None:
        return []
    ticket.sla_paused_at = now
    return ["sla_paused_at"]


def sla_resume(ticket: Ticket, *, now: datetime) -> list[str]:
    """Push the due times back by the time spent paused. Not recomputed from the policy: a target
    changed meanwhile applies to new tickets, not to this one."""
    if ticket.sla_paused_at is None:
        return []
    paused = now - ticket.sla_paused_at
    ticket.sla_paused_seconds += int(paused.total_seconds())
    ticket.sla_paused_at = None
    if ticket.first_response_due and ticket.first_responded_at is None:
        ticket.first_response_due += paused
    if ticket.resolution_due:
        ticket.resolution_due += paused
    return ["sla_paused_at", "sla_paused_seconds", "first_response_due", "resolution_due"]
