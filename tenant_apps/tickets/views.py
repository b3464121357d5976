"""Ticket pages on a client site. The tenant-access middleware has set `request.role`; every
ticket comes from a selector scoped by the acting user; every change goes through a service."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.accounts.selectors import user_get, user_get_by_email
from shared_apps.engineers.selectors import engineer_users_covering
from shared_apps.tenancy.views import client_admin_required
from tenant_apps.ai.selectors import ai_draft_model, ticket_ai_context
from tenant_apps.ai.services import quota_status as ai_quota_status
from tenant_apps.tickets import selectors, services
from tenant_apps.tickets.charts import report_charts
from tenant_apps.tickets.forms import (
    MergeForm,
    ReplyForm,
    ShareForm,
    SLATargetForm,
    StatusForm,
    TicketCreateForm,
    TicketUpdateForm,
    TimeEntryForm,
)
from tenant_apps.tickets.models import Priority, Ticket
from tenant_apps.tickets.reports import ticket_report_for

PAGE_SIZE = 50
FILTERS = ("status", "q", "priority", "category", "assignee", "sla", "sort")


def _errors(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You cannot do that."


def ticket_list(request):
    filters = {
        key: request.GET.get(key, "") for key in ("status", "q", "priority", "category", "assignee", "sla", "sort")
    }
    tickets = selectors.ticket_list_for(
        user=request.user,
        role=request.role,
        status=filters["status"],
        query=filters["q"],
        priority=filters["priority"],
        category=filters["category"],
        assignee=filters["assignee"],
        sla=filters["sla"],
        sort=filters["sort"],
    )
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "statuses": Ticket.Status.choices,
        "priorities": Priority.choices,
        "categories": selectors.category_list() if request.role == "engineer" else (),
    }
    return render(request, "tickets/list.html", context)


def ticket_create(request):
    form = TicketCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(requester=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Ticket {request.tenant.ticket_prefix}-{ticket.number} is open. We are on it.")
            return redirect("ticket_detail", number=ticket.number)
    return render(request, "tickets/new.html", {"form": form})


def _detail(request, ticket: Ticket, *, reply_form=None, status=200):
    is_engineer = request.role == "engineer"
    reply_form = reply_form or ReplyForm()
    conversation = list(selectors.message_list_for(ticket=ticket, role=request.role).select_related("author"))
    context = {
        "ticket": ticket,
        "conversation": conversation,
        # Where the live thread (static/js/live.js) starts catching up from.
        "last_message_id": max((message.pk for message in conversation), default=0),
        "last_event_id": selectors.event_last_id(ticket=ticket),
        "opening_attachments": selectors.attachment_list_opening(ticket=ticket),
        "reply_form": reply_form,
        "status_choices": services.status_choices_for(ticket=ticket, role=request.role),
        "is_engineer": is_engineer,
        # A resolved ticket asks its client side to confirm (or reopen) at the top of the page.
        "client_confirms": ticket.status == Ticket.Status.RESOLVED and not is_engineer,
    }
    if is_engineer:
        context["update_form"] = TicketUpdateForm(
            initial={"priority": ticket.priority, "category": ticket.category_id, "assignee": ticket.assignee_id},
            engineers=engineer_users_covering(client=request.tenant),
        )
        context["time_form"] = TimeEntryForm()
        context["time_entries"] = _time_entry_rows(request, ticket)
        context["merge_form"] = MergeForm()
    else:
        context["share_form"] = ShareForm()
    context.update(ticket_ai_context(request, ticket, reply_form))
    return render(request, "tickets/detail.html", context, status=status)


def _time_entry_rows(request, ticket: Ticket) -> list[tuple]:
    """(entry, edit form or None): the form only on the user's own entries not yet invoiced,
    the ones `time_entry_update` and `time_entry_delete` accept. Each form has its own ids (one
    page, many forms)."""
    rows = []
    for entry in selectors.time_entry_list_for(ticket=ticket):
        form = None
        if entry.engineer_id == request.user.pk and not entry.invoice_number:
            initial = {"minutes": entry.minutes, "billable": entry.billable, "note": entry.note}
            form = TimeEntryForm(initial=initial, auto_id=f"id_time_{entry.pk}_%s")
        rows.append((entry, form))
    return rows


def ticket_detail(request, number: int):
    return _detail(request, selectors.ticket_get_for(user=request.user, role=request.role, number=number))


@require_POST
def ticket_reply(request, number: int):
    ticket = selectors.ticket_get_for(user=request.user, role=request.role, number=number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_reply(
                ticket=ticket,
                actor=request.user,
                role=request.role,
                body=form.cleaned_data["body"],
                internal=form.cleaned_data["internal"],
                attachments=form.cleaned_data["attachments"],
                ai_model=ai_draft_model(ticket=ticket, user=request.user, result_id=form.cleaned_data["ai_draft"]),
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, _errors(error))
        else:
            messages.success(request, "Internal note added." if form.cleaned_data["internal"] else "Reply sent.")
            return redirect("ticket_detail", number=number)
    # Keep what they wrote: render the page again with the form and its errors.
    return _detail(request, ticket, reply_form=form, status=400)


def _act(request, number: int, action) -> object:
    """Run `action(ticket)` on a visible ticket; a refusal becomes a message, never a 500."""
    ticket = selectors.ticket_get_for(user=request.user, role=request.role, number=number)
    try:
        note = action(ticket)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, _errors(error))
    else:
        if note:
            messages.success(request, note)
    return redirect("ticket_detail", number=number)


@require_POST
def ticket_status(request, number: int):
    form = StatusForm(request.POST)

    def action(ticket):
        if not form.is_valid():
            raise ValidationError("Choose a status.")
        new = form.cleaned_data["status"]
        services.ticket_transition(
            ticket=ticket, actor=request.user, role=request.role, new_status=new, note=form.cleaned_data["note"]
        )
        return f"Ticket is now {Ticket.Status(new).label.lower()}."

    return _act(request, number, action)


@require_POST
def ticket_update(request, number: int):
    form = TicketUpdateForm(request.POST, engineers=engineer_users_covering(client=request.tenant))

    def action(ticket):
        if not form.is_valid():
            raise ValidationError(" ".join(e for errors in form.errors.values() for e in errors))
        data = form.cleaned_data
        with transaction.atomic():  # both changes or neither
            services.ticket_update(
                ticket=ticket,
                actor=request.user,
                role=request.role,
                priority=data["priority"],
                category=data["category"],
            )
            assignee = user_get(pk=data["assignee"])
            services.ticket_assign(ticket=ticket, actor=request.user, role=request.role, assignee=assignee)
        return "Ticket updated."

    return _act(request, number, action)


def _time_form_check(form: TimeEntryForm) -> None:
    if not form.is_valid():
        if "note" in form.errors:
            raise ValidationError("Keep the note to 300 characters.")
        raise ValidationError("Enter the minutes worked (1 to 1,440).")


@require_POST
def ticket_time(request, number: int):
    form = TimeEntryForm(request.POST)

    def action(ticket):
        _time_form_check(form)
        entry = services.time_entry_log(ticket=ticket, actor=request.user, role=request.role, **form.cleaned_data)
        return f"Logged {entry.minutes} minutes."

    return _act(request, number, action)


@require_POST
def ticket_time_edit(request, number: int, entry_id: int):
    form = TimeEntryForm(request.POST)

    def action(ticket):
        entry = selectors.time_entry_get_for(ticket=ticket, role=request.role, entry_id=entry_id)
        _time_form_check(form)
        services.time_entry_update(entry=entry, actor=request.user, role=request.role, **form.cleaned_data)
        return f"Time entry changed: {entry.minutes} minutes{', billable' if entry.billable else ''}."

    return _act(request, number, action)


@require_POST
def ticket_time_delete(request, number: int, entry_id: int):
    def action(ticket):
        entry = selectors.time_entry_get_for(ticket=ticket, role=request.role, entry_id=entry_id)
        services.time_entry_delete(entry=entry, actor=request.user, role=request.role)
        return f"Time entry of {entry.minutes} minutes deleted."

    return _act(request, number, action)


@require_POST
def ticket_share(request, number: int):
    form = ShareForm(request.POST)

    def action(ticket):
        if not form.is_valid():
            raise ValidationError("Enter your colleague's email address.")
        colleague = user_get_by_email(email=form.cleaned_data["email"])
        if colleague is None:
            raise ValidationError(f"{form.cleaned_data['email']} is not a member of this site.")
        services.ticket_share(ticket=ticket, actor=request.user, role=request.role, colleague=colleague)
        return f"{colleague.email} can now see and follow this ticket."

    return _act(request, number, action)


@require_POST
def ticket_merge(request, number: int):
    form = MergeForm(request.POST)

    def action(ticket):
        if not form.is_valid():
            raise ValidationError("Enter the number of the ticket this one duplicates.")
        into = selectors.ticket_get_for(user=request.user, role=request.role, number=form.cleaned_data["into"])
        services.ticket_merge(duplicate=ticket, into=into, actor=request.user, role=request.role)
        return f"Closed as a duplicate of {request.tenant.ticket_prefix}-{into.number}."

    return _act(request, number, action)


def ticket_messages(request, number: int):
    """The live thread's polling fallback: what the user may see after `?after=<message id>` and
    `&after_event=<event id>`, as the same partials the socket sends (oldest first)."""
    ticket = selectors.ticket_get_for(user=request.user, role=request.role, number=number)
    try:
        after, after_event = int(request.GET.get("after", 0)), int(request.GET.get("after_event", 0))
    except ValueError:
        return HttpResponseBadRequest("after and after_event are message and event ids")
    catch_up = selectors.live_catch_up_for(ticket=ticket, role=request.role, after=after, after_event=after_event)
    context = {"ticket": ticket, "is_engineer": request.role == "engineer", **catch_up}
    return render(request, "tickets/_live_catch_up.html", context)


def ticket_history(request, number: int):
    ticket = selectors.ticket_get_for(user=request.user, role=request.role, number=number)
    events = selectors.event_list_for(ticket=ticket, role=request.role)
    return render(request, "tickets/history.html", {"ticket": ticket, "events": events})


def ticket_attachment(request, number: int, attachment_id: int):
    """Download through the ticket's own access check; only images are shown inline."""
    attachment = selectors.attachment_get_for(
        user=request.user, role=request.role, number=number, attachment_id=attachment_id
    )
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=not attachment.is_image,
        filename=attachment.original_name,
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=0"
    return response


@client_admin_required
def ticket_report(request):
    report = ticket_report_for(user=request.user, role=request.role)
    context = {"report": report, "charts": report_charts(report), "ai_usage": ai_quota_status()}
    return render(request, "tickets/report.html", context)


@client_admin_required
def sla_settings(request):
    """One form per priority; a POST carries the priority it is for, and only that form is bound
    (so a mistake in one keeps what was typed there and leaves the others as saved)."""
    policies = selectors.sla_policy_list()
    submitted = request.POST.get("priority", "") if request.method == "POST" else ""
    target_forms = {
        p.priority: SLATargetForm.for_policy(p, data=request.POST if p.priority == submitted else None)
        for p in policies
    }
    form = target_forms.get(submitted)
    if request.method == "POST" and form is None:
        messages.error(request, "Choose one of the priorities below.")
    elif form is not None and form.is_valid():
        try:
            services.sla_policy_update(priority=submitted, actor=request.user, **form.minutes())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            label = Priority(submitted).label
            messages.success(request, f"{label} targets saved. They apply to tickets opened from now on.")
            return redirect("sla_settings")
    rows = [(policy, target_forms[policy.priority]) for policy in policies]
    failed = Priority(submitted) if form is not None and form.errors else None
    return render(request, "tickets/sla_settings.html", {"rows": rows, "failed": failed})
