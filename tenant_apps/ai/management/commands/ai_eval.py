"""Score a provider's categorization against labelled tickets.

    python manage.py ai_eval tenant_apps/ai/data/tickets_heldout.jsonl [--provider offline]

Each non-blank line is `{"subject", "description", "category", "priority"}`. Prints precision,
recall, F1 and support per class for category and for priority, and as its last line
`category_accuracy=0.NN priority_accuracy=0.NN n=N`. Reads no database (no tenant schema needed):
the tickets go to the provider with the default category list plus any other category the file
uses.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from tenant_apps.ai.providers import ProviderError, provider_by_name
from tenant_apps.ai.providers.base import CATEGORY_SLUGS, PRIORITIES, TicketText


@dataclass(frozen=True)
class Labelled:
    line: int
    subject: str
    description: str
    category: str
    priority: str


def read_labelled(path: str) -> list[Labelled]:
    """The file's labelled lines; CommandError naming the line for anything malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot read it as UTF-8 text ({exc}).") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}, line {number}: not valid JSON ({exc.msg}).") from None
        if not isinstance(data, dict):
            raise CommandError(f"{path}, line {number}: expected a JSON object, got {type(data).__name__}.")
        missing = [key for key in ("subject", "description", "category", "priority") if key not in data]
        if missing:
            raise CommandError(f"{path}, line {number}: missing {', '.join(missing)}.")
        if not all(isinstance(data[key], str) for key in ("subject", "description", "category", "priority")):
            raise CommandError(f"{path}, line {number}: subject, description, category and priority must be strings.")
        if not (data["subject"].strip() or data["description"].strip()):
            raise CommandError(f"{path}, line {number}: subject and description are both empty.")
        if not data["category"].strip():
            raise CommandError(f"{path}, line {number}: empty category.")
        if data["priority"] not in PRIORITIES:
            raise CommandError(
                f"{path}, line {number}: priority {data['priority']!r} is not one of {', '.join(PRIORITIES)}."
            )
        rows.append(Labelled(number, data["subject"], data["description"], data["category"].strip(), data["priority"]))
    if not rows:
        raise CommandError(f"{path}: no labelled lines.")
    return rows


def per_class(
    truth: list[str], predicted: list[str], order: tuple[str, ...]
) -> list[tuple[str, float, float, float, int]]:
    """(label, precision, recall, f1, support) for every label seen, in `order` then alphabetically."""
    labels = sorted(set(truth) | set(predicted), key=lambda x: (order.index(x) if x in order else len(order), x))
    table = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        n_pred = predicted.count(label)
        support = truth.count(label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        table.append((label, precision, recall, f1, support))
    return table


class Command(BaseCommand):
    help = "Score AI categorization (category and priority) against a JSONL file of labelled tickets."

    def add_arguments(self, parser):
        parser.add_argument("file", help='JSONL: one {"subject","description","category","priority"} per line')
        parser.add_argument("--provider", default="offline", help="provider registry name (default: offline)")

    def handle(self, *args, file: str, provider: str, **options):
        rows = read_labelled(file)
        try:
            engine = provider_by_name(provider)
        except ProviderError as exc:
            raise CommandError(exc.message) from None
        categories = tuple(dict.fromkeys([*CATEGORY_SLUGS, *(r.category for r in rows)]))
        predicted_categories, predicted_priorities = [], []
        started = time.perf_counter()
        for row in rows:
            try:
                result = engine.categorize(TicketText(row.subject, row.description, categories))
            except ProviderError as exc:
                raise CommandError(f"{file}, line {row.line}: provider {provider!r} failed: {exc.message}") from None
            predicted_categories.append(result.category_slug)
            predicted_priorities.append(result.priority)
        elapsed = time.perf_counter() - started

        n = len(rows)
        truth_categories = [r.category for r in rows]
        truth_priorities = [r.priority for r in rows]
        model = getattr(engine, "model", "")
        self.stdout.write(f"{n} tickets from {file}, provider {provider} ({model}), {elapsed:.2f} s")
        for title, truth, predicted, order in (
            ("category", truth_categories, predicted_categories, CATEGORY_SLUGS),
            ("priority", truth_priorities, predicted_priorities, PRIORITIES),
        ):
            self.stdout.write("")
            self.stdout.write(f"{title:<12} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}")
            for label, precision, recall, f1, support in per_class(truth, predicted, order):
                self.stdout.write(f"{label:<12} {precision:>9.2f} {recall:>9.2f} {f1:>9.2f} {support:>9}")
        category_accuracy = sum(t == p for t, p in zip(truth_categories, predicted_categories, strict=True)) / n
        priority_accuracy = sum(t == p for t, p in zip(truth_priorities, predicted_priorities, strict=True)) / n
        self.stdout.write("")
        self.stdout.write(f"category_accuracy={category_accuracy:.2f} priority_accuracy={priority_accuracy:.2f} n={n}")
