"""Create-ticket request time with a slow AI provider vs with AI off (issue: AI off the request).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_aibench \
        python -m benchmarks.ai_request --runs 30 --delay 5

Three child processes, each on the same database (migrated, demo loaded on first use), each
POSTing `--runs` new tickets (no category, no priority: every one needs categorizing) to acme as
the requester alice through the whole Django stack (`django.test.Client`, DEBUG off), timing
`client.post()` (the "server time"; no network):

- `off`: categorization is not queued at all (the service's hook replaced by a no-op): the
  baseline, what a ticket costs without AI;
- `worker`: production set-up, `REDIS_URL` set: the categorization task goes to Redis after
  commit (a worker would pick it up; the script counts the queued messages, then purges them);
- `thread`: `make run` set-up, no broker: the task runs in a background thread after commit.

In `worker` and `thread` the provider is OpenAI through its real SDK against the local fake
server (tests/fakes/ai_servers.py) answering after `--delay` seconds. In `thread` the script then
waits for the background categorizations and checks each ticket got its `AIResult` from OpenAI.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _child(mode: str, runs: int, delay: float) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    from tests.fakes.ai_servers import FakeAIServer

    server = FakeAIServer().start()
    server.delay = delay
    os.environ.update({"AI_PROVIDER": "openai", "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.url + "/v1",
                       "AI_TIMEOUT_SECONDS": str(delay + 10), "AI_RUN_IN_THREAD": "1"})  # fmt: skip
    django.setup()
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from django.test import Client as HttpClient
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client
    from tenant_apps.ai.models import AIResult

    call_command("migrate", verbosity=0)
    if not Client.objects.filter(subdomain="acme").exists():
        call_command("demo", verbosity=0)
    site = Client.objects.get(subdomain="acme")
    if mode == "off":
        from tenant_apps.tickets import services

        services.ai_categorize_after_commit = lambda ticket_id: None
    client = HttpClient(HTTP_HOST=site.domains.get(is_primary=True).domain)
    client.force_login(User.objects.get(email="alice@acme.demo.test"))
    data = {"subject": "Outlook asks for my password again and again", "description": "<p>Since the update.</p>"}
    if mode == "worker":
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).delete("celery")  # nothing left from an earlier run
    timings = []
    first_new = None
    for n in range(runs + 5):  # 5 warm-up requests, not counted
        close_old_connections()
        started = time.perf_counter()
        response = client.post("/tickets/new/", data, secure=True)
        elapsed = (time.perf_counter() - started) * 1000
        close_old_connections()
        assert response.status_code == 302, response.status_code
        number = int(response["Location"].rstrip("/").split("/")[-1])
        if n >= 5:
            timings.append(elapsed)
            first_new = first_new or number
    queued = done = None
    if mode == "worker":
        import redis

        broker = redis.Redis.from_url(os.environ["REDIS_URL"])
        messages = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
        queued = sum(m["headers"]["task"] == "tenant_apps.ai.tasks.ai_categorize_task" for m in messages)
        broker.delete("celery")
    if mode == "thread":
        deadline = time.monotonic() + delay * 2 + 60
        with tenant_context(site):
            while time.monotonic() < deadline:
                done = AIResult.objects.filter(ticket__number__gte=first_new, provider="openai").count()
                if done >= runs:
                    break
                time.sleep(0.5)
        connection.close()
    server.stop()
    return {"mode": mode, "timings": timings, "queued": queued, "done": done}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--delay", type=float, default=5.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.runs, args.delay)))
        return
    rows = []
    for mode in ("off", "worker", "thread"):
        env = {**os.environ, "DEBUG": "0", "TESTING": "0"}
        env.pop("REDIS_URL", None)
        if mode == "worker":
            env["REDIS_URL"] = args.redis
        out = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "benchmarks.ai_request", "--child", mode, "--runs", str(args.runs),
             "--delay", str(args.delay)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        rows.append(json.loads(out))
    print(f"create-ticket server time, {args.runs} requests each, provider answering after {args.delay:g} s")
    print(f"{'mode':<8} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  notes")
    for row in rows:
        t = sorted(row["timings"])
        p95 = t[min(len(t) - 1, round(0.95 * (len(t) - 1)))]
        note = ""
        if row["queued"] is not None:
            note = f"{row['queued']} categorization tasks queued in Redis"
        if row["done"] is not None:
            note = f"{row['done']} of {len(t)} tickets categorized by OpenAI in background threads afterwards"
        print(f"{row['mode']:<8} {statistics.median(t):>10.1f} {p95:>8.1f} {t[-1]:>8.1f}  {note}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
