"""Ticket reviews (requesters), the site's CSAT page and the service review (client admins)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from shared_apps.feedback.selectors import service_review_current, service_review_history
from shared_apps.feedback.services import quarter_of, service_review_submit
from shared_apps.tenancy.views import client_admin_required
from tenant_apps.reviews.charts import category_chart, month_chart
from tenant_apps.reviews.forms import ReviewForm, ServiceReviewForm
from tenant_apps.reviews.selectors import csat_report_for, review_for
from tenant_apps.reviews.services import review_can_rate, review_editable_until, review_submit
from tenant_apps.tickets.selectors import ticket_get_for


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def ticket_review(request, number: int):
    """Rate a resolved ticket (its requester); the link in the "how did we do?" email."""
    ticket = ticket_get_for(user=request.user, role=request.role, number=number)
    if ticket.requester_id != request.user.pk:
        raise PermissionDenied("Only the person who opened the ticket rates it.")
    review = review_for(ticket=ticket)
    initial = {"rating": review.rating, "comment": review.comment} if review else None
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            review_submit(ticket=ticket, actor=request.user, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            _add_errors(form, error if isinstance(error, ValidationError) else ValidationError(str(error)))
        else:
            messages.success(request, "Thank you for your rating.")
            return redirect("ticket_detail", number=number)
    editable_until = review_editable_until(review) if review else None
    context = {
        "ticket": ticket,
        "review": review,
        "form": form,
        "editable": (review is None and review_can_rate(ticket=ticket, user=request.user))
        or (review is not None and timezone.now() <= editable_until),
        "editable_until": editable_until,
    }
    return render(request, "reviews/review.html", context, status=400 if form.errors else 200)


@client_admin_required
def csat_report(request):
    report = csat_report_for(user=request.user, role=request.role)
    context = {"report": report, "month_chart": month_chart(report), "category_chart": category_chart(report)}
    return render(request, "reviews/csat.html", context)


@client_admin_required
def service_review(request):
    current = service_review_current(client=request.tenant)
    initial = {"rating": current.rating, "body": current.body} if current else None
    form = ServiceReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            service_review_submit(client=request.tenant, author=request.user, **form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, "Thank you: your review reaches the IT company's management.")
            return redirect("service_review")
    period = quarter_of(timezone.now())
    context = {
        "form": form,
        "current": current,
        "period": period,
        "history": service_review_history(client=request.tenant, before=period),
    }
    return render(request, "reviews/service_review.html", context, status=400 if form.errors else 200)
