"""Bounded retries with jittered backoff, and a circuit breaker per provider.

The breaker state lives in the default cache (Redis in production, so every worker shares it):
after `AI_BREAKER_FAILURES` consecutive failed calls the provider is skipped for
`AI_BREAKER_SECONDS`, and callers go straight to the offline model.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from tenant_apps.ai.providers.base import ProviderError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class CircuitOpen(ProviderError):
    def __init__(self, provider: str):
        super().__init__(f"{provider} is paused after repeated failures", retryable=False)


def _key(provider: str, what: str) -> str:
    return f"ai:breaker:{provider}:{what}"


def breaker_is_open(provider: str) -> bool:
    return bool(cache.get(_key(provider, "open")))


def breaker_record(provider: str, *, ok: bool) -> None:
    failures_key = _key(provider, "failures")
    if ok:
        cache.delete(failures_key)
        return
    cache.add(failures_key, 0, timeout=settings.AI_BREAKER_SECONDS * 10)
    try:
        failures = cache.incr(failures_key)
    except ValueError:  # expired between add and incr
        cache.set(failures_key, 1, timeout=settings.AI_BREAKER_SECONDS * 10)
        failures = 1
    if failures >= settings.AI_BREAKER_FAILURES:
        cache.set(_key(provider, "open"), True, timeout=settings.AI_BREAKER_SECONDS)
        cache.delete(failures_key)
        logger.warning("AI provider %s: circuit open for %ss after %s failures", provider, settings.AI_BREAKER_SECONDS,
                       failures)  # fmt: skip


def breaker_reset(provider: str) -> None:
    cache.delete_many([_key(provider, "open"), _key(provider, "failures")])


def backoff_seconds(attempt: int) -> float:
    """Full jitter: uniform in [0, min(8, base * 2**attempt)] (base `AI_RETRY_BASE_SECONDS`, 0.5)."""
    return random.uniform(0, min(8.0, settings.AI_RETRY_BASE_SECONDS * 2**attempt))  # noqa: S311 - not crypto


def call_with_retries(provider: str, call: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `call` (one provider request, which enforces its own timeout) with up to
    `AI_MAX_RETRIES` retries on retryable errors; every attempt counts for the breaker."""
    if breaker_is_open(provider):
        raise CircuitOpen(provider)
    attempt = 0
    while True:
        try:
            result = call()
        except ProviderError as error:
            breaker_record(provider, ok=False)
            if not error.retryable or attempt >= settings.AI_MAX_RETRIES or breaker_is_open(provider):
                raise
            attempt += 1
            delay = backoff_seconds(attempt)
            logger.info("AI provider %s: %s; retry %s in %.2fs", provider, error.message, attempt, delay)
            sleep(delay)
            continue
        breaker_record(provider, ok=True)
        return result
