"""CSAT: the share of ratings that are 4 or 5 out of 5 ("satisfied"), the usual definition."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q

SATISFIED = Q(rating__gte=4)
# One aggregate per group: how many, how many satisfied, the mean rating.
CSAT_AGGREGATES = {"total": Count("pk"), "satisfied": Count("pk", filter=SATISFIED), "average": Avg("rating")}


@dataclass(frozen=True)
class Csat:
    total: int
    satisfied: int
    average: float | None = None

    @property
    def share(self) -> int | None:
        """Percent satisfied, rounded half up (None with no ratings: not 0%, which would be a verdict)."""
        if not self.total:
            return None
        return int((Decimal(100 * self.satisfied) / self.total).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def average_text(self) -> str:
        if self.average is None:
            return "—"
        return str(Decimal(str(self.average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))

    @property
    def share_text(self) -> str:
        return "—" if self.share is None else f"{self.share}%"

    @classmethod
    def of(cls, row: dict) -> "Csat":
        return cls(total=row["total"] or 0, satisfied=row["satisfied"] or 0, average=row.get("average"))
