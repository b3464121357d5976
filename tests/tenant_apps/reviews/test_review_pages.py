"""Review pages: the rating form on the ticket and its own page, the client admin's CSAT page
(maths, chart, query count) and the service review."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.feedback.csat import Csat
from shared_apps.feedback.models import ServiceReview
from tenant_apps.reviews.models import Review
from tenant_apps.reviews.selectors import csat_report_for
from tenant_apps.reviews.services import review_submit
from tenant_apps.tickets.models import Category
from tests.conftest import ACME_HOST, GLOBEX_HOST, http


@pytest.mark.parametrize(
    ("total", "satisfied", "share", "text"),
    [
        (0, 0, None, "—"),
        (6, 3, 50, "50%"),
        (3, 2, 67, "67%"),
        (8, 1, 13, "13%"),
        (200, 1, 1, "1%"),
        (7, 7, 100, "100%"),
    ],
)
def test_csat_is_the_share_of_4_and_5_ratings_rounded_half_up(total, satisfied, share, text):
    assert Csat(total, satisfied).share == share and Csat(total, satisfied).share_text == text
    assert Csat(8, 1).share == 13  # 12.5 -> 13, not banker's 12


def _rate(ticket, user, rating, *, when=None, comment=""):
    review = review_submit(ticket=ticket, actor=user, rating=rating, comment=comment)
    if when:
        Review.objects.filter(pk=review.pk).update(created_at=when, updated_at=when)
    return review


def test_csat_report_overall_by_month_and_by_category(acme, users, resolve):
    connection.set_tenant(acme)
    network, email = Category.objects.get(slug="network"), Category.objects.get(slug="email")
    staff = users["acme_staff"]
    now = timezone.now()
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(hour=12)
    for rating, category, when in [
        (5, network, None), (4, network, None), (1, network, None),
        (5, email, last_month), (2, email, last_month), (3, None, last_month),
    ]:  # fmt: skip
        _rate(resolve(acme, requester=staff, category=category), staff, rating, when=when)
    report = csat_report_for(user=users["acme_admin"], role="admin")
    assert (report.overall.total, report.overall.satisfied, report.overall.share) == (6, 3, 50)
    assert report.overall.average_text == "3.3"
    assert report.ratings == [(5, 2), (4, 1), (3, 1), (2, 1), (1, 1)]
    assert len(report.months) == 12 and report.months[-1].month == timezone.localdate().replace(day=1)
    assert (report.months[-1].csat.total, report.months[-1].csat.share) == (3, 67)
    assert (report.months[-2].csat.total, report.months[-2].csat.share) == (3, 33)
    assert all(m.csat.total == 0 and m.csat.share is None for m in report.months[:-2])
    assert {c.name: (c.csat.total, c.csat.share) for c in report.categories} == {
        "Network": (3, 67), "Email": (2, 50), "Not set": (1, 0),
    }  # fmt: skip
    assert [r.rating for r in report.low] == [1, 2]
    assert csat_report_for(user=users["acme_staff"], role="staff") is None


def test_months_follow_the_viewers_timezone(acme, users, resolve):
    """A rating given at 23:30 UTC on the last day of a month is next month in Tokyo."""
    connection.set_tenant(acme)
    staff = users["acme_staff"]
    today = timezone.localdate()
    first = today.replace(day=1)
    edge = datetime(first.year, first.month, 1, tzinfo=UTC) - timedelta(minutes=30)
    _rate(resolve(acme), staff, 5, when=edge)
    utc = csat_report_for(user=users["acme_admin"], role="admin")
    assert (utc.months[-2].csat.total, utc.months[-1].csat.total) == (1, 0)
    with timezone.override("Asia/Tokyo"):
        tokyo = csat_report_for(user=users["acme_admin"], role="admin")
    assert (tokyo.months[-2].csat.total, tokyo.months[-1].csat.total) == (0, 1)


def test_csat_page_shows_the_figures_and_a_server_drawn_chart(acme, users, resolve):
    connection.set_tenant(acme)
    for rating in (5, 4, 4, 2):
        _rate(resolve(acme), users["acme_staff"], rating, comment="slow" if rating == 2 else "")
    connection.set_schema_to_public()
    page = http(ACME_HOST, users["acme_admin"]).get("/reports/satisfaction/").content.decode()
    assert '<p class="fs-2 fw-semibold mb-0" data-testid="csat-share">75%</p>' in page
    assert "3 of 4 ratings were 4 or 5" in page
    assert 'role="img" aria-label="Share of 4 and 5 ratings per month:' in page and "75% satisfied of 4" in page
    assert "slow" in page  # the low rating to follow up
    main = page.split("<main")[1].split("</main>")[0]
    assert "<script" not in main and " on" + "click" not in main


@pytest.mark.parametrize(("who", "status"), [("acme_admin", 200), ("acme_staff", 403), ("engineer_acme", 403),
                                             ("globex_admin", 404), ("outsider", 404)])  # fmt: skip
def test_csat_and_service_review_pages_per_role(acme, users, who, status):
    for path in ("/reports/satisfaction/", "/service-review/"):
        assert http(ACME_HOST, users[who]).get(path).status_code == status, (who, path)


def _count(client, path) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_csat_page_costs_the_same_queries_for_3_or_40_reviews(acme, users, resolve):
    admin = http(ACME_HOST, users["acme_admin"])
    connection.set_tenant(acme)
    for n in range(3):
        _rate(resolve(acme), users["acme_staff"], 1 + n % 5)
    connection.set_schema_to_public()
    few = _count(admin, "/reports/satisfaction/")
    # search_path, session, user, role (engineer check + membership), overall with the 1-5
    # counts, months, categories, the latest low ratings with their tickets and requesters
    assert few == 9
    connection.set_tenant(acme)
    for n in range(37):
        _rate(resolve(acme), users["acme_staff"], 1 + n % 5, comment=f"n{n}")
    connection.set_schema_to_public()
    assert _count(admin, "/reports/satisfaction/") == few


def test_the_requester_rates_from_the_ticket_page(acme, users, resolve):
    ticket = resolve(acme)
    connection.set_schema_to_public()
    staff = http(ACME_HOST, users["acme_staff"])
    page = staff.get(f"/tickets/{ticket.number}/").content.decode()
    assert "How did we do on this ticket?" in page and f'action="/tickets/{ticket.number}/review/"' in page
    response = staff.post(f"/tickets/{ticket.number}/review/", {"rating": "2", "comment": "Slow <b>answer</b>"})
    assert response.status_code == 302
    page = staff.get(f"/tickets/{ticket.number}/").content.decode()
    assert "Your rating" in page and "Update rating" in page
    engineer_page = http(ACME_HOST, users["engineer_all"]).get(f"/tickets/{ticket.number}/").content.decode()
    assert "Requester's rating" in engineer_page and "2/5" in engineer_page
    assert "Slow &lt;b&gt;answer&lt;/b&gt;" in engineer_page  # plain text, escaped
    assert 'name="rating"' not in engineer_page


@pytest.mark.parametrize(("who", "status"), [("acme_staff", 200), ("acme_admin", 403), ("engineer_all", 403),
                                             ("globex_staff", 404), ("outsider", 404)])  # fmt: skip
def test_review_page_per_role(acme, users, resolve, who, status):
    ticket = resolve(acme)
    connection.set_schema_to_public()
    assert http(ACME_HOST, users[who]).get(f"/tickets/{ticket.number}/review/").status_code == status


def test_review_page_refuses_a_bad_rating_and_keeps_the_comment(acme, users, resolve):
    ticket = resolve(acme)
    connection.set_schema_to_public()
    response = http(ACME_HOST, users["acme_staff"]).post(f"/tickets/{ticket.number}/review/", {"comment": "meh"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode() and ">meh</textarea>" in response.content.decode()


def test_a_colleague_with_the_ticket_shared_cannot_rate_it(acme, users, resolve):
    from tenant_apps.tickets import services

    ticket = resolve(acme)
    services.ticket_share(ticket=ticket, actor=users["acme_staff"], role="staff", colleague=users["acme_admin"])
    connection.set_schema_to_public()
    response = http(ACME_HOST, users["acme_admin"]).post(f"/tickets/{ticket.number}/review/", {"rating": "5"})
    assert response.status_code == 403
    connection.set_tenant(acme)
    assert not Review.objects.exists()


def test_client_admin_leaves_one_service_review_per_quarter(acme, globex, users):
    admin = http(ACME_HOST, users["acme_admin"])
    assert (
        admin.post("/service-review/", {"rating": "4", "body": "Quick answers, slow on hardware."}).status_code == 302
    )
    assert admin.post("/service-review/", {"rating": "3", "body": "Hardware still slow."}).status_code == 302
    review = ServiceReview.objects.get(client=acme)
    assert (review.rating, review.body, review.author) == (3, "Hardware still slow.", users["acme_admin"])
    page = admin.get("/service-review/").content.decode()
    assert "Hardware still slow." in page
    assert "Earlier reviews" not in page  # this quarter's review is the form, not history
    earlier = ServiceReview.objects.create(
        client=acme,
        period="2000-Q1",
        author=users["acme_admin"],
        rating=5,
        body="Back in 2000.",
        created_at=review.created_at,
        updated_at=review.updated_at,
    )
    page = admin.get("/service-review/").content.decode()
    assert "Earlier reviews" in page
    assert page.count("Hardware still slow.") == 1
    assert "Back in 2000." in page
    earlier.delete()
    assert admin.post("/service-review/", {"rating": "3", "body": "  "}).status_code == 400
    assert (
        http(ACME_HOST, users["acme_staff"]).post("/service-review/", {"rating": "1", "body": "x"}).status_code == 403
    )
    assert (
        http(GLOBEX_HOST, users["acme_admin"]).post("/service-review/", {"rating": "1", "body": "x"}).status_code == 404
    )
    assert ServiceReview.objects.count() == 1


def test_after_7_days_the_review_page_shows_the_rating_without_a_form(acme, users, resolve):
    from datetime import timedelta

    ticket = resolve(acme)
    review = review_submit(ticket=ticket, actor=users["acme_staff"], rating=4, comment="Good")
    Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(days=8))
    connection.set_schema_to_public()
    staff = http(ACME_HOST, users["acme_staff"])
    page = staff.get(f"/tickets/{ticket.number}/review/").content.decode()
    assert "You rated it <strong>4/5</strong>" in page and 'name="rating"' not in page
    response = staff.post(f"/tickets/{ticket.number}/review/", {"rating": "1"})
    assert response.status_code == 400 and "this one was given on" in response.content.decode()
    connection.set_tenant(acme)
    assert Review.objects.get().rating == 4
