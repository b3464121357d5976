"""The client admin's report: exact numbers on a crafted data set, who may see it, what it costs."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tenant_apps.tickets import services
from tenant_apps.tickets.charts import axis_top, bar_chart, daily_chart, duration_text
from tenant_apps.tickets.models import Category, Ticket
from tenant_apps.tickets.reports import DayCount, Tally, report_window_start, ticket_report_for
from tests.conftest import ACME_HOST, http

S = Ticket.Status
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme


@pytest.fixture
def noon() -> datetime:
    """The report's "now": midday today, so "n days ago" never crosses a midnight by accident."""
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(12)))


def _ticket(requester, *, priority="", category=None, status=S.NEW, created, responded=None, resolved=None, **flags):
    """A ticket made by the service, then moved in time (and status) directly."""
    ticket = services.ticket_create(
        requester=requester,
        subject="Crafted",
        description="x",
        priority=priority,
        category=Category.objects.get(slug=category) if category else None,
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        status=status, created_at=created, first_responded_at=responded, resolved_at=resolved, **flags
    )
    return ticket


@pytest.fixture
def crafted(in_acme, users, noon):
    """Eight acme tickets; six created within the 30 days (A-F), two before (G, H)."""
    r = users["acme_staff"]
    # A: urgent network, new, never answered, first response breached
    _ticket(r, priority="urgent", category="network", created=noon - DAY, first_response_breached=True)
    # B: high network, open, answered in 30 min
    _ticket(
        r,
        priority="high",
        category="network",
        status=S.OPEN,
        created=noon - 2 * DAY,
        responded=noon - 2 * DAY + 30 * MINUTE,
    )
    # C: high hardware, pending, answered in 90 min, first response breached
    _ticket(
        r,
        priority="high",
        category="hardware",
        status=S.PENDING,
        created=noon - 3 * DAY,
        responded=noon - 3 * DAY + 90 * MINUTE,
        first_response_breached=True,
    )
    # D: low software, resolved in 10 h (answered in 60 min), resolution breached
    _ticket(
        r,
        priority="low",
        category="software",
        status=S.RESOLVED,
        created=noon - 5 * DAY,
        responded=noon - 5 * DAY + 60 * MINUTE,
        resolved=noon - 5 * DAY + 10 * HOUR,
        resolution_breached=True,
    )
    # E: medium, no category, resolved in 2 h then closed (answered in 20 min)
    _ticket(
        r,
        priority="medium",
        status=S.CLOSED,
        created=noon - 10 * DAY,
        responded=noon - 10 * DAY + 20 * MINUTE,
        resolved=noon - 10 * DAY + 2 * HOUR,
    )
    # F: no priority (so no SLA target), open, answered in 45 min
    _ticket(r, status=S.OPEN, created=noon - 4 * DAY, responded=noon - 4 * DAY + 45 * MINUTE)
    # G: created 40 days ago, resolved yesterday: in the daily series, not in the medians
    _ticket(
        r,
        priority="medium",
        status=S.RESOLVED,
        created=noon - 40 * DAY,
        responded=noon - 40 * DAY + 5 * MINUTE,
        resolved=noon - DAY,
        resolution_breached=True,
    )
    # H: urgent network, open for 45 days: open now, outside the 30 days
    _ticket(
        r,
        priority="urgent",
        category="network",
        status=S.OPEN,
        created=noon - 45 * DAY,
        responded=noon - 45 * DAY + MINUTE,
    )


def _tallies(tallies):
    return [(t.label, t.count) for t in tallies]


def test_report_numbers_on_a_crafted_site(crafted, in_acme, users, noon, globex):
    report = ticket_report_for(user=users["acme_admin"], role="admin", now=noon)
    assert report.since == report_window_start(now=noon)
    assert timezone.localtime(report.since).time() == time(0)
    assert timezone.localdate(report.since) == timezone.localdate(noon) - timedelta(days=29)

    assert report.open_total == 5  # A, B, C, F, H
    assert _tallies(report.open_by_status) == [("New", 1), ("Open", 3), ("Waiting on requester", 1)]
    assert _tallies(report.open_by_priority) == [("Urgent", 2), ("High", 2), ("Medium", 0), ("Low", 0), ("Not set", 1)]
    assert _tallies(report.open_by_category) == [("Network", 3), ("Hardware", 1), ("Not set", 1)]

    assert report.created == 6  # A-F
    assert report.responded == 5
    assert report.first_response_median == 45 * MINUTE  # of 20, 30, 45, 60, 90 min; A's NULL skipped
    assert report.resolved == 2
    assert report.resolution_median == 6 * HOUR  # halfway between 2 h and 10 h
    fr, res = report.first_response_sla, report.resolution_sla
    assert (fr.total, fr.breached, fr.met, fr.percent) == (5, 2, 3, 60.0)  # F has no target
    assert (res.total, res.breached, res.met, res.percent) == (5, 1, 4, 80.0)  # G is older than 30 days

    assert len(report.days) == 30
    assert report.days[0].day == timezone.localdate(noon) - timedelta(days=29)
    assert report.days[-1].day == timezone.localdate(noon)
    opened = {29 - i: d.opened for i, d in enumerate(report.days) if d.opened}  # days ago -> count
    resolved = {29 - i: d.resolved for i, d in enumerate(report.days) if d.resolved}
    assert opened == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 10: 1}
    assert resolved == {1: 1, 5: 1, 10: 1}  # G yesterday, D and E on their creation day

    # Another site's tickets are in another schema: they change nothing here.
    connection.set_tenant(globex)
    services.ticket_create(requester=users["globex_staff"], subject="Globex", description="x", priority="urgent")
    connection.set_tenant(in_acme)
    assert ticket_report_for(user=users["acme_admin"], role="admin", now=noon).open_total == 5


def test_report_of_a_site_without_tickets(in_acme, users):
    report = ticket_report_for(user=users["acme_admin"], role="admin")
    assert report.open_total == 0 and report.open_by_category == []
    assert report.first_response_median is None and report.resolution_median is None
    assert report.first_response_sla.percent is None and report.resolution_sla.percent is None
    assert [(d.opened, d.resolved) for d in report.days] == [(0, 0)] * 30


def test_report_counts_only_what_the_role_may_see(crafted, users, noon):
    assert ticket_report_for(user=users["acme_staff"], role="staff", now=noon).open_total == 5  # all are theirs
    assert ticket_report_for(user=users["acme_admin"], role="staff", now=noon).open_total == 0
    assert ticket_report_for(user=users["outsider"], role=None, now=noon).created == 0


# --- drawing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "top"), [(0, 2), (1, 2), (3, 4), (10, 10), (11, 12), (13, 20), (27, 30), (95, 100), (101, 120)]
)
def test_axis_top_is_round_and_even(value, top):
    assert axis_top(value) == top


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (timedelta(seconds=20), "under 1 min"),
        (45 * MINUTE, "45 min"),
        (6 * HOUR, "6 h"),
        (3 * HOUR + 20 * MINUTE, "3 h 20 min"),
        (2 * DAY + 5 * HOUR + 10 * MINUTE, "2 d 5 h"),
    ],
)
def test_duration_text(value, text):
    assert duration_text(value) == text


def test_bar_chart_scales_to_the_largest_count_and_says_it_in_words():
    chart = bar_chart(title="Open tickets by status", tallies=[Tally("new", "New", 4), Tally("open", "Open", 1)])
    assert [bar.width for bar in chart.bars] == [340, 85]
    assert chart.summary == "Open tickets by status: New 4, Open 1."


def test_daily_chart_bars_and_labels():
    first = date(2025, 3, 1)
    days = [DayCount(first + timedelta(days=n), n % 3, 1 if n == 29 else 0) for n in range(30)]
    chart = daily_chart(days=days)
    assert (chart.y_max, chart.y_mid) == (2, 1)
    assert chart.columns[2].opened_height == 100 and chart.columns[2].opened_y == 0
    assert chart.columns[29].resolved_height == 50
    assert [label.text for label in chart.x_labels] == ["1 Mar", "8 Mar", "15 Mar", "22 Mar", "29 Mar"]
    assert chart.columns[0].tooltip == "Sat 1 Mar: 0 opened, 0 resolved"


# --- the page ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("acme_admin", 200),
        ("acme_staff", 403),
        ("engineer_acme", 403),
        ("engineer_all", 403),
        ("globex_admin", 404),
        ("outsider", 404),
    ],
)
def test_report_page_per_role(users, who, status):
    assert http(ACME_HOST, users[who]).get("/reports/").status_code == status


def test_report_page_sends_strangers_to_login():
    response = http(ACME_HOST).get("/reports/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_report_page_shows_the_numbers_and_accessible_charts(crafted, users):
    page = http(ACME_HOST, users["acme_admin"]).get("/reports/").content.decode()
    # The view's "now" is the real one: A-F are within 30 days whatever the hour.
    for text in ("45 min", "6 h", "60%", "3 of 5 tickets on target · 2 breached", "80%", "Not set"):
        assert text in page, text
    assert 'role="img" aria-label="Open tickets by status: New 1, Open 3, Waiting on requester 1."' in page
    assert 'aria-label="Open tickets by category: Network 3, Hardware 1, Not set 1."' in page
    assert "Tickets opened and resolved per day, last 30 days: 6 opened, 3 resolved." in page
    assert page.count("<tr><td>") == 30  # the numbers behind the daily chart, as a table
    assert "<script" not in page.split("<main")[1].split("</main>")[0]


def test_navbar_links_reports_for_client_admins_only(users):
    assert 'href="/reports/"' in http(ACME_HOST, users["acme_admin"]).get("/").content.decode()
    for who in ("acme_staff", "engineer_acme"):
        assert 'href="/reports/"' not in http(ACME_HOST, users[who]).get("/").content.decode()


def _count_queries(client, path) -> int:
    client.get(path)  # warm: the host -> site lookup is cached after the first request
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def _tickets(users, acme, count):
    """`count` more tickets of mixed status, priority and category, all within the 30 days."""
    connection.set_tenant(acme)
    now = timezone.now()
    for n in range(count):
        _ticket(
            users["acme_staff"],
            priority=("low", "high", "")[n % 3],
            category=("network", None)[n % 2],
            status=(S.NEW, S.OPEN, S.RESOLVED)[n % 3],
            created=now - n * HOUR,
            responded=now - n * HOUR + MINUTE,
            resolved=now if n % 3 == 2 else None,
        )
    connection.set_schema_to_public()


def test_report_costs_the_same_queries_for_5_or_55_tickets(users, acme):
    client = http(ACME_HOST, users["acme_admin"])
    _tickets(users, acme, 5)
    few = _count_queries(client, "/reports/")
    # search_path, session, user, role (engineer coverage, membership); the report: open tickets
    # grouped, 30-day aggregates, opened per day, resolved per day; the AI card: site settings,
    # plan, tokens used this month
    assert few == 12
    _tickets(users, acme, 50)
    assert _count_queries(client, "/reports/") == few
