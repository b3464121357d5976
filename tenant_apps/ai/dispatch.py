"""Queue AI work after commit, in the schema current now, never on the request path.

With a broker (`REDIS_URL`) the task goes to a Celery worker (tenant-schemas-celery reads the
`_schema_name` header). Without one, Celery would run the task eagerly inside the request that
committed; for AI that could mean waiting on a remote model, so outside tests the task runs in a
background thread instead (`AI_RUN_IN_THREAD`), with its own database connection.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connection, connections, transaction

logger = logging.getLogger(__name__)


def _in_thread(task, args: list, schema: str) -> None:
    def run():
        from django_tenants.utils import tenant_context

        from shared_apps.tenancy.models import Client

        try:
            with tenant_context(Client.objects.get(schema_name=schema)):
                task.apply(args=args, headers={"_schema_name": schema})
        except Exception:
            logger.exception("AI task %s%s failed in %s", task.name, args, schema)
        finally:
            connections.close_all()

    threading.Thread(target=run, name=f"ai-{task.name}", daemon=True).start()


def queue_after_commit(task, *args) -> None:
    schema = connection.schema_name

    def send():
        if settings.CELERY_TASK_ALWAYS_EAGER and settings.AI_RUN_IN_THREAD:
            _in_thread(task, list(args), schema)
        else:
            task.apply_async(args=list(args), headers={"_schema_name": schema})

    transaction.on_commit(send)


def ai_categorize_after_commit(ticket_id: int) -> None:
    from tenant_apps.ai.tasks import ai_categorize_task

    queue_after_commit(ai_categorize_task, ticket_id)


def ai_answer_after_commit(result_id: int) -> None:
    from tenant_apps.ai.tasks import ai_answer_task

    queue_after_commit(ai_answer_task, result_id)
