"""Announcements: who posts to which sites, the window, dismissal per person, and the pages on
the root domain."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shared_apps.publishing import services
from shared_apps.publishing.models import Announcement, AnnouncementDismissal
from shared_apps.publishing.selectors import banners_for
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http

NOW = timezone.now


def _announce(users, *, who="platform", title="Mail server maintenance tonight", **kwargs):
    kwargs.setdefault("ends_at", NOW() + timedelta(hours=2))
    role = "platform" if who == "platform" else "engineer"
    return services.announcement_create(actor=users[who], role=role, title=title, body="<p>From 22:00.</p>", **kwargs)


def _home(user, host=ACME_HOST) -> str:
    return http(host, user).get("/").content.decode()


def test_an_announcement_for_all_sites_shows_on_every_site_for_everyone(users):
    _announce(users, all_sites=True, severity="critical")
    for who, host in (("acme_staff", ACME_HOST), ("acme_admin", ACME_HOST), ("engineer_acme", ACME_HOST),
                      ("globex_staff", GLOBEX_HOST)):  # fmt: skip
        page = _home(users[who], host)
        assert "Mail server maintenance tonight" in page and "alert-danger" in page, who
    # ...on every page of the site, the new-ticket form included, but not on the root domain.
    assert "Mail server maintenance" in http(ACME_HOST, users["acme_staff"]).get("/tickets/new/").content.decode()
    assert "Mail server maintenance" not in http(ROOT, users["engineer_all"]).get("/").content.decode()


def test_an_announcement_shows_only_on_the_sites_it_addresses(users, acme):
    _announce(users, sites=[acme])
    assert "Mail server maintenance" in _home(users["acme_staff"])
    assert "Mail server maintenance" not in _home(users["globex_staff"], GLOBEX_HOST)
    assert "Mail server maintenance" not in _home(users["engineer_all"], GLOBEX_HOST)


def test_an_announcement_shows_only_during_its_window(users, acme):
    announcement = _announce(
        users, sites=[acme], starts_at=NOW() + timedelta(hours=1), ends_at=NOW() + timedelta(hours=3)
    )
    staff = users["acme_staff"]
    assert "Mail server maintenance" not in _home(staff)  # scheduled
    assert [b.pk for b in banners_for(user=staff, client=acme, now=NOW() + timedelta(hours=2))] == [announcement.pk]
    assert banners_for(user=staff, client=acme, now=NOW() + timedelta(hours=4)) == []  # over


def test_ending_now_takes_it_off_the_sites(users, acme):
    announcement = _announce(users, sites=[acme])
    assert "Mail server maintenance" in _home(users["acme_staff"])
    response = http(ROOT, users["platform"]).post(f"/announcements/{announcement.pk}/end/")
    assert response.status_code == 302
    assert "Mail server maintenance" not in _home(users["acme_staff"])
    announcement.refresh_from_db()
    assert announcement.ends_at <= NOW()


def test_a_change_made_elsewhere_shows_at_once_even_with_a_stale_cache(users, acme):
    """Another process (a second web worker without a shared cache) ends or edits an announcement:
    this process still holds the old list, yet shows the announcement as the database has it."""
    announcement = _announce(users, sites=[acme])
    assert "Mail server maintenance" in _home(users["acme_staff"])  # now cached here
    Announcement.objects.filter(pk=announcement.pk).update(title="Mail maintenance moved to Sunday")
    page = _home(users["acme_staff"])
    assert "Mail maintenance moved to Sunday" in page and "tonight" not in page
    ended = {"starts_at": NOW() - timedelta(minutes=2), "ends_at": NOW() - timedelta(seconds=1)}
    Announcement.objects.filter(pk=announcement.pk).update(**ended)
    assert "Mail maintenance" not in _home(users["acme_staff"])


def test_ending_a_scheduled_announcement_keeps_a_valid_window(users, acme):
    announcement = _announce(
        users, sites=[acme], starts_at=NOW() + timedelta(days=1), ends_at=NOW() + timedelta(days=2)
    )
    services.announcement_end(announcement=announcement, actor=users["platform"], role="platform")
    announcement.refresh_from_db()
    assert announcement.starts_at < announcement.ends_at <= NOW()
    assert announcement.state() == "ended"


def test_dismissed_by_one_person_only(users, acme):
    announcement = _announce(users, sites=[acme])
    staff = http(ACME_HOST, users["acme_staff"])
    response = staff.post(f"/announcements/{announcement.pk}/dismiss/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.content == b""  # htmx removes the banner
    assert "Mail server maintenance" not in _home(users["acme_staff"])
    assert "Mail server maintenance" in _home(users["acme_admin"])
    # Without JavaScript: back to the page it came from (never to another host).
    admin = http(ACME_HOST, users["acme_admin"])
    response = admin.post(f"/announcements/{announcement.pk}/dismiss/", {"next": "/tickets/"})
    assert response.status_code == 302 and response["Location"] == "/tickets/"
    again = staff.post(f"/announcements/{announcement.pk}/dismiss/", {"next": "https://evil.example/"})
    assert again["Location"] == "/"
    assert AnnouncementDismissal.objects.filter(announcement=announcement).count() == 2


def test_dismissing_an_announcement_not_shown_on_this_site_is_404(users, acme, globex):
    theirs = _announce(users, sites=[globex])
    ended = _announce(users, sites=[acme], starts_at=NOW() - timedelta(hours=2), ends_at=NOW() - timedelta(hours=1))
    for announcement in (theirs, ended):
        response = http(ACME_HOST, users["acme_staff"]).post(f"/announcements/{announcement.pk}/dismiss/")
        assert response.status_code == 404
    # ...and a user of another site cannot reach the endpoint at all.
    shown = _announce(users, sites=[acme])
    assert http(ACME_HOST, users["globex_staff"]).post(f"/announcements/{shown.pk}/dismiss/").status_code == 404
    assert not AnnouncementDismissal.objects.exists()


def test_the_body_is_sanitized(users, acme):
    services.announcement_create(
        actor=users["platform"], role="platform", title="XSS",
        body='<p onmouseover="x()">Hi<script>alert(1)</script></p>', ends_at=NOW() + timedelta(hours=1), sites=[acme],
    )  # fmt: skip
    page = _home(users["acme_staff"])
    assert "<p>Hi</p>" in page and "alert(1)" not in page and "x()" not in page


# --- who may address which sites -----------------------------------------------------------


def test_an_engineer_addresses_only_the_sites_they_cover(users, acme, globex):
    form = http(ROOT, users["engineer_acme"]).get("/announcements/new/").content.decode()
    assert "Acme Corp" in form and "Globex" not in form and 'name="all_sites"' not in form
    with pytest.raises(Exception) as refused:
        _announce(users, who="engineer_acme", sites=[globex])
    assert "sites you cover" in str(refused.value)
    with pytest.raises(Exception) as refused:
        _announce(users, who="engineer_acme", all_sites=True)
    assert "sites you cover" in str(refused.value)
    assert _announce(users, who="engineer_acme", sites=[acme]).sites.get() == acme


def test_an_engineer_posting_another_site_by_hand_is_refused(users, acme, globex):
    client = http(ROOT, users["engineer_acme"])
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    end = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "Hi", "body": "", "severity": "info", "starts_at": start, "ends_at": end, "sites": [globex.pk]}
    response = client.post("/announcements/new/", data)
    assert response.status_code == 400 and not Announcement.objects.exists()
    response = client.post("/announcements/new/", {**data, "sites": [acme.pk]})
    assert response.status_code == 302 and Announcement.objects.get().sites.get() == acme


def test_engineers_see_what_reaches_their_sites_and_manage_only_what_stays_within_them(users, acme, globex):
    mine = _announce(users, title="Acme only", sites=[acme])
    both = _announce(users, title="Acme and Globex", sites=[acme, globex])
    every = _announce(users, title="Everyone", all_sites=True)
    _announce(users, title="Globex only", sites=[globex])
    narrow = http(ROOT, users["engineer_acme"])
    response = narrow.get("/announcements/")
    page = response.content.decode()
    # What shows on Acme is listed, "all sites" included; a notice for Globex alone is not.
    assert [a.title for a in response.context["announcements"]] == ["Everyone", "Acme and Globex", "Acme only"]
    assert "Globex only" not in page
    # ...and another client's name never shows: the sites it does not cover are only counted.
    assert "Globex" not in page.replace("Acme and Globex", "")
    assert "Acme Corp and 1 other site" in page and "Every site" in page
    rows = {a.title: a for a in response.context["announcements"]}
    assert (rows["Acme only"].can_manage, rows["Acme and Globex"].can_manage, rows["Everyone"].can_manage) == (
        True, False, False)  # fmt: skip
    assert f'href="/announcements/{mine.pk}/edit/"' in page and f'action="/announcements/{mine.pk}/end/"' in page
    for hidden in (both, every):
        assert f"/announcements/{hidden.pk}/" not in page  # no edit link, no "End now"
        assert narrow.get(f"/announcements/{hidden.pk}/edit/").status_code == 404
        assert narrow.post(f"/announcements/{hidden.pk}/end/").status_code == 404
    assert page.count("read only") == 2
    wide = http(ROOT, users["engineer_all"]).get("/announcements/")
    assert all(a.can_manage for a in wide.context["announcements"]) and len(wide.context["announcements"]) == 4
    assert "read only" not in wide.content.decode() and "Acme Corp, Globex" in wide.content.decode()


@pytest.mark.parametrize("who", ["acme_admin", "acme_staff", "outsider"])
def test_client_users_cannot_reach_the_publishing_pages(users, who):
    client = http(ROOT, users[who])
    for path in ("/announcements/", "/announcements/new/", "/kb/", "/kb/new/"):
        assert client.get(path).status_code == 404, path


def test_a_platform_admin_creates_and_edits_through_the_pages(users, acme, globex):
    client = http(ROOT, users["platform"])
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    end = (timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"title": "VPN maintenance", "body": "<p>Short outage.</p>", "severity": "warning", "starts_at": start,
            "ends_at": end, "sites": [acme.pk, globex.pk]}  # fmt: skip
    assert client.post("/announcements/new/", data).status_code == 302
    announcement = Announcement.objects.get()
    assert set(announcement.sites.all()) == {acme, globex}
    assert "VPN maintenance" in _home(users["globex_staff"], GLOBEX_HOST)
    response = client.post(f"/announcements/{announcement.pk}/edit/", {**data, "sites": [acme.pk]})
    assert response.status_code == 302
    assert "VPN maintenance" not in _home(users["globex_staff"], GLOBEX_HOST)  # the cache was dropped
    assert "VPN maintenance" in _home(users["acme_staff"])
    bad = client.post("/announcements/new/", {**data, "ends_at": start, "starts_at": end})
    assert bad.status_code == 400 and "The end must come after the start." in bad.content.decode()


# --- queries ------------------------------------------------------------------------------


def _count(client, path) -> int:
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured.captured_queries)


def test_banners_cost_no_query_when_nothing_is_announced_and_one_otherwise(users, acme):
    staff = http(ACME_HOST, users["acme_staff"])
    quiet = _count(staff, "/")
    _announce(users, sites=[acme])
    _announce(users, title="Second", all_sites=True)
    cache.clear()
    assert _count(staff, "/") == quiet + 1  # the person's dismissals


def test_announcement_list_queries_do_not_grow_with_announcements(users, acme, globex):
    client = http(ROOT, users["engineer_acme"])
    _announce(users, sites=[acme])
    # search_path, session, user, role (engineer), engineer profile (which sites), announcements
    # with dismissal counts and what the engineer may manage, their sites (prefetch)
    few = _count(client, "/announcements/")
    assert few == 7
    for n in range(25):
        _announce(users, title=f"Notice {n}", sites=[acme] if n % 2 else [acme, globex], all_sites=n % 5 == 0)
    assert _count(client, "/announcements/") == few
