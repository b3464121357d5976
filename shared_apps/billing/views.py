"""Billing pages. On a client site: its client admins' invoices, subscription, seats and AI use.
On the root domain (platform admins): overview, every invoice, mark paid, plans, subscriptions."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shared_apps.billing import selectors, services
from shared_apps.billing.forms import MarkPaidForm, PlanChangeForm, PlanForm, SubscriptionForm
from shared_apps.billing.models import Invoice, Plan
from shared_apps.billing.pdf import invoice_pdf
from shared_apps.billing.seats import seat_use
from shared_apps.tenancy.links import site_url_for_subdomain
from shared_apps.tenancy.middleware import not_found
from shared_apps.tenancy.views import _add_form_errors, client_admin_required, platform_admin_required

# --- shared by both sides ----------------------------------------------------------------------


def _invoice_or_404(request, number: str, *, console: bool) -> Invoice:
    client = None if console else request.tenant
    invoice = selectors.invoice_get_for(user=request.user, number=number, client=client)
    if invoice is None:
        raise Http404
    return invoice


def _ticket_link(invoice: Invoice, console: bool):
    if console:  # the ticket lives on the site's own domain
        return lambda n: site_url_for_subdomain(invoice.client.subdomain, f"/tickets/{n}/")
    return lambda n: f"/tickets/{n}/"


def _invoice_page(request, number: str, *, console: bool):
    invoice = _invoice_or_404(request, number, console=console)
    link = _ticket_link(invoice, console)
    lines = [
        (line, [(n, link(n)) for n in tickets], count)
        for line, tickets, count in selectors.invoice_lines_with_tickets(invoice)
    ]
    context = {
        "invoice": invoice,
        "lines": lines,
        "console": console,
        "overdue": invoice.is_overdue_on(timezone.localdate()),
        "paid_form": MarkPaidForm() if console and invoice.status == Invoice.Status.OPEN else None,
    }
    return render(request, "billing/invoice.html", context)


def _invoice_pdf(request, number: str, *, console: bool):
    invoice = _invoice_or_404(request, number, console=console)
    response = HttpResponse(invoice_pdf(invoice, selectors.invoice_lines_with_tickets(invoice)), "application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}.pdf"'
    return response


def _invoice_csv(request, number: str, *, console: bool):
    invoice = _invoice_or_404(request, number, console=console)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.number}-lines.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["invoice", "line", "kind", "description", "detail", "from", "to", "quantity", "unit", "unit_price",
         "per", "amount", "currency", "tickets"]
    )  # fmt: skip
    for line, tickets, _count in selectors.invoice_lines_with_tickets(invoice):
        writer.writerow(
            [invoice.number, line.position, line.kind, line.description, line.detail, line.starts_on, line.ends_on,
             line.quantity, line.unit, line.unit_price, line.price_per, line.amount, invoice.currency,
             " ".join(str(n) for n in tickets)]
        )  # fmt: skip
    return response


def _invoice_line_page(request, number: str, line_id: int, *, console: bool):
    invoice = _invoice_or_404(request, number, console=console)
    line = invoice.lines.filter(pk=line_id).first()
    if line is None:
        raise Http404
    link = _ticket_link(invoice, console)
    tickets = selectors.invoice_line_entries(line)
    for ticket in tickets:
        ticket.url = link(ticket.number)
    context = {"invoice": invoice, "line": line, "tickets": tickets, "console": console}
    return render(request, "billing/invoice_line.html", context)


# --- client site ---------------------------------------------------------------------------


@client_admin_required
def billing_home(request):
    site = request.tenant
    subscription = selectors.subscription_for(client=site)
    plan = subscription.plan if subscription else None
    context = {
        "subscription": subscription,
        "plan": plan,
        "seats": seat_use(site, plan=plan),
        "usage": selectors.ai_usage_for(client=site, plan=plan, month=timezone.localdate()),
        "invoices": selectors.invoice_list_for(user=request.user, client=site),
        "today": timezone.localdate(),
        "suspension": selectors.site_suspension_for(client=site, subscription=subscription),
    }
    return render(request, "billing/site_billing.html", context)


@client_admin_required
def billing_invoice(request, number: str):
    return _invoice_page(request, number, console=False)


@client_admin_required
def billing_invoice_pdf(request, number: str):
    return _invoice_pdf(request, number, console=False)


@client_admin_required
def billing_invoice_csv(request, number: str):
    return _invoice_csv(request, number, console=False)


@client_admin_required
def billing_invoice_line(request, number: str, line_id: int):
    return _invoice_line_page(request, number, line_id, console=False)


# --- root domain: platform admins ------------------------------------------------------------


@platform_admin_required
def billing_overview(request):
    today = timezone.localdate()
    invoices = selectors.invoice_list_for(user=request.user)
    context = {
        "overview": selectors.billing_overview(user=request.user, today=today),
        "overdue": invoices.filter(status=Invoice.Status.OPEN, due_on__lt=today).order_by("due_on")[:20],
        "recent": invoices.order_by("-created_at", "-pk")[:10],
        "today": today,
    }
    return render(request, "billing/console_overview.html", context)


@platform_admin_required
def billing_invoice_list(request):
    today = timezone.localdate()
    invoices = selectors.invoice_list_for(user=request.user)
    status = request.GET.get("status", "")
    if status == "overdue":
        invoices = invoices.filter(status=Invoice.Status.OPEN, due_on__lt=today)
    elif status in Invoice.Status.values:
        invoices = invoices.filter(status=status)
    site = request.GET.get("site", "").strip()
    if site:
        invoices = invoices.filter(client__subdomain=site)
    page = Paginator(invoices.order_by("-period_start", "-sequence"), 50).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "site": site, "today": today}
    return render(request, "billing/console_invoices.html", context)


@platform_admin_required
def console_invoice(request, number: str):
    return _invoice_page(request, number, console=True)


@platform_admin_required
def console_invoice_pdf(request, number: str):
    return _invoice_pdf(request, number, console=True)


@platform_admin_required
def console_invoice_csv(request, number: str):
    return _invoice_csv(request, number, console=True)


@platform_admin_required
def console_invoice_line(request, number: str, line_id: int):
    return _invoice_line_page(request, number, line_id, console=True)


@platform_admin_required
@require_POST
def console_invoice_paid(request, number: str):
    invoice = _invoice_or_404(request, number, console=True)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["paid_on"]))
        return redirect("console_invoice", number=invoice.number)
    try:
        services.invoice_mark_paid(invoice=invoice, by=request.user, paid_on=form.cleaned_data["paid_on"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Invoice {invoice.number} is marked paid.")
    return redirect("console_invoice", number=invoice.number)


@platform_admin_required
def billing_plans(request):
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_save(plan=form.save(commit=False), by=request.user)
        except ValidationError as error:
            _add_form_errors(form, error)
        else:
            messages.success(request, f"Plan {plan.name} created.")
            return redirect("billing_plans")
    context = {"plans": selectors.plan_list_for(user=request.user), "form": form}
    return render(request, "billing/console_plans.html", context, status=400 if form.errors else 200)


@platform_admin_required
def billing_plan_edit(request, pk: int):
    plan = selectors.plan_list_for(user=request.user).filter(pk=pk).first()
    if plan is None:
        return not_found(request)
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_save(plan=form.save(commit=False), by=request.user)
        except ValidationError as error:
            _add_form_errors(form, error)
        else:
            messages.success(request, f"Plan {plan.name} saved. Issued invoices keep their prices.")
            return redirect("billing_plans")
    context = {"plan": plan, "form": form}
    return render(request, "billing/console_plan_edit.html", context, status=400 if form.errors else 200)


@platform_admin_required
def billing_subscriptions(request):
    subscriptions = selectors.subscription_list_for(user=request.user)
    return render(request, "billing/console_subscriptions.html", {"subscriptions": subscriptions})


@platform_admin_required
def billing_subscription_edit(request, subdomain: str):
    subscription = selectors.subscription_get_for(user=request.user, subdomain=subdomain)
    if subscription is None:
        return not_found(request)
    action = request.POST.get("action") if request.method == "POST" else None
    form = SubscriptionForm(request.POST if action == "update" else None, instance=subscription, prefix="sub")
    change_form = PlanChangeForm(
        request.POST if action == "plan" else None, prefix="plan", initial={"plan": subscription.plan_id}
    )
    try:
        if action == "update" and form.is_valid():
            services.subscription_update(subscription=subscription, by=request.user, **form.cleaned_data)
            messages.success(request, f"{subscription.client.name}: subscription saved.")
            return redirect("billing_subscription_edit", subdomain=subdomain)
        if action == "plan" and change_form.is_valid():
            plan: Plan = change_form.cleaned_data["plan"]
            effective_on = change_form.cleaned_data["effective_on"]
            services.subscription_plan_change(
                subscription=subscription, plan=plan, effective_on=effective_on, by=request.user
            )
            messages.success(request, f"{subscription.client.name} is on {plan.name} from {effective_on:%d %b %Y}.")
            return redirect("billing_subscription_edit", subdomain=subdomain)
    except ValidationError as error:
        _add_form_errors(change_form if action == "plan" else form, error)
    context = {
        "subscription": subscription,
        "form": form,
        "change_form": change_form,
        "changes": subscription.changes.select_related("plan", "changed_by"),
        "seats": seat_use(subscription.client, plan=subscription.plan),
    }
    return render(request, "billing/console_subscription.html", context)
