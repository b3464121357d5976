"""Emails about reviews, sent by a worker after commit in the site's schema:

- a ticket is resolved -> its requester is asked to rate it (also a banner on the site);
- a rating of 2 or less -> the site's active client admins and the ticket's engineer.
Each person can turn either kind off for the site (profiles.Profile.notifications_off).
"""

from celery import shared_task
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string

from shared_apps.accounts.models import User
from shared_apps.tenancy.links import site_url
from shared_apps.tenancy.models import Membership
from tenant_apps.profiles.models import NotificationKind
from tenant_apps.profiles.selectors import notifications_off_for

PENDING_SECONDS = 600


def pending_key(user_id: int, schema: str | None = None) -> str:
    return f"reviews-pending:{schema or connection.schema_name}:{user_id}"


def pending_forget(user_id: int) -> None:
    key = pending_key(user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _wanted(people: list[User], kind: str) -> list[User]:
    people = [p for p in {p.pk: p for p in people if p is not None and p.is_active}.values()]
    off = notifications_off_for(user_ids=[p.pk for p in people])
    return [p for p in people if kind not in off.get(p.pk, set())]


def _on_commit(task, object_id: int) -> None:
    schema = connection.schema_name  # now, not when the message is built (see tickets/notifications.py)
    transaction.on_commit(lambda: task.apply_async(args=[object_id], headers={"_schema_name": schema}))


def ticket_status_changed(ticket, *, new_status: str) -> None:
    """Called by the ticket services for every status change (tickets/services.py `_event`): the
    requester's "to rate" banner may change; a resolution also asks them by email."""
    pending_forget(ticket.requester_id)
    if new_status == "resolved":
        _on_commit(review_request_notify, ticket.pk)


def review_request_email_send(ticket_id: int) -> int:
    from tenant_apps.tickets.models import Ticket

    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None or ticket.status != Ticket.Status.RESOLVED or _has_review(ticket):
        return 0
    people = _wanted([ticket.requester], NotificationKind.REVIEW_REQUEST)
    site = connection.tenant
    context = {
        "ticket": ticket,
        "site": site,
        "reference": f"{site.ticket_prefix}-{ticket.number}",
        "url": site_url(site, f"/tickets/{ticket.number}/review/"),
        "settings_url": site_url(site, "/profile/notifications/"),
    }
    for person in people:
        context["person"] = person
        send_mail(
            subject=f"[{context['reference']}] How did we do? {ticket.subject}",
            message=render_to_string("reviews/email/review_request.txt", context),
            from_email=None,
            recipient_list=[person.email],
        )
    return len(people)


def _has_review(ticket) -> bool:
    from tenant_apps.reviews.models import Review

    return Review.objects.filter(ticket=ticket).exists()


def low_rating_recipients(review) -> list[User]:
    admins = list(
        User.objects.filter(
            memberships__client=connection.tenant, memberships__role=Membership.Role.ADMIN, memberships__is_active=True
        )
    )
    engineer = User.objects.filter(pk=review.engineer_id).first() if review.engineer_id else None
    return _wanted([*admins, engineer], NotificationKind.LOW_RATING)


def low_rating_email_send(review_id: int) -> int:
    from tenant_apps.reviews.models import Review

    review = Review.objects.select_related("ticket", "requester").filter(pk=review_id).first()
    if review is None or review.rating > 2:
        return 0
    site = connection.tenant
    people = low_rating_recipients(review)
    context = {
        "review": review,
        "ticket": review.ticket,
        "site": site,
        "reference": f"{site.ticket_prefix}-{review.ticket.number}",
        "url": site_url(site, f"/tickets/{review.ticket.number}/"),
        "settings_url": site_url(site, "/profile/notifications/"),
    }
    for person in people:
        context["person"] = person
        send_mail(
            subject=f"[{context['reference']}] Rated {review.rating}/5: {review.ticket.subject}",
            message=render_to_string("reviews/email/low_rating.txt", context),
            from_email=None,
            recipient_list=[person.email],
        )
    return len(people)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def review_request_notify(ticket_id: int) -> int:
    return review_request_email_send(ticket_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def low_rating_notify(review_id: int) -> int:
    return low_rating_email_send(review_id)


def low_rating_notify_after_commit(review_id: int) -> None:
    _on_commit(low_rating_notify, review_id)
