"""Review prompts placed into other apps' pages with one-line includes:
`{% reviews_banner %}` (base.html) and `{% ticket_review_panel ticket %}` (the ticket page)."""

from django import template
from django.utils import timezone

from tenant_apps.reviews.forms import ReviewForm
from tenant_apps.reviews.selectors import review_for, reviews_pending_for
from tenant_apps.reviews.services import RATEABLE, review_can_rate, review_editable_until

register = template.Library()
CLIENT_ROLES = ("admin", "staff")


@register.inclusion_tag("reviews/_banner_body.html", takes_context=True)
def reviews_banner(context):
    """Resolved tickets waiting for the requester's rating (cached: no query on a warm page)."""
    request = context.get("request")
    if request is None or getattr(request, "role", None) not in CLIENT_ROLES or context.get("client_site") is None:
        return {"pending": []}
    # Not on the page where the rating form already is.
    ticket = context.get("ticket")
    pending = [row for row in reviews_pending_for(user=request.user) if not ticket or row[0] != ticket.number]
    return {"pending": pending, "client_site": context.get("client_site")}


@register.inclusion_tag("reviews/_ticket_review_body.html", takes_context=True)
def ticket_review_panel(context, ticket):
    """The requester's rating form (or their rating) on a resolved ticket; the rating for others.
    Costs one query, only on resolved and closed tickets."""
    request = context["request"]
    if ticket.status not in RATEABLE or ticket.resolved_at is None:
        return {"show": False}
    review = review_for(ticket=ticket)
    is_requester = request.user.pk == ticket.requester_id
    now = timezone.now()
    editable = review is not None and is_requester and now <= review_editable_until(review)
    can_rate = review is None and review_can_rate(ticket=ticket, user=request.user, now=now)
    initial = {"rating": review.rating, "comment": review.comment} if review else None
    return {
        "show": review is not None or can_rate,
        "ticket": ticket,
        "review": review,
        "is_requester": is_requester,
        "form": ReviewForm(initial=initial) if (editable or can_rate) else None,
        "editable_until": review_editable_until(review) if review else None,
        "csrf_token": context.get("csrf_token"),
    }
