"""AI actions on a ticket page. Each starts work in a worker and returns at once; the page polls
(or the live thread streams) the result. Visibility: the ticket selector; roles: the services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from tenant_apps.ai import selectors, services
from tenant_apps.ai.models import AIResult
from tenant_apps.tickets import selectors as ticket_selectors
from tenant_apps.tickets.forms import TicketUpdateForm
from tenant_apps.tickets.models import Message
from tenant_apps.tickets.services import ticket_resolve_by_assistant


def _ticket(request, number: int):
    return ticket_selectors.ticket_get_for(user=request.user, role=request.role, number=number)


def _refused(request, number: int, error) -> HttpResponse:
    text = " ".join(error.messages) if isinstance(error, ValidationError) else (str(error) or "You cannot do that.")
    if request.htmx:
        return render(request, "ai/_answer.html", {"error": text}, status=400)
    messages.error(request, text)
    return redirect("ticket_detail", number=number)


def _start(request, number: int, kind: str) -> HttpResponse:
    ticket = _ticket(request, number)
    try:
        result = services.answer_request(ticket=ticket, actor=request.user, role=request.role, kind=kind)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, number, error)
    if request.htmx:
        return render(request, "ai/_answer.html", {"result": result, "ticket": ticket})
    return redirect(reverse("ticket_detail", args=[number]) + f"?answer={result.pk}#ai-answer")


@require_POST
def ai_draft(request, number: int):
    """Engineers: draft a reply from the conversation, the knowledge base and similar tickets."""
    return _start(request, number, AIResult.Kind.DRAFT)


@require_POST
def ai_ask(request, number: int):
    """The client side: ask the assistant; its answer is posted in the thread as an AI message."""
    return _start(request, number, AIResult.Kind.ASSISTANT)


def ai_answer(request, number: int, result_id: int):
    """Progress of a draft / answer the user asked for (polled by the page every second)."""
    ticket = _ticket(request, number)
    result = selectors.answer_get_for(ticket=ticket, user=request.user, result_id=result_id)
    if result.kind == AIResult.Kind.ASSISTANT and result.state == AIResult.State.DONE:
        # The answer is in the thread now: reload the page to show it where it belongs.
        # (HX-Refresh rather than HX-Redirect: a redirect to the same page that differs only by
        # its #fragment would just scroll.)
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        return redirect(reverse("ticket_detail", args=[number]) + "#conversation-end")
    return render(request, "ai/_answer.html", {"result": result, "ticket": ticket})


@require_POST
def ai_review(request, number: int):
    """Engineers accept the AI's category and priority, or correct them (recorded either way)."""
    ticket = _ticket(request, number)
    triage = selectors.triage_for(ticket=ticket, role=request.role)
    if triage is None:
        messages.error(request, "There is no AI categorization on this ticket.")
        return redirect("ticket_detail", number=number)
    try:
        if request.POST.get("decision") == "accept":
            services.categorization_review(ticket=ticket, actor=request.user, role=request.role, result=triage)
            note = "AI categorization accepted."
        else:
            form = TicketUpdateForm(request.POST)
            if not form.is_valid():
                raise ValidationError("Choose a category and a priority.")
            services.categorization_review(
                ticket=ticket,
                actor=request.user,
                role=request.role,
                result=triage,
                category=form.cleaned_data["category"],
                priority=form.cleaned_data["priority"],
            )
            note = "Correction saved; this site's offline model learns from it."
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, number, error)
    messages.success(request, note)
    return redirect("ticket_detail", number=number)


@require_POST
def ai_solved(request, number: int, message_id: int):
    """ "This solved it" under an assistant answer: the ticket is resolved."""
    ticket = _ticket(request, number)
    message = Message.objects.filter(pk=message_id, ticket=ticket, kind=Message.Kind.AI).first()
    if message is None:
        return _refused(request, number, ValidationError("That answer is not on this ticket."))
    try:
        ticket_resolve_by_assistant(ticket=ticket, actor=request.user, role=request.role, message=message)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, number, error)
    messages.success(request, "Glad it is solved. The ticket is resolved; reopen it if the problem comes back.")
    return redirect("ticket_detail", number=number)
