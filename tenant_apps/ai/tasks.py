"""AI tasks: take ids, run in the schema that queued them (tenant-schemas-celery), call a service."""

import logging

from celery import shared_task

from tenant_apps.ai import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def ai_categorize_task(ticket_id: int) -> int | None:
    result = services.ticket_categorize(ticket_id)
    return result.pk if result else None


def _live_chunk(result, delta):
    """Push a streamed piece to the ticket's live viewers (tenant_apps/tickets/live.py)."""
    try:
        from tenant_apps.tickets import live
    except ImportError:  # live threads are not installed yet: pollers read the saved progress
        return
    kind = "assistant" if result.kind == "assistant" else "draft"
    user_id = result.requested_by_id if kind == "draft" else None
    stream_id = f"ai-{result.pk}"
    if delta is None:
        live.stream_open(result.ticket, stream_id=stream_id, kind=kind, user_id=user_id)
    else:
        live.stream_chunk(result.ticket, stream_id=stream_id, delta=delta, kind=kind, user_id=user_id)


@shared_task(acks_late=True)
def ai_answer_task(result_id: int) -> int | None:
    try:
        result = services.answer_produce(result_id, on_chunk=_live_chunk)
    except Exception as error:
        logger.exception("AI answer %s failed", result_id)
        services.answer_fail(result_id, f"The assistant could not answer: {type(error).__name__}")
        raise
    return result.pk if result else None
