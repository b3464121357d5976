"""Google Gemini through google-genai (the maintained SDK; google-generativeai is deprecated).

Categorization uses `response_schema` (JSON); drafts stream and carry image attachments as
image parts. SDK exceptions and objects stay in this module.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from google import genai
from google.genai import errors, types

from tenant_apps.ai import prompts
from tenant_apps.ai.providers.base import (
    PRIORITIES,
    Categorization,
    Draft,
    KnowledgeSnippet,
    ProviderError,
    Thread,
    TicketText,
)
from tenant_apps.ai.validation import categorization_from_json


def _error(exc: Exception) -> ProviderError:
    if isinstance(exc, errors.APIError):
        code = exc.code or 0
        return ProviderError(f"Gemini answered HTTP {code}", retryable=code == 429 or code >= 500)
    name = type(exc).__name__
    if isinstance(exc, ValueError):  # includes JSONDecodeError: a 200 whose body is not the API's JSON
        return ProviderError("Gemini sent an unreadable answer", retryable=True)
    if "Timeout" in name:
        return ProviderError("Gemini timed out", retryable=True)
    if "Connect" in name or isinstance(exc, OSError):
        return ProviderError("Gemini could not be reached", retryable=True)
    return ProviderError(f"Gemini failed: {name}")


def _usage(response) -> tuple[int, int]:
    meta = getattr(response, "usage_metadata", None)
    if meta is None:
        return 0, 0
    return meta.prompt_token_count or 0, meta.candidates_token_count or 0


class GeminiProvider:
    name = "gemini"

    def __init__(self, *, model: str = "", api_key: str = "", base_url: str = "", timeout: float | None = None, **_):
        self.model = model or settings.GEMINI_MODEL
        options = types.HttpOptions(
            timeout=int((timeout or settings.AI_TIMEOUT_SECONDS) * 1000),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),  # retries are ours (resilience.py)
            **({"base_url": base_url or settings.GEMINI_BASE_URL} if (base_url or settings.GEMINI_BASE_URL) else {}),
        )
        self.client = genai.Client(api_key=api_key or settings.GEMINI_API_KEY or "not-set", http_options=options)

    def _call(self, method, **kwargs):
        try:
            return method(model=self.model, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every SDK/transport error becomes a ProviderError
            raise _error(exc) from exc

    def categorize(self, ticket: TicketText) -> Categorization:
        schema = {
            "type": "OBJECT",
            "properties": {
                "category_slug": {"type": "STRING", "enum": list(ticket.categories)},
                "priority": {"type": "STRING", "enum": list(PRIORITIES)},
                "confidence": {"type": "NUMBER"},
                "summary": {"type": "STRING"},
            },
            "required": ["category_slug", "priority", "confidence", "summary"],
        }
        response = self._call(
            self.client.models.generate_content,
            contents=prompts.categorize_user(ticket),
            config=types.GenerateContentConfig(
                system_instruction=prompts.CATEGORIZE_SYSTEM,
                response_mime_type="application/json",
                response_schema=schema,
                temperature=0,
            ),
        )
        tokens_in, tokens_out = _usage(response)
        return categorization_from_json(
            _text(response), categories=ticket.categories, model=self.model, tokens_in=tokens_in, tokens_out=tokens_out
        )

    def _contents(self, thread: Thread, kb: list[KnowledgeSnippet], *, for_requester: bool) -> list:
        parts = [types.Part.from_text(text=prompts.reply_user(thread, kb, for_requester=for_requester))]
        for turn in thread.turns:
            parts += [types.Part.from_bytes(data=image.data, mime_type=image.mime_type) for image in turn.images]
        return [types.Content(role="user", parts=parts)]

    def _config(self, *, for_requester: bool):
        system = prompts.ASSISTANT_SYSTEM if for_requester else prompts.REPLY_SYSTEM
        return types.GenerateContentConfig(system_instruction=system, temperature=0.3)

    def _complete(self, thread, kb, *, for_requester: bool) -> Draft:
        response = self._call(
            self.client.models.generate_content,
            contents=self._contents(thread, kb, for_requester=for_requester),
            config=self._config(for_requester=for_requester),
        )
        text = _text(response).strip()
        if not text:
            raise ProviderError("Gemini returned an empty answer")
        tokens_in, tokens_out = _usage(response)
        return Draft(text=text, sources=tuple(kb), tokens_in=tokens_in, tokens_out=tokens_out, model=self.model)

    def draft_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft:
        return self._complete(thread, kb, for_requester=False)

    def assistant_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft:
        return self._complete(thread, kb, for_requester=True)

    def stream_draft(self, thread: Thread, kb: list[KnowledgeSnippet], *, for_requester: bool) -> Iterator[str]:
        self.last_usage = (0, 0)
        stream = self._call(
            self.client.models.generate_content_stream,
            contents=self._contents(thread, kb, for_requester=for_requester),
            config=self._config(for_requester=for_requester),
        )
        try:
            for chunk in stream:
                usage = _usage(chunk)
                if any(usage):
                    self.last_usage = usage
                text = _text(chunk)
                if text:
                    yield text
        except Exception as exc:  # noqa: BLE001
            raise _error(exc) from exc


def _text(response) -> str:
    """The answer's text without tripping over candidates that carry no text part."""
    try:
        return response.text or ""
    except (ValueError, AttributeError):
        return ""
