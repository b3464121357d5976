"""What the ticket page shows of the AI, scoped by the acting user."""

from django.http import Http404

from tenant_apps.ai.models import AIResult
from tenant_apps.tickets.models import Ticket


def triage_for(*, ticket: Ticket, role: str) -> AIResult | None:
    """The latest categorization (engineers only: the client side sees the fields, not the AI)."""
    if role != "engineer":
        return None
    return AIResult.objects.filter(ticket=ticket, kind=AIResult.Kind.CATEGORIZE).order_by("-created_at", "-pk").first()


def answer_get_for(*, ticket: Ticket, user, result_id: int) -> AIResult:
    """A draft or assistant answer the acting user asked for on this (visible) ticket, or 404."""
    result = (
        AIResult.objects.filter(
            pk=result_id,
            ticket=ticket,
            requested_by=user,
            kind__in=[AIResult.Kind.DRAFT, AIResult.Kind.ASSISTANT],
        )
        .only(
            "pk",
            "ticket_id",
            "kind",
            "state",
            "output",
            "sources",
            "provider",
            "model",
            "fallback_reason",
            "error",
            "requested_by_id",
            "created_at",
        )  # fmt: skip
        .first()
    )
    if result is None:
        raise Http404
    return result


def answer_pending_for(*, ticket: Ticket, user) -> AIResult | None:
    return (
        AIResult.objects.filter(ticket=ticket, requested_by=user, state=AIResult.State.PENDING)
        .order_by("-created_at")
        .first()
    )


def ticket_ai_context(request, ticket: Ticket, reply_form) -> dict:
    """The AI parts of the ticket page: the engineers' triage card, the answer the user is waiting
    for, and a finished draft put into the reply editor (`?draft=<id>`)."""
    from tenant_apps.ai.forms import CorrectionForm

    context: dict = {"ai_answer": None}
    triage = triage_for(ticket=ticket, role=request.role)
    if triage is not None:
        names = dict(ticket_category_names())
        context["ai_triage"] = triage
        context["ai_triage_label"] = (
            f"{names.get(triage.category_slug, triage.category_slug)}, {triage.priority.capitalize()}"
        )
        context["ai_correct_form"] = CorrectionForm(
            initial={"category": ticket.category_id, "priority": ticket.priority or triage.priority}
        )
    answer_id = request.GET.get("answer") or request.GET.get("draft")
    if answer_id and answer_id.isdigit():
        context["ai_answer"] = AIResult.objects.filter(
            pk=int(answer_id), ticket=ticket, requested_by=request.user
        ).first()
    if context["ai_answer"] is None:
        context["ai_answer"] = answer_pending_for(ticket=ticket, user=request.user)
    answer = context["ai_answer"]
    if answer is not None and answer.kind == AIResult.Kind.ASSISTANT and answer.state == AIResult.State.DONE:
        context["ai_answer"] = None  # it is a message in the thread now
    draft_id = request.GET.get("draft")
    answer = context["ai_answer"]
    if (draft_id and answer and str(answer.pk) == draft_id and answer.kind == AIResult.Kind.DRAFT
            and answer.state == AIResult.State.DONE and not reply_form.is_bound):  # fmt: skip
        reply_form.initial = {"body": answer.output, "ai_draft": answer.pk}
        context["ai_answer"] = None  # it is in the editor now
        context["ai_draft_used"] = answer
    return context


def ticket_category_names():
    from tenant_apps.tickets.models import Category

    return Category.objects.values_list("slug", "name")


def ai_draft_model(*, ticket: Ticket, user, result_id: int | None) -> str:
    """ "provider/model" of a finished draft this user asked for on this ticket ("" otherwise)."""
    if not result_id:
        return ""
    row = (
        AIResult.objects.filter(
            pk=result_id, ticket=ticket, requested_by=user, kind=AIResult.Kind.DRAFT, state=AIResult.State.DONE
        )
        .values_list("provider", "model")
        .first()
    )
    return f"{row[0]}/{row[1]}" if row else ""
