"""How a requester rated the handling of their resolved ticket (one review per ticket)."""

from django.conf import settings
from django.db import models


class Review(models.Model):
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="review")
    # Tenant -> public user: no database constraint (DESIGN section 3); users are never deleted.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # The engineer the ticket was assigned to when it was rated (whose work is being rated).
    engineer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5")
        ]
        indexes = [models.Index(fields=["created_at"], name="review_created")]

    def __str__(self) -> str:
        return f"{self.rating}/5 for ticket {self.ticket_id}"

    @property
    def satisfied(self) -> bool:
        return self.rating >= 4
