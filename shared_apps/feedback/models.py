"""Feedback the IT company reads across sites (public schema).

- `ReviewIndex`: one row per ticket review of every site, written by the reviews service in the
  same transaction as the review (same database, like engineers.TicketIndex), so an engineer's
  ratings across all sites and the platform's CSAT per site and engineer are one query each,
  whatever the number of sites.
- `ServiceReview`: a client admin's periodic review of the IT company's service (one per site
  and quarter, editable during the quarter), read by platform admins.
"""

from django.conf import settings
from django.db import models

SATISFIED = models.Q(rating__gte=4)


class ReviewIndex(models.Model):
    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="review_index")
    review_pk = models.BigIntegerField()
    ticket_number = models.PositiveIntegerField()
    ticket_subject = models.CharField(max_length=200)
    category_slug = models.CharField(max_length=50, blank=True)
    requester_id = models.BigIntegerField()
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="review_index"
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "review_pk"], name="review_index_one_row_per_review"),
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="review_index_rating_1_to_5"),
        ]
        indexes = [
            models.Index(fields=["engineer", "-created_at"], name="review_index_engineer"),
            models.Index(fields=["client", "-created_at"], name="review_index_site"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.ticket_number} {self.rating}/5"


class ServiceReview(models.Model):
    client = models.ForeignKey("tenancy.Client", on_delete=models.CASCADE, related_name="service_reviews")
    period = models.CharField(max_length=7, help_text='Calendar quarter, e.g. "2026-Q4".')
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rating = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "period"], name="service_review_one_per_site_quarter"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="service_review_rating_1_to_5"
            ),
        ]
        ordering = ["-period", "client__name"]

    def __str__(self) -> str:
        return f"{self.client_id} {self.period}: {self.rating}/5"
