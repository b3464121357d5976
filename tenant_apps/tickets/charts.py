"""What the report page draws, computed server-side: geometry for its inline SVG charts (no
JavaScript, no chart library) and the short labels that go with them.

The templates only place what is computed here. Every chart carries a text summary for its
`aria-label`, and the page shows the numbers as text too.
"""

from dataclasses import dataclass
from datetime import timedelta

from tenant_apps.tickets.reports import DayCount, Tally, TicketReport

# Horizontal bars, each under its label: readable in a 320-400 px card, long names included.
BAR_WIDTH = 340
BAR_ROW = 36
BAR_LABEL_Y = 14
BAR_Y = 21
BAR_HEIGHT = 10
# The daily chart is drawn in a 300 x 100 box stretched to the card's width (its text is HTML).
DAILY_WIDTH = 300
DAILY_HEIGHT = 100

PRIORITY_TONES = {"urgent": "danger", "high": "warning", "medium": "primary", "low": "info", "": "secondary"}
STATUS_TONES = {"new": "info", "open": "primary", "pending": "secondary"}
CATEGORY_TONES = {"": "secondary"}  # "not set" in grey, as for priorities


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    tone: str
    label_y: int
    bar_y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    title: str
    summary: str
    bars: list[Bar]
    width: int
    height: int
    bar_height: int


@dataclass(frozen=True)
class DayColumn:
    x: float
    opened_x: float
    opened_y: float
    opened_height: float
    resolved_x: float
    resolved_y: float
    resolved_height: float
    tooltip: str


@dataclass(frozen=True)
class AxisLabel:
    text: str
    percent: float


@dataclass(frozen=True)
class DailyChart:
    title: str
    summary: str
    columns: list[DayColumn]
    y_max: int
    y_mid: int
    x_labels: list[AxisLabel]
    slot: float
    bar: float
    width: int
    height: int


def bar_chart(*, title: str, tallies: list[Tally], tones: dict[str, str] | None = None) -> BarChart:
    """One labelled bar per tally, scaled to the largest count (a count of 1 or more always
    shows at least a sliver)."""
    top = max((t.count for t in tallies), default=0)
    bars = []
    for index, tally in enumerate(tallies):
        width = BAR_WIDTH * tally.count / top if top else 0
        bars.append(
            Bar(
                label=tally.label,
                value=tally.count,
                tone=(tones or {}).get(tally.key, "primary"),
                label_y=index * BAR_ROW + BAR_LABEL_Y,
                bar_y=index * BAR_ROW + BAR_Y,
                width=round(max(width, 3) if tally.count else 0, 1),
            )
        )
    summary = f"{title}: " + (", ".join(f"{t.label} {t.count}" for t in tallies) or "none") + "."
    return BarChart(
        title=title,
        summary=summary,
        bars=bars,
        width=BAR_WIDTH,
        height=max(len(bars), 1) * BAR_ROW,
        bar_height=BAR_HEIGHT,
    )


def axis_top(value: int) -> int:
    """A round, even top for a count axis (so its midpoint is a whole number too)."""
    if value <= 10:
        return max(2, value + value % 2)
    magnitude = 10 ** (len(str(value)) - 2)
    for step in (10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100):
        top = step * magnitude
        if top >= value and top % 2 == 0:
            return top
    return 100 * magnitude  # unreachable: 100 * magnitude >= any value of this length


def daily_chart(*, days: list[DayCount]) -> DailyChart:
    """Side-by-side bars per day (opened, resolved) and a date label every seven days."""
    top = axis_top(max((max(d.opened, d.resolved) for d in days), default=0))
    slot = DAILY_WIDTH / max(len(days), 1)
    bar = slot * 0.38

    def height(count: int) -> float:
        return round(DAILY_HEIGHT * count / top, 2)

    columns = []
    for index, day in enumerate(days):
        x = index * slot
        opened, resolved = height(day.opened), height(day.resolved)
        columns.append(
            DayColumn(
                x=round(x, 2),
                opened_x=round(x + slot * 0.1, 2),
                opened_y=round(DAILY_HEIGHT - opened, 2),
                opened_height=opened,
                resolved_x=round(x + slot * 0.52, 2),
                resolved_y=round(DAILY_HEIGHT - resolved, 2),
                resolved_height=resolved,
                tooltip=f"{day.day:%a %-d %b}: {day.opened} opened, {day.resolved} resolved",
            )
        )
    # Every seventh day from the first: far enough apart for a phone, none at the very edge.
    labels = [
        AxisLabel(text=f"{days[i].day:%-d %b}", percent=round(100 * (i + 0.5) / len(days), 2))
        for i in range(0, len(days), 7)
    ]
    opened_total, resolved_total = sum(d.opened for d in days), sum(d.resolved for d in days)
    title = f"Tickets opened and resolved per day, last {len(days)} days"
    summary = f"{title}: {opened_total} opened, {resolved_total} resolved."
    if days:
        busiest = max(days, key=lambda d: (d.opened, d.day))
        if busiest.opened:
            summary += f" Busiest day {busiest.day:%-d %b} with {busiest.opened} opened."
    return DailyChart(
        title=title,
        summary=summary,
        columns=columns,
        y_max=top,
        y_mid=top // 2,
        x_labels=labels,
        slot=round(slot, 2),
        bar=round(bar, 2),
        width=DAILY_WIDTH,
        height=DAILY_HEIGHT,
    )


def duration_text(value: timedelta | None) -> str:
    """ "45 min", "3 h 20 min", "2 d 5 h"; an em dash for no value."""
    if value is None:
        return "—"
    minutes = round(value.total_seconds() / 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def report_charts(report: TicketReport) -> dict:
    """The page's charts and labels, for the template."""
    return {
        "by_status": bar_chart(title="Open tickets by status", tallies=report.open_by_status, tones=STATUS_TONES),
        "by_priority": bar_chart(
            title="Open tickets by priority", tallies=report.open_by_priority, tones=PRIORITY_TONES
        ),
        "by_category": bar_chart(
            title="Open tickets by category", tallies=report.open_by_category, tones=CATEGORY_TONES
        ),
        "daily": daily_chart(days=report.days),
        "first_response_median": duration_text(report.first_response_median),
        "resolution_median": duration_text(report.resolution_median),
    }
