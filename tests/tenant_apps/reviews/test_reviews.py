"""Ticket reviews: asked on resolution (email + banner), one per ticket, editable for 7 days,
low ratings reported, and the public index kept equal to the reviews in the same transaction."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from shared_apps.feedback.models import ReviewIndex
from shared_apps.feedback.services import review_index_differences, review_index_row
from tenant_apps.profiles.services import notification_preferences_set
from tenant_apps.reviews.models import Review
from tenant_apps.reviews.services import review_submit
from tenant_apps.tickets import services
from tests.conftest import ACME_HOST, http


def _to(outbox) -> set[str]:
    return {address for email in outbox for address in email.to}


def test_resolving_asks_the_requester_by_email_after_commit(acme, users, resolve, notify):
    with notify() as outbox:
        ticket = resolve(acme)
    asks = [m for m in outbox if "How did we do?" in m.subject]
    assert len(asks) == 1 and asks[0].to == [users["acme_staff"].email]
    assert f"http://acme.tenantdesk.localhost/tickets/{ticket.number}/review/" in asks[0].body


def test_no_email_when_the_requester_turned_it_off(acme, users, resolve, notify):
    connection.set_tenant(acme)
    notification_preferences_set(user=users["acme_staff"], enabled=["reply", "status"])
    with notify() as outbox:
        resolve(acme)
    assert not [m for m in outbox if "How did we do?" in m.subject]


def test_the_banner_asks_the_requester_only_until_they_rate(acme, users, resolve):
    ticket = resolve(acme)
    connection.set_schema_to_public()
    staff = http(ACME_HOST, users["acme_staff"])
    link = f'href="/tickets/{ticket.number}/review/"'
    assert link in staff.get("/tickets/").content.decode()
    for other in ("acme_admin", "engineer_all"):
        assert link not in http(ACME_HOST, users[other]).get("/tickets/").content.decode()
    assert staff.post(f"/tickets/{ticket.number}/review/", {"rating": "5", "comment": ""}).status_code == 302
    assert link not in staff.get("/tickets/").content.decode()  # the cached banner was dropped


def test_reopening_takes_the_ticket_off_the_banner(acme, users, resolve):
    ticket = resolve(acme)
    staff = http(ACME_HOST, users["acme_staff"])
    connection.set_schema_to_public()
    assert f"Rate ACME-{ticket.number}" in staff.get("/").content.decode()
    connection.set_tenant(acme)
    services.ticket_transition(ticket=ticket, actor=users["acme_staff"], role="staff", new_status="open")
    connection.set_schema_to_public()
    assert f"Rate ACME-{ticket.number}" not in staff.get("/").content.decode()


def test_one_review_per_ticket_edited_in_place(acme, users, resolve):
    ticket = resolve(acme)
    first = review_submit(ticket=ticket, actor=users["acme_staff"], rating=3, comment="ok")
    second = review_submit(ticket=ticket, actor=users["acme_staff"], rating=5, comment="  great after all ")
    assert first.pk == second.pk and Review.objects.count() == 1
    assert (second.rating, second.comment) == (5, "great after all")
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(ticket=ticket, requester=users["acme_staff"], rating=1, created_at=timezone.now(),
                              updated_at=timezone.now())  # fmt: skip


def test_a_review_is_editable_for_7_days_only(acme, users, resolve):
    ticket = resolve(acme)
    review = review_submit(ticket=ticket, actor=users["acme_staff"], rating=4)
    Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(days=6, hours=23))
    review_submit(ticket=ticket, actor=users["acme_staff"], rating=5)
    Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(days=7, minutes=1))
    with pytest.raises(ValidationError, match="can be changed for 7 days"):
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=1)
    assert Review.objects.get().rating == 5


@pytest.mark.parametrize(
    ("who", "problem"),
    [("acme_admin", PermissionDenied), ("engineer_all", PermissionDenied), ("acme_staff", None)],
)
def test_only_the_requester_rates(acme, users, resolve, who, problem):
    ticket = resolve(acme)
    if problem:
        with pytest.raises(problem):
            review_submit(ticket=ticket, actor=users[who], rating=5)
    else:
        assert review_submit(ticket=ticket, actor=users[who], rating=5).rating == 5


def test_unresolved_tickets_and_bad_ratings_are_refused(acme, users, resolve):
    connection.set_tenant(acme)
    open_ticket = services.ticket_create(requester=users["acme_staff"], subject="Open", description="<p>x</p>")
    with pytest.raises(ValidationError, match="once it is resolved"):
        review_submit(ticket=open_ticket, actor=users["acme_staff"], rating=5)
    ticket = resolve(acme)
    for bad in (0, 6, "five", None):
        with pytest.raises(ValidationError, match="from 1"):
            review_submit(ticket=ticket, actor=users["acme_staff"], rating=bad)
    with pytest.raises(ValidationError, match="at most 2,000"):
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=4, comment="x" * 2001)
    type(ticket).objects.filter(pk=ticket.pk).update(resolved_at=timezone.now() - timedelta(days=31))
    with pytest.raises(ValidationError, match="30 days"):
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=4)


def test_a_low_rating_tells_the_client_admin_and_the_engineer_once(acme, users, resolve, notify):
    ticket = resolve(acme)
    with notify() as outbox:
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=2, comment="Took a week")
    assert _to(outbox) == {users["acme_admin"].email, users["engineer_all"].email}
    assert "Rated 2/5" in outbox[0].subject and "Took a week" in outbox[0].body
    with notify() as outbox:
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=1, comment="Still broken")
    assert outbox == []  # already reported as low


def test_a_good_rating_tells_nobody_but_a_later_drop_does(acme, users, resolve, notify):
    ticket = resolve(acme)
    with notify() as outbox:
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=4)
    assert outbox == []
    with notify() as outbox:
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=1)
    assert _to(outbox) == {users["acme_admin"].email, users["engineer_all"].email}


def test_low_rating_email_respects_preferences_and_needs_a_commit(acme, users, resolve, notify):
    ticket = resolve(acme)
    connection.set_tenant(acme)
    notification_preferences_set(user=users["acme_admin"], enabled=[])
    with notify() as outbox:
        with pytest.raises(RuntimeError), transaction.atomic():
            review_submit(ticket=ticket, actor=users["acme_staff"], rating=1)
            raise RuntimeError("rolled back")
    assert outbox == [] and not Review.objects.exists()
    with notify() as outbox:
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=1)
    assert _to(outbox) == {users["engineer_all"].email}


def test_the_index_row_is_written_with_the_review_and_follows_edits(acme, users, resolve):
    ticket = resolve(acme)
    review = review_submit(ticket=ticket, actor=users["acme_staff"], rating=3, comment="fine")
    row = ReviewIndex.objects.get(client=acme, review_pk=review.pk)
    expected = review_index_row(review, client_id=acme.pk)
    fields = ["ticket_number", "ticket_subject", "category_slug", "requester_id", "engineer_id", "rating", "comment"]
    assert [getattr(row, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert row.engineer_id == users["engineer_all"].pk
    review_submit(ticket=ticket, actor=users["acme_staff"], rating=5, comment="better")
    row.refresh_from_db()
    assert (row.rating, row.comment) == (5, "better")
    assert ReviewIndex.objects.filter(client=acme).count() == 1


def test_a_rolled_back_review_leaves_no_index_row(acme, users, resolve):
    ticket = resolve(acme)
    with pytest.raises(RuntimeError), transaction.atomic():
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=4)
        assert ReviewIndex.objects.filter(client=acme).count() == 1
        raise RuntimeError("boom")
    assert not ReviewIndex.objects.filter(client=acme).exists()


def test_index_rows_never_mix_sites(acme, globex, users, resolve):
    a = resolve(acme)
    review_submit(ticket=a, actor=users["acme_staff"], rating=4)
    g = resolve(globex)
    review_submit(ticket=g, actor=users["globex_staff"], rating=2)
    assert sorted(ReviewIndex.objects.values_list("client__subdomain", "rating")) == [("acme", 4), ("globex", 2)]


def test_index_agrees_with_the_sites_after_many_writes_and_spots_drift(acme, globex, users, resolve):
    for n in range(4):
        ticket = resolve(acme, subject=f"T{n}")
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=1 + n, comment=f"c{n}")
        review_submit(ticket=ticket, actor=users["acme_staff"], rating=5 - n)
    review_submit(ticket=resolve(globex), actor=users["globex_staff"], rating=3)
    connection.set_schema_to_public()
    assert review_index_differences(client=acme) == [] and review_index_differences(client=globex) == []
    row = ReviewIndex.objects.filter(client=acme).first()
    ReviewIndex.objects.filter(pk=row.pk).update(rating=1 if row.rating != 1 else 2)
    assert [p for p in review_index_differences(client=acme) if "rating: index" in p] != []
