"""AI tasks: take ids, run in the schema that queued them (tenant-schemas-celery), call a service.

Drafts and assistant answers stream to the ticket's live viewers (tenant_apps/tickets/live.py):
an assistant answer to everyone who may see public messages, a draft only to the engineer who
asked; a page that joins mid-stream is sent the text so far (tickets/streams.py). Pages without
a socket poll the result instead (the text so far is saved every 0.5 s).
"""

import logging

from celery import shared_task

from tenant_apps.ai import services
from tenant_apps.ai.models import AIResult
from tenant_apps.tickets import live

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def ai_categorize_task(ticket_id: int) -> int | None:
    result = services.ticket_categorize(ticket_id)
    return result.pk if result else None


def _stream_args(result: AIResult) -> dict:
    kind = "assistant" if result.kind == AIResult.Kind.ASSISTANT else "draft"
    return {
        "stream_id": f"ai-{result.pk}",
        "kind": kind,
        "user_id": result.requested_by_id if kind == "draft" else None,
    }


def _live_chunk(result: AIResult, delta: str | None) -> None:
    """Push a streamed piece to the ticket's live viewers; `None` (re)starts the stream."""
    if delta is None:
        live.stream_open(result.ticket, **_stream_args(result))
    else:
        live.stream_chunk(result.ticket, delta=delta, **_stream_args(result))


@shared_task(acks_late=True)
def ai_answer_task(result_id: int) -> int | None:
    try:
        result = services.answer_produce(result_id, on_chunk=_live_chunk)
    except Exception as error:
        logger.exception("AI answer %s failed", result_id)
        message = "The assistant could not answer. Try again in a minute."
        services.answer_fail(result_id, f"{message} ({type(error).__name__})")
        failed = AIResult.objects.select_related("ticket").filter(pk=result_id).first()
        if failed is not None:
            live.stream_close(failed.ticket, error=message, **_stream_args(failed))
        raise
    if result is None:
        return None
    live.stream_close(result.ticket, message_id=getattr(result, "message_id", None), **_stream_args(result))
    return result.pk
