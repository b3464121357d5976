"""Writes of ticket reviews: one per ticket, by its requester, editable for REVIEW_EDIT_DAYS.

Each write also upserts the review's row in the public `ReviewIndex` in the same transaction
(feedback/services.py), and a rating of 2 or less notifies the site's client admins and the
ticket's engineer after commit (reviews/notifications.py).
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from shared_apps.feedback.services import review_index_sync
from tenant_apps.reviews.models import Review
from tenant_apps.reviews.notifications import low_rating_notify_after_commit, pending_forget
from tenant_apps.tickets.models import Ticket

REVIEW_EDIT_DAYS = 7  # a review can be changed this long after it was first given
REVIEW_ASK_DAYS = 30  # a resolved ticket can be rated this long after its resolution
COMMENT_MAX = 2000
LOW = 2
RATEABLE = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


def review_editable_until(review: Review):
    return review.created_at + timedelta(days=REVIEW_EDIT_DAYS)


def review_can_rate(*, ticket: Ticket, user, now=None) -> bool:
    """Whether `user` may give (not change) a review for `ticket` now."""
    now = now or timezone.now()
    return (
        ticket.requester_id == user.pk
        and ticket.status in RATEABLE
        and ticket.resolved_at is not None
        and now - ticket.resolved_at <= timedelta(days=REVIEW_ASK_DAYS)
    )


def _clean(rating, comment: str) -> tuple[int, str]:
    errors = {}
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        errors["rating"] = ["Choose a rating from 1 (poor) to 5 (excellent)."]
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [f"Use at most {COMMENT_MAX:,} characters (this is {len(comment):,})."]
    if errors:
        raise ValidationError(errors)
    return rating, comment


@transaction.atomic
def review_submit(*, ticket: Ticket, actor, rating: int, comment: str = "") -> Review:
    """Give or change the review of a resolved ticket (its requester only)."""
    if ticket.requester_id != actor.pk:
        raise PermissionDenied("Only the person who opened the ticket rates it.")
    rating, comment = _clean(rating, comment)
    # The ticket row lock serializes two submissions at once (two tabs): the second sees the first.
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("category").get(pk=ticket.pk)
    now = timezone.now()
    review = Review.objects.filter(ticket=ticket).first()
    if review is None:
        if not review_can_rate(ticket=ticket, user=actor, now=now):
            if ticket.status not in RATEABLE or ticket.resolved_at is None:
                raise ValidationError("You can rate a ticket once it is resolved.")
            raise ValidationError(f"Tickets can be rated for {REVIEW_ASK_DAYS} days after they are resolved.")
        was_low = False
        review = Review.objects.create(
            ticket=ticket, requester=actor, engineer_id=ticket.assignee_id, rating=rating, comment=comment,
            created_at=now, updated_at=now,
        )  # fmt: skip
    else:
        if now > review_editable_until(review):
            raise ValidationError(
                f"A review can be changed for {REVIEW_EDIT_DAYS} days; this one was given on "
                f"{timezone.localtime(review.created_at):%-d %b %Y}."
            )
        was_low = review.rating <= LOW
        review.rating, review.comment, review.updated_at = rating, comment, now
        review.save(update_fields=["rating", "comment", "updated_at"])
    review.ticket = ticket
    review_index_sync(review)
    pending_forget(actor.pk)
    if review.rating <= LOW and not was_low:  # a low rating is reported once, not on every edit
        low_rating_notify_after_commit(review.pk)
    return review
