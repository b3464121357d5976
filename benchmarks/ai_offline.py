"""Offline AI model benchmark: training time, categorization throughput and held-out accuracy.

Measured, in one process, single-threaded (OMP/OpenBLAS/MKL limited to one thread before numpy
loads):

- Training: `train()` of `tenant_apps.ai.providers.offline` from scratch, `--train-runs` times
  (default 5): the shipped set alone (what every process does once), and the shipped set plus
  `--site-examples` engineers' corrections (default 50; what a site with corrections costs the
  first time it is categorized in a process). The corrections are training tickets with a changed
  subject, so they are new texts; the held-out file is never trained on. Wall time and this
  process's CPU time (`time.process_time()`), median with min and max.
- Categorization: `OfflineProvider().categorize()` on every held-out ticket, one call at a time as
  the Celery task makes them, `--rounds` passes over the file (default 5), after `--warmup`
  untimed calls (default 50) on a model already trained: tickets per second (wall and CPU) and
  the median and p95 time of one call.
- Drafts: `draft_reply()` for `--draft-runs` threads (default 100, built from held-out tickets)
  with `--kb` knowledge snippets each (default 30: training tickets as resolved tickets, so
  their titles and texts are realistic): median and p95 ms per draft.
- Accuracy: `manage.py ai_eval tenant_apps/ai/data/tickets_heldout.jsonl` (its last line), and
  the exact fractions behind it.

The machine's load average (`/proc/loadavg`) before and after each phase is printed: on a shared
machine wall times grow with the load, CPU times much less.

Run from the project root (no database is used; the settings only need to import):

    OMP_NUM_THREADS=1 DJANGO_SETTINGS_MODULE=saas.settings .venv/bin/python -m benchmarks.ai_offline
"""

from __future__ import annotations

import argparse
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from io import StringIO  # noqa: E402

import django  # noqa: E402

HELDOUT = "tenant_apps/ai/data/tickets_heldout.jsonl"


def log(message: str = "") -> None:
    print(message, flush=True)


def loadavg() -> str:
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def spread(samples: list[float]) -> str:
    return f"{ms(statistics.median(samples))} ms ({ms(min(samples))}-{ms(max(samples))})"


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-runs", type=int, default=5)
    parser.add_argument("--site-examples", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the held-out file")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--draft-runs", type=int, default=100)
    parser.add_argument("--kb", type=int, default=30, help="knowledge snippets per draft")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()
    from django.core.management import call_command

    from tenant_apps.ai.providers.base import KnowledgeSnippet, Thread, TicketText, Turn
    from tenant_apps.ai.providers.offline import (
        LabelledExample,
        OfflineProvider,
        clear_cache,
        load_labelled,
        models_for,
        shipped_examples,
        train,
    )

    git = ["git", "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, capture_output=True, text=True).stdout.strip()  # noqa: S603, S607
    log(f"commit {commit}, {os.cpu_count()} CPUs, python {sys.version.split()[0]}, load average {loadavg()}")
    heldout = load_labelled(HELDOUT)
    shipped = shipped_examples()
    log(f"shipped training tickets {len(shipped)}, held-out tickets {len(heldout)}")

    # Training.
    site = [
        LabelledExample(f"[site] {e.subject}", e.description, e.category, e.priority)
        for e in shipped[: args.site_examples]
    ]
    for label, examples in (("shipped set", ()), (f"shipped set + {len(site)} site examples", tuple(site))):
        walls, cpus = [], []
        for _ in range(args.train_runs):
            wall, cpu = time.perf_counter(), time.process_time()
            train(examples)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        log(f"train, {label}: wall {spread(walls)}, CPU {spread(cpus)}; load average {loadavg()}")

    # Categorization, one ticket per call, on a trained model.
    clear_cache()
    models_for(())
    provider = OfflineProvider()
    tickets = [TicketText(e.subject, e.description) for e in heldout]
    for ticket in (tickets * (args.warmup // len(tickets) + 1))[: args.warmup]:
        provider.categorize(ticket)
    calls = []
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.rounds):
        for ticket in tickets:
            started = time.perf_counter()
            provider.categorize(ticket)
            calls.append(time.perf_counter() - started)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    log(
        f"categorize: {len(calls)} calls, {len(calls) / wall:,.0f} tickets/s wall, {len(calls) / cpu:,.0f} tickets/s "
        f"CPU; per call median {ms(statistics.median(calls))} ms, p95 {ms(p95(calls))} ms; load average {loadavg()}"
    )

    # Drafts.
    kb = [
        KnowledgeSnippet(e.subject, f"{e.description}\n1. Checked the basics.\n2. Fixed it.", source="ticket")
        for e in shipped[: args.kb]
    ]
    drafts = []
    for e in (heldout * (args.draft_runs // len(heldout) + 1))[: args.draft_runs]:
        thread = Thread(e.subject, (Turn("requester", "Alice Example", e.description),))
        started = time.perf_counter()
        provider.draft_reply(thread, kb)
        drafts.append(time.perf_counter() - started)
    log(
        f"draft_reply with {len(kb)} snippets: {len(drafts)} drafts, median {ms(statistics.median(drafts))} ms, "
        f"p95 {ms(p95(drafts))} ms; load average {loadavg()}"
    )

    # Accuracy, through the command, plus the exact fractions.
    out = StringIO()
    call_command("ai_eval", HELDOUT, stdout=out)
    results = [provider.categorize(t) for t in tickets]
    category_ok = sum(r.category_slug == e.category for r, e in zip(results, heldout, strict=True))
    priority_ok = sum(r.priority == e.priority for r, e in zip(results, heldout, strict=True))
    log(
        f"held-out exact: category {category_ok}/{len(heldout)} = {category_ok / len(heldout):.4f}, "
        f"priority {priority_ok}/{len(heldout)} = {priority_ok / len(heldout):.4f}"
    )
    log(f"ai_eval: {out.getvalue().rstrip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
