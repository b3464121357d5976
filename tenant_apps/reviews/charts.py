"""The CSAT page's charts, computed server-side (inline SVG, no JavaScript), like
tickets/charts.py: a column per month (share of 4-5 ratings) and a bar per category."""

from dataclasses import dataclass

from tenant_apps.reviews.selectors import CsatReport
from tenant_apps.tickets.charts import BAR_HEIGHT, BAR_LABEL_Y, BAR_ROW, BAR_WIDTH, BAR_Y, Bar, BarChart

MONTH_SLOT = 30  # the plot is stretched to the card's width; its labels are HTML (no tiny text)
MONTH_PLOT = 100  # height of the 0-100 % area


@dataclass(frozen=True)
class MonthColumn:
    label: str
    share: int | None
    count: int
    bar_x: float
    bar_y: float
    bar_height: float
    tone: str
    tooltip: str


@dataclass(frozen=True)
class MonthChart:
    summary: str
    columns: list[MonthColumn]
    width: int
    height: int
    mid_y: float
    bar_width: float


def _tone(share: int | None) -> str:
    if share is None:
        return "secondary"
    return "success" if share >= 80 else "warning" if share >= 60 else "danger"


def month_chart(report: CsatReport) -> MonthChart:
    columns = []
    bar_width = MONTH_SLOT * 0.6
    for index, month in enumerate(report.months):
        share = month.csat.share
        height = round(MONTH_PLOT * (share or 0) / 100, 1)
        x = index * MONTH_SLOT
        label = f"{month.month:%b}"
        columns.append(
            MonthColumn(
                label=label,
                share=share,
                count=month.csat.total,
                bar_x=round(x + (MONTH_SLOT - bar_width) / 2, 1),
                bar_y=round(MONTH_PLOT - max(height, 1 if share == 0 else 0), 1),
                bar_height=height if share else (1 if share == 0 else 0),  # 0 %: a sliver, not nothing
                tone=_tone(share),
                tooltip=f"{month.month:%B %Y}: "
                + (f"{share}% satisfied of {month.csat.total}" if month.csat.total else "no ratings"),
            )
        )
    rated = [c for c in columns if c.count]
    summary = (
        "Share of 4 and 5 ratings per month: "
        + (", ".join(f"{c.tooltip}" for c in rated) if rated else "no ratings yet")
        + "."
    )
    width = MONTH_SLOT * max(len(columns), 1)
    return MonthChart(
        summary=summary,
        columns=columns,
        width=width,
        height=MONTH_PLOT,
        mid_y=MONTH_PLOT / 2,
        bar_width=round(bar_width, 1),
    )


def category_chart(report: CsatReport) -> BarChart:
    """One bar per category, its length the share satisfied (out of 100 %, not of the largest)."""
    bars = []
    for index, row in enumerate(report.categories):
        share = row.csat.share or 0
        bars.append(
            Bar(
                label=row.name,
                value=f"{row.csat.share_text} of {row.csat.total}",
                tone=_tone(row.csat.share),
                label_y=index * BAR_ROW + BAR_LABEL_Y,
                bar_y=index * BAR_ROW + BAR_Y,
                width=round(max(BAR_WIDTH * share / 100, 3) if share else 0, 1),
            )
        )
    title = "Share of 4 and 5 ratings by category"
    summary = (
        f"{title}: "
        + (", ".join(f"{r.name} {r.csat.share_text} of {r.csat.total}" for r in report.categories) or "none")
        + "."
    )
    return BarChart(
        title=title, summary=summary, bars=bars, width=BAR_WIDTH, height=max(len(bars), 1) * BAR_ROW,
        bar_height=BAR_HEIGHT,
    )  # fmt: skip
