"""AI jobs on tickets: route to a provider, fall back to the offline model, record, apply.

Every job runs in a worker (tasks.py), in the ticket's schema. The request only creates a pending
`AIResult` (drafts, assistant answers) or nothing at all (categorization) and returns.

Routing (`route_for`): the site's override (platform admins) or `AI_PROVIDER`; the offline model
when no key is configured, the site keeps its data offline, or the site used its monthly token
quota. A remote provider that fails (after retries), whose breaker is open, whose output is
invalid, or whose confidence is under `AI_CONFIDENCE_THRESHOLD` is replaced by the offline model,
and the result says why (`fallback_reason`).
"""

from __future__ import annotations

import html
import logging
import re
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from shared_apps.billing.metering import tokens_used, usage_add
from shared_apps.tenancy.models import Membership
from tenant_apps.ai.dispatch import ai_answer_after_commit
from tenant_apps.ai.models import AICorrection, AIResult, AISettings
from tenant_apps.ai.prompts import thread_trimmed
from tenant_apps.ai.providers import provider_by_name
from tenant_apps.ai.providers.base import (
    CATEGORY_SLUGS,
    Categorization,
    Draft,
    ImagePart,
    KnowledgeSnippet,
    ProviderError,
    Thread,
    TicketText,
    Turn,
)
from tenant_apps.ai.redaction import redact
from tenant_apps.ai.resilience import call_with_retries
from tenant_apps.tickets.models import Attachment, Category, Message, Ticket
from tenant_apps.tickets.richtext import outline_text, sanitize_html

logger = logging.getLogger(__name__)

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
MAX_IMAGES = 3
MAX_IMAGE_BYTES = 4 * 1024 * 1024
STREAM_SAVE_SECONDS = 0.5  # how often a streaming answer's progress is saved for pollers


# --- routing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    provider: str
    model: str = ""
    reason: str = ""  # why the offline model answers although another one is configured


def ai_settings_get() -> AISettings:
    return AISettings.objects.filter(pk=1).first() or AISettings(pk=1)


def configured_provider(ai: AISettings) -> str:
    name = ai.provider or settings.AI_PROVIDER
    if name == "auto":
        if settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL:
            return "openai"
        return "gemini" if settings.GEMINI_API_KEY else "offline"
    return name


def route_for(ai: AISettings | None = None, *, used: int | None = None) -> Route:
    ai = ai or ai_settings_get()
    name = configured_provider(ai)
    if name == "offline":
        return Route("offline")
    if ai.keep_data_offline:
        return Route("offline", reason="this site keeps its data off external AI providers")
    if name == "openai" and not (settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL):
        return Route("offline", reason="no OpenAI key is configured")
    if name == "gemini" and not (settings.GEMINI_API_KEY or settings.GEMINI_BASE_URL):
        return Route("offline", reason="no Gemini key is configured")
    site = connection.tenant
    plan = getattr(site, "plan", None)
    if plan is not None:
        used = tokens_used(site.pk) if used is None else used
        if used >= plan.ai_token_quota:
            return Route("offline", reason=f"the monthly AI quota is used ({used:,} of {plan.ai_token_quota:,} tokens)")
    return Route(name, ai.model)


def quota_status() -> dict:
    """This month's external-provider tokens against the plan's quota (billing's figures), and
    which model answers now and why, for the client admin."""
    from shared_apps.billing.selectors import ai_usage_for

    site = connection.tenant
    usage = ai_usage_for(client=site, plan=getattr(site, "plan", None), month=timezone.localdate())
    over = bool(usage.quota) and usage.used >= usage.quota
    return {"used": usage.used, "quota": usage.quota, "over": over, "route": route_for(used=usage.used)}


def _site_examples() -> list[dict]:
    """Labels engineers confirmed or corrected on this site: the offline model trains on them."""
    rows = (
        AICorrection.objects.select_related("ticket")
        .order_by("ticket_id", "-created_at")
        .distinct("ticket_id")
        .values_list("ticket__subject", "ticket__description", "category_slug", "priority")[:2000]
    )
    return [
        {"subject": subject, "description": html_to_text(description), "category": category, "priority": priority}
        for subject, description, category, priority in rows
    ]


def offline_provider():
    return provider_by_name("offline", examples=_site_examples())


def _record_usage(provider: str, model: str, tokens_in: int, tokens_out: int) -> None:
    usage_add(client_id=connection.tenant.pk, provider=provider, model=model, tokens_in=tokens_in,
              tokens_out=tokens_out)  # fmt: skip


# --- text ------------------------------------------------------------------------------------


LIST_ITEM = re.compile(r"^(\d+[.)]|[-*•])\s+")
BLOCK_END = re.compile(r"(?i)</(p|div|li|h[1-6]|blockquote|pre|tr)>|<br\s*/?>")


def html_to_text(value: str) -> str:
    """Plain text with paragraph breaks kept, for prompts."""
    text = BLOCK_END.sub("\n", value or "")
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text).replace("\xa0", " ")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def text_to_html(text: str) -> str:
    """A model's plain-text answer as safe HTML: paragraphs, line breaks, numbered/bulleted lists."""
    blocks = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(LIST_ITEM.match(line) for line in lines):
            tag = "ol" if lines[0][0].isdigit() else "ul"
            items = "".join(f"<li>{html.escape(LIST_ITEM.sub('', line))}</li>" for line in lines)
            blocks.append(f"<{tag}>{items}</{tag}>")
        else:
            blocks.append("<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>")
    return sanitize_html("".join(blocks))


def _redacted_ticket(text: TicketText) -> TicketText:
    return replace(text, subject=redact(text.subject), description=redact(text.description))


def _redacted_thread(thread: Thread) -> Thread:
    turns = tuple(replace(turn, text=redact(turn.text), author=turn.role) for turn in thread.turns)
    return replace(thread, subject=redact(thread.subject), turns=turns)


# --- categorization --------------------------------------------------------------------------


def _ticket_text(ticket: Ticket) -> TicketText:
    slugs = tuple(Category.objects.filter(is_active=True).order_by("position", "slug").values_list("slug", flat=True))
    return TicketText(
        subject=ticket.subject,
        description=html_to_text(ticket.description)[:8000],
        categories=slugs or CATEGORY_SLUGS,
    )


def ticket_categorize(ticket_id: int) -> AIResult | None:
    """Categorize a new ticket, record the result, fill the empty fields, auto-assign. Idempotent
    (a redelivered task finds the finished result); never raises for provider trouble."""
    from tenant_apps.tickets.services import ticket_ai_triage

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return None
    done = AIResult.objects.filter(ticket=ticket, kind=AIResult.Kind.CATEGORIZE, state=AIResult.State.DONE).first()
    if done is not None:
        return done
    text = _ticket_text(ticket)
    route = route_for()
    started = time.monotonic()
    answer: Categorization | None = None
    reason = route.reason
    raw_remote = ""
    if route.provider != "offline":
        provider = provider_by_name(route.provider, model=route.model)
        outgoing = _redacted_ticket(text) if settings.AI_REDACT else text
        try:
            answer = call_with_retries(route.provider, lambda: provider.categorize(outgoing))
        except ProviderError as error:
            reason = f"{route.provider} failed: {error.message}"
        else:
            _record_usage(route.provider, answer.model or provider.model, answer.tokens_in, answer.tokens_out)
            raw_remote = answer.raw
            if answer.confidence < settings.AI_CONFIDENCE_THRESHOLD:
                reason = (
                    f"{route.provider} was unsure ({round(answer.confidence * 100)} % < "
                    f"{round(settings.AI_CONFIDENCE_THRESHOLD * 100)} %)"
                )
                answer = None
    provider_name = route.provider
    if answer is None:
        offline = offline_provider()
        answer = offline.categorize(text)
        provider_name = "offline"
        _record_usage("offline", answer.model or offline.model, answer.tokens_in, answer.tokens_out)
    # The record and the ticket change commit together: nobody sees one without the other.
    with transaction.atomic():
        result = AIResult.objects.create(
            ticket=ticket,
            kind=AIResult.Kind.CATEGORIZE,
            state=AIResult.State.DONE,
            provider=provider_name,
            model=answer.model[:80],
            fallback_reason=reason[:200],
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            latency_ms=round((time.monotonic() - started) * 1000),
            confidence=answer.confidence,
            category_slug=answer.category_slug,
            priority=answer.priority,
            summary=answer.summary[:200],
            raw_output=(raw_remote or answer.raw)[:20_000],
            finished_at=timezone.now(),
        )
        label = f"{answer.category_slug}, {answer.priority} ({round(answer.confidence * 100)} %)"
        via = f"{provider_name}/{answer.model}" + (f"; fallback: {reason}" if reason else "")
        ticket_ai_triage(ticket_id=ticket.pk, category_slug=answer.category_slug, priority=answer.priority,
                         note=f"AI: {label} via {via}")  # fmt: skip
    return result


@transaction.atomic
def categorization_review(*, ticket: Ticket, actor, role: str, result: AIResult, category=None, priority=None):
    """An engineer accepts the AI's categorization as is, or corrects it; either way the confirmed
    label is recorded and retrains the site's offline model."""
    from tenant_apps.tickets.services import ticket_update

    if role != "engineer":
        raise PermissionDenied("Only engineers review the AI's categorization.")
    if result.ticket_id != ticket.pk or result.kind != AIResult.Kind.CATEGORIZE:
        raise ValidationError("That is not this ticket's categorization.")
    accepted = category is None and priority is None
    if accepted:
        category_slug, new_priority = result.category_slug, result.priority
        current = ticket.category
        if current is None or current.slug != category_slug or ticket.priority != new_priority:
            category = Category.objects.filter(slug=category_slug, is_active=True).first()
            ticket_update(ticket=ticket, actor=actor, role=role, priority=new_priority, category=category)
    else:
        ticket_update(ticket=ticket, actor=actor, role=role, priority=priority, category=category)
        ticket.refresh_from_db()
        category_slug = ticket.category.slug if ticket.category else ""
        new_priority = ticket.priority
        accepted = category_slug == result.category_slug and new_priority == result.priority
    AICorrection.objects.create(
        ticket=ticket,
        result=result,
        predicted_category=result.category_slug,
        predicted_priority=result.priority,
        category_slug=category_slug,
        priority=new_priority,
        accepted=accepted,
        by=actor,
    )
    AIResult.objects.filter(pk=result.pk).update(reviewed="accepted" if accepted else "corrected")
    return accepted


# --- drafts and assistant answers ------------------------------------------------------------


ASK_COOLDOWN_SECONDS = 20


@transaction.atomic
def answer_request(*, ticket: Ticket, actor, role: str, kind: str) -> AIResult:
    """Ask for a reply draft (engineers) or an assistant answer (the client side). Returns the
    pending result at once; a worker fills it. A second request while one is running returns it."""
    if kind == AIResult.Kind.DRAFT and role != "engineer":
        raise PermissionDenied("Only engineers ask for reply drafts.")
    if kind == AIResult.Kind.ASSISTANT and role not in ("staff", "admin"):
        raise PermissionDenied("The assistant answers the client side; engineers use Draft reply.")
    if kind == AIResult.Kind.ASSISTANT and ticket.is_finished:
        raise ValidationError("This ticket is resolved; reopen it to ask the assistant.")
    running = (
        AIResult.objects.select_for_update()
        .filter(ticket=ticket, kind=kind, requested_by=actor, state=AIResult.State.PENDING)
        .filter(created_at__gte=timezone.now() - timezone.timedelta(minutes=2))
        .first()
    )
    if running is not None:
        return running
    result = AIResult.objects.create(ticket=ticket, kind=kind, requested_by=actor)
    ai_answer_after_commit(result.pk)
    return result


def _thread(ticket: Ticket, *, for_requester: bool) -> Thread:
    """The public conversation (internal notes never go into a draft or an assistant answer),
    oldest first, with image attachments; trimmed to AI_CONTEXT_TOKENS, newest kept."""
    requester_name = ticket.requester.display_name if ticket.requester_id else "requester"
    turns = [Turn("requester", requester_name, f"{ticket.subject}\n\n{html_to_text(ticket.description)}")]
    messages = (
        Message.objects.filter(ticket=ticket, kind__in=[Message.Kind.PUBLIC, Message.Kind.AI])
        .select_related("author")
        .order_by("created_at", "pk")
    )
    messages = list(messages)
    client_side = set(
        Membership.objects.filter(
            client=connection.tenant, user_id__in={m.author_id for m in messages if m.author_id}
        ).values_list("user_id", flat=True)
    )
    for message in messages:
        if message.kind == Message.Kind.AI or message.author_id is None:
            role, name = "assistant", "assistant"
        else:
            role = "requester" if message.author_id in client_side else "engineer"
            name = message.author.display_name
        turns.append(Turn(role, name, html_to_text(message.body)))
    images = _images(ticket)
    if images:
        turns[0] = replace(turns[0], images=tuple(images))
    trimmed = thread_trimmed(Thread(ticket.subject, tuple(turns)), settings.AI_CONTEXT_TOKENS)
    return replace(trimmed, category=ticket.category.slug if ticket.category_id else "",
                   site_name=connection.tenant.name)  # fmt: skip


def _images(ticket: Ticket) -> list[ImagePart]:
    parts = []
    rows = Attachment.objects.filter(ticket=ticket, content_type__in=IMAGE_TYPES, size__lte=MAX_IMAGE_BYTES)
    for attachment in rows.order_by("-created_at")[:MAX_IMAGES]:
        try:
            with attachment.file.open("rb") as handle:
                parts.append(ImagePart(attachment.content_type, handle.read(), attachment.original_name))
        except OSError:
            logger.warning("attachment %s is missing from storage", attachment.pk)
    return parts


def _knowledge(ticket: Ticket, thread: Thread, *, for_requester: bool) -> list[KnowledgeSnippet]:
    """Articles of the site (visibility respected for the requester): first those the ticket
    page lists beside the ticket for the same reader (linked and related articles), then the
    ones matching the latest conversation; and similar resolved tickets (engineer drafts only: a
    requester must not see other people's tickets)."""
    query = " ".join([thread.subject, *(turn.text for turn in thread.turns[-2:])])[:2000]
    audience = "requester" if for_requester else "engineer"
    snippets: list[KnowledgeSnippet] = []
    try:
        from tenant_apps.knowledge import selectors as knowledge
    except ImportError:  # the knowledge base is not installed yet
        knowledge = None
    if knowledge is not None:
        snippets += knowledge.article_snippets_for_ticket(ticket=ticket, audience=audience)
        shown = {snippet.url for snippet in snippets}
        found = knowledge.article_snippets_for_ai(query, audience=audience, limit=5)
        snippets += [snippet for snippet in found if snippet.url not in shown]
    if not for_requester:
        snippets += _resolved_tickets_like(ticket, query)
    return snippets


def _resolved_tickets_like(ticket: Ticket, query: str, limit: int = 5) -> list[KnowledgeSnippet]:
    """The site's most similar finished tickets, each with its last public reply (one query).
    Any of the conversation's words may match (the knowledge base's query builder): requiring
    all of them would find nothing for a real conversation."""
    from django.contrib.postgres.search import SearchRank
    from django.db.models import OuterRef, Subquery

    from shared_apps.publishing.search import any_words_query

    search = any_words_query(query, max_words=30)
    if search is None:
        return []
    last_reply = (
        Message.objects.filter(ticket=OuterRef("pk"), kind=Message.Kind.PUBLIC).order_by("-created_at", "-pk")
    )  # fmt: skip
    rows = (
        Ticket.objects.filter(status__in=[Ticket.Status.RESOLVED, Ticket.Status.CLOSED], search_vector=search)
        .exclude(pk=ticket.pk)
        .annotate(rank=SearchRank("search_vector", search), last_reply=Subquery(last_reply.values("body")[:1]))
        .order_by("-rank")
        .values("number", "subject", "description", "last_reply")[:limit]
    )
    return [
        KnowledgeSnippet(
            f"Ticket #{row['number']}: {row['subject']}",
            outline_text(row["last_reply"] or row["description"])[:2000],
            f"/tickets/{row['number']}/",
            source="ticket",
        )
        for row in rows
    ]


def answer_produce(result_id: int, *, on_chunk=None) -> AIResult | None:
    """Fill a pending draft / assistant result: stream from the routed provider (falling back to
    the offline model), save progress for pollers, sanitize, and for the assistant post the answer
    as an AI message. `on_chunk(result, delta)` is told about every piece (live pages)."""
    from tenant_apps.tickets.services import ticket_ai_message_add

    result = (
        AIResult.objects.select_related("ticket", "ticket__requester", "ticket__category")
        .filter(pk=result_id, state=AIResult.State.PENDING)
        .first()
    )
    if result is None:
        return None
    ticket = result.ticket
    for_requester = result.kind == AIResult.Kind.ASSISTANT
    thread = _thread(ticket, for_requester=for_requester)
    kb = _knowledge(ticket, thread, for_requester=for_requester)
    route = route_for()
    started = time.monotonic()
    reason = route.reason
    draft: Draft | None = None
    provider_name = route.provider
    if route.provider != "offline":
        provider = provider_by_name(route.provider, model=route.model)
        outgoing = _redacted_thread(thread) if settings.AI_REDACT else thread
        try:
            draft = call_with_retries(
                route.provider, lambda: _stream(provider, result, outgoing, kb, for_requester, on_chunk)
            )
        except ProviderError as error:
            reason = f"{route.provider} failed: {error.message}"
            AIResult.objects.filter(pk=result.pk).update(output="")
        else:
            _record_usage(route.provider, draft.model, draft.tokens_in, draft.tokens_out)
    if draft is None:
        provider_name = "offline"
        offline = offline_provider()
        draft = _stream(offline, result, thread, kb, for_requester, on_chunk)
        _record_usage("offline", draft.model, draft.tokens_in, draft.tokens_out)
    body = text_to_html(draft.text)
    sources = [{"title": s.title, "url": s.url, "source": s.source} for s in draft.sources if s.url or s.title]
    AIResult.objects.filter(pk=result.pk).update(
        state=AIResult.State.DONE,
        provider=provider_name,
        model=draft.model[:80],
        fallback_reason=reason[:200],
        tokens_in=draft.tokens_in,
        tokens_out=draft.tokens_out,
        latency_ms=round((time.monotonic() - started) * 1000),
        output=body,
        sources=sources,
        raw_output=draft.text[:20_000],
        finished_at=timezone.now(),
    )
    result.refresh_from_db()
    if for_requester:
        message = ticket_ai_message_add(ticket=ticket, body_html=body, ai_model=f"{provider_name}/{draft.model}",
                                        sources=sources)  # fmt: skip
        result.message_id = message.pk
    return result


def _stream(provider, result: AIResult, thread, kb, for_requester, on_chunk) -> Draft:
    """Run one streamed answer, saving the text so far every STREAM_SAVE_SECONDS for pollers."""
    pieces: list[str] = []
    last_save = time.monotonic()
    if on_chunk:
        on_chunk(result, None)  # a fresh start (also after a fallback)
    for delta in provider.stream_draft(thread, kb, for_requester=for_requester):
        pieces.append(delta)
        if on_chunk:
            on_chunk(result, delta)
        if time.monotonic() - last_save > STREAM_SAVE_SECONDS:
            AIResult.objects.filter(pk=result.pk).update(output=text_to_html("".join(pieces)))
            last_save = time.monotonic()
    text = "".join(pieces).strip()
    if not text:
        raise ProviderError(f"{provider.name} returned an empty answer")
    tokens_in, tokens_out = getattr(provider, "last_usage", (0, 0)) or (0, 0)
    if not tokens_in:
        tokens_in = sum(len(turn.text.split()) for turn in thread.turns)
        tokens_out = len(text.split())
    # The offline model says which snippets it used; remote models were given them all.
    sources = getattr(provider, "last_sources", None)
    if sources is None:
        sources = tuple(kb[:5])
    return Draft(text=text, sources=tuple(sources), tokens_in=tokens_in, tokens_out=tokens_out,
                 model=provider.model)  # fmt: skip


def answer_fail(result_id: int, error: str) -> None:
    AIResult.objects.filter(pk=result_id, state=AIResult.State.PENDING).update(
        state=AIResult.State.FAILED, error=error[:300], finished_at=timezone.now()
    )


@transaction.atomic
def ai_settings_update(*, actor, provider: str, model: str, keep_data_offline: bool) -> AISettings:
    """Platform admins override the provider and model per site, or keep its data offline."""
    if not actor.is_superuser:
        raise PermissionDenied("Only platform admins change a site's AI settings.")
    if provider not in AISettings.Provider.values:
        raise ValidationError({"provider": [f"'{provider}' is not a provider."]})
    ai, _ = AISettings.objects.select_for_update().get_or_create(pk=1)
    ai.provider, ai.model, ai.keep_data_offline = provider, model.strip()[:80], keep_data_offline
    ai.save()
    return ai
