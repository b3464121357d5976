"""A real Celery worker, through real Redis: a ticket created on acme is categorized by the worker
in acme's schema (not globex's, not public), here by the real OpenAI SDK against the fake server."""

import os
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context
from tenant_schemas_celery.app import CeleryApp

from shared_apps.billing.models import UsageRecord
from shared_apps.engineers.models import TicketIndex
from tenant_apps.ai.models import AIResult
from tenant_apps.tickets.models import Ticket
from tests.fakes.ai_servers import triage_answer
from tests.processes import committed, database_url

WORKER_REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/14")
WORKER_SECONDS = 60
NUMBER = 900_101


def _redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(WORKER_REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_real_worker_categorizes_in_the_tickets_own_schema(acme, globex, users, fake_ai):
    if not _redis_available():
        pytest.skip(f"no Redis at {WORKER_REDIS_URL}")
    fake_ai.triage = triage_answer("hardware", "medium", 0.91, "Printer jams")

    def create() -> int:
        with tenant_context(acme):
            Ticket.objects.filter(number=NUMBER).delete()  # left by an interrupted run
            return Ticket.objects.create(number=NUMBER, subject="Printer jams", description="<p>jams</p>",
                                         requester=users["acme_staff"]).pk  # fmt: skip

    def read(pk: int):
        with tenant_context(acme):
            ticket = Ticket.objects.select_related("category").get(pk=pk)
            result = AIResult.objects.filter(ticket_id=pk).values_list("provider", "model", "category_slug").first()
            category = ticket.category.slug if ticket.category else None
        with tenant_context(globex):
            elsewhere = AIResult.objects.count()
        return category, ticket.priority, result, elsewhere

    def delete() -> None:
        with tenant_context(acme):
            Ticket.objects.filter(number=NUMBER).delete()
        TicketIndex.objects.filter(client=acme, number=NUMBER).delete()
        UsageRecord.objects.filter(client=acme, model="gpt-worker").delete()

    log = tempfile.TemporaryFile(mode="w+b")
    worker = None
    probe = CeleryApp("ai-worker-test", broker=WORKER_REDIS_URL, set_as_current=False)
    try:
        pk = committed(create)
        # What tenant_apps/ai/dispatch.py does after commit: the schema travels in the header.
        # A queue of this run's own: another suite sharing the Redis database cannot take the task.
        queue = f"ai-test-{uuid.uuid4().hex[:12]}"
        probe.send_task(
            "tenant_apps.ai.tasks.ai_categorize_task",
            args=[pk],
            headers={"_schema_name": acme.schema_name},
            queue=queue,
        )
        env = {
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "REDIS_URL": WORKER_REDIS_URL,
            "TESTING": "1",
            "PYTHONUNBUFFERED": "1",
            "AI_PROVIDER": "openai",
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": fake_ai.url + "/v1",
            "OPENAI_MODEL": "gpt-worker",
        }
        cmd = [sys.executable, "-m", "celery", "-A", "saas", "worker", "--pool=solo", "--concurrency=1"]
        cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", "-Q", queue]
        worker = subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-6000:]

        deadline = time.monotonic() + WORKER_SECONDS
        while (state := committed(lambda: read(pk)))[0] is None:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited with code {worker.returncode}:\n{output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"not categorized within {WORKER_SECONDS} s:\n{output()}")
            time.sleep(0.2)
        category, priority, result, elsewhere = state
        assert (category, priority) == ("hardware", "medium")
        assert result == ("openai", "gpt-worker", "hardware")
        assert elsewhere == 0  # nothing written in globex's schema
        assert not committed(lambda: UsageRecord.objects.filter(client=globex, model="gpt-worker").exists())
        assert len(fake_ai.requests) == 1
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        log.close()
        probe.close()
        committed(delete)
