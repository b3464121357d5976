"""Writes to the public feedback tables."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from shared_apps.engineers.ticket_index import current_client_id
from shared_apps.feedback.models import ReviewIndex, ServiceReview

INDEXED_FIELDS = [
    "ticket_number", "ticket_subject", "category_slug", "requester_id", "engineer_id", "rating", "comment",
    "created_at", "updated_at",
]  # fmt: skip
BODY_MAX = 5000


def review_index_row(review, *, client_id: int) -> ReviewIndex:
    ticket = review.ticket
    return ReviewIndex(
        client_id=client_id,
        review_pk=review.pk,
        ticket_number=ticket.number,
        ticket_subject=ticket.subject,
        category_slug=ticket.category.slug if ticket.category_id else "",
        requester_id=review.requester_id,
        engineer_id=review.engineer_id,
        rating=review.rating,
        comment=review.comment,
        created_at=review.created_at,
        updated_at=review.updated_at,
    )


def review_index_sync(review) -> None:
    """Upsert the index row of a review of the current site, in the caller's transaction (one
    statement), so the cross-site pages never disagree with the site."""
    row = review_index_row(review, client_id=current_client_id())
    ReviewIndex.objects.bulk_create(
        [row], update_conflicts=True, unique_fields=["client", "review_pk"], update_fields=INDEXED_FIELDS
    )


def review_index_differences(*, client) -> list[str]:
    """What differs between a site's reviews and their index rows (empty when they agree)."""
    from django_tenants.utils import tenant_context

    from tenant_apps.reviews.models import Review

    with tenant_context(client):
        expected = {
            r.pk: review_index_row(r, client_id=client.pk)
            for r in Review.objects.select_related("ticket", "ticket__category")
        }
    actual = {row.review_pk: row for row in ReviewIndex.objects.filter(client=client)}
    problems = [f"{client.subdomain}: review {pk} has no index row" for pk in expected.keys() - actual.keys()]
    problems += [f"{client.subdomain}: index row for missing review {pk}" for pk in actual.keys() - expected.keys()]
    for pk in expected.keys() & actual.keys():
        for field in INDEXED_FIELDS:
            want, have = getattr(expected[pk], field), getattr(actual[pk], field)
            if want != have:
                problems.append(f"{client.subdomain}: review {pk} {field}: index {have!r}, review {want!r}")
    return problems


def quarter_of(moment) -> str:
    day = timezone.localdate(moment)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


@transaction.atomic
def service_review_submit(*, client, author, rating: int, body: str) -> ServiceReview:
    """A client admin's review of the IT company's service for this quarter (created, or replaced
    while the quarter lasts)."""
    from shared_apps.tenancy.selectors import ROLE_CLIENT_ADMIN, site_role_for

    if site_role_for(user=author, client=client) != ROLE_CLIENT_ADMIN:
        raise PermissionDenied("Only the site's client admins review the service.")
    errors = {}
    if rating not in range(1, 6):
        errors["rating"] = ["Choose a rating from 1 to 5."]
    body = (body or "").strip()
    if not body:
        errors["body"] = ["Tell us in a few words how the service was."]
    elif len(body) > BODY_MAX:
        errors["body"] = [f"Use at most {BODY_MAX:,} characters (this is {len(body):,})."]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    review, _ = ServiceReview.objects.update_or_create(
        client=client,
        period=quarter_of(now),
        defaults={"author": author, "rating": rating, "body": body, "updated_at": now},
        create_defaults={"author": author, "rating": rating, "body": body, "created_at": now, "updated_at": now},
    )
    return review
