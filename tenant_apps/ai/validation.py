"""Model output is untrusted: parse and check it against closed lists before anything uses it."""

from __future__ import annotations

import json

from tenant_apps.ai.providers.base import PRIORITIES, Categorization, ProviderError


def categorization_from_json(raw: str, *, categories, model: str, tokens_in: int, tokens_out: int) -> Categorization:
    """A Categorization from the model's JSON text, or ProviderError("invalid output ...")."""
    text = (raw or "").strip()
    if not text:
        raise ProviderError("the model returned an empty answer")
    if text.startswith("```"):  # some OpenAI-compatible servers wrap JSON in a code fence
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ProviderError("the model returned invalid JSON") from None
    if not isinstance(data, dict):
        raise ProviderError("the model returned JSON that is not an object")
    category = str(data.get("category_slug", "")).strip().lower()
    priority = str(data.get("priority", "")).strip().lower()
    if category not in categories:
        raise ProviderError(f"the model chose an unknown category {category[:40]!r}")
    if priority not in PRIORITIES:
        raise ProviderError(f"the model chose an unknown priority {priority[:20]!r}")
    try:
        confidence = float(data.get("confidence"))
    except (TypeError, ValueError):
        raise ProviderError("the model gave no numeric confidence") from None
    if not 0.0 <= confidence <= 1.0:
        if 1.0 < confidence <= 100.0:  # a percentage
            confidence /= 100.0
        else:
            raise ProviderError("the model gave a confidence outside 0..1")
    summary = " ".join(str(data.get("summary", "")).split())[:120]
    return Categorization(
        category_slug=category,
        priority=priority,
        confidence=confidence,
        summary=summary,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        model=model,
        raw=raw[:20_000],
    )
