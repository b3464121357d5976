"""OpenAI and any OpenAI-compatible server (`OPENAI_BASE_URL`: Ollama, vLLM, LM Studio).

Categorization uses structured output (a strict JSON schema); drafts stream. SDK exceptions and
objects stay in this module: callers get our dataclasses or `ProviderError`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import openai
from django.conf import settings

from tenant_apps.ai import prompts
from tenant_apps.ai.providers.base import (
    Categorization,
    Draft,
    KnowledgeSnippet,
    ProviderError,
    Thread,
    TicketText,
)
from tenant_apps.ai.validation import categorization_from_json


def _error(exc: Exception) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("OpenAI timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError("OpenAI could not be reached", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        return ProviderError(f"OpenAI answered HTTP {code}", retryable=code == 429 or code >= 500)
    if isinstance(exc, ValueError):  # includes JSONDecodeError: a 200 whose body is not the API's JSON
        return ProviderError("OpenAI sent an unreadable answer", retryable=True)
    return ProviderError(f"OpenAI failed: {type(exc).__name__}")


class OpenAIProvider:
    name = "openai"

    def __init__(self, *, model: str = "", api_key: str = "", base_url: str = "", timeout: float | None = None, **_):
        self.model = model or settings.OPENAI_MODEL
        self.client = openai.OpenAI(
            api_key=api_key or settings.OPENAI_API_KEY or "not-needed",  # local servers take any key
            base_url=base_url or settings.OPENAI_BASE_URL or None,
            timeout=timeout or settings.AI_TIMEOUT_SECONDS,
            max_retries=0,  # retries and backoff are ours (resilience.py), counted by the breaker
        )

    def categorize(self, ticket: TicketText) -> Categorization:
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": prompts.CATEGORIZE_SYSTEM},
                    {"role": "user", "content": prompts.categorize_user(ticket)},
                ],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": "ticket_triage",
                        "strict": True,
                        "schema": prompts.categorize_schema(ticket.categories),
                    },
                },
                temperature=0,
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise _error(exc) from exc
        if not response.choices:
            raise ProviderError("OpenAI returned no choices")
        raw = response.choices[0].message.content or ""
        usage = response.usage
        return categorization_from_json(
            raw,
            categories=ticket.categories,
            model=response.model or self.model,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
        )

    def _messages(self, thread: Thread, kb: list[KnowledgeSnippet], *, for_requester: bool) -> list[dict]:
        system = prompts.ASSISTANT_SYSTEM if for_requester else prompts.REPLY_SYSTEM
        content: list[dict] = [{"type": "text", "text": prompts.reply_user(thread, kb, for_requester=for_requester)}]
        for turn in thread.turns:
            for image in turn.images:
                data = base64.b64encode(image.data).decode()
                content.append({"type": "image_url", "image_url": {"url": f"data:{image.mime_type};base64,{data}"}})
        return [{"role": "system", "content": system}, {"role": "user", "content": content}]

    def _complete(self, thread, kb, *, for_requester: bool) -> Draft:
        try:
            response = self.client.chat.completions.create(
                model=self.model, messages=self._messages(thread, kb, for_requester=for_requester), temperature=0.3
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise _error(exc) from exc
        text = (response.choices[0].message.content or "").strip() if response.choices else ""
        if not text:
            raise ProviderError("OpenAI returned an empty answer")
        usage = response.usage
        return Draft(
            text=text,
            sources=tuple(kb),
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            model=response.model or self.model,
        )

    def draft_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft:
        return self._complete(thread, kb, for_requester=False)

    def assistant_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft:
        return self._complete(thread, kb, for_requester=True)

    def stream_draft(self, thread: Thread, kb: list[KnowledgeSnippet], *, for_requester: bool) -> Iterator[str]:
        """Yield text deltas; sets `self.last_usage` = (tokens_in, tokens_out) when the stream ends."""
        self.last_usage = (0, 0)
        try:
            stream = self.client.chat.completions.create(
                model=self.model,
                messages=self._messages(thread, kb, for_requester=for_requester),
                temperature=0.3,
                stream=True,
                stream_options={"include_usage": True},
            )
            for chunk in stream:
                if chunk.usage:
                    self.last_usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices or ():
                    if choice.delta and choice.delta.content:
                        yield choice.delta.content
        except (openai.OpenAIError, ValueError) as exc:
            raise _error(exc) from exc
