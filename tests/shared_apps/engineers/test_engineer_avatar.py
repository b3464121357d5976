"""An engineer's one picture: uploaded once from the profile page of any site they cover, shown
on every site they cover and on the root domain (nav, queue, console), through the same checks
and re-encoding as client staff's pictures; served only to people who share a site with them."""

import os

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from shared_apps.engineers.models import EngineerProfile
from shared_apps.engineers.services import engineer_avatar_set, engineer_profile_update
from tenant_apps.profiles.models import Profile
from tenant_apps.profiles.selectors import person_card
from tenant_apps.profiles.services import avatar_set
from tenant_apps.tickets import services
from tests.conftest import ACME_HOST, GLOBEX_HOST, ROOT, http
from tests.tenant_apps.profiles.images import SVG, picture, png_declaring, upload


@pytest.fixture(autouse=True)
def _media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names)


def _upload_on(host: str, user, data: bytes):
    return http(host, user).post("/profile/avatar/", {"avatar": upload(data)})


def _src(user, version: int = 1) -> str:
    return f'src="/engineers/{user.pk}/avatar/?v={version}"'


def _ticket_with_reply(site, requester, engineer, subject="Printer"):
    """A ticket on `site` assigned to `engineer`, who has replied on it."""
    with tenant_context(site):
        ticket = services.ticket_create(requester=requester, subject=subject, description="<p>x</p>")
        services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
        services.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>On my way</p>")
    return ticket


def test_uploaded_once_on_one_site_it_shows_on_every_covered_site_and_the_root_queue(users, acme, globex, _media):
    engineer = users["engineer_all"]
    acme_ticket = _ticket_with_reply(acme, users["acme_staff"], engineer)
    globex_ticket = _ticket_with_reply(globex, users["globex_staff"], engineer)

    assert _upload_on(ACME_HOST, engineer, picture()).status_code == 302
    stored = EngineerProfile.objects.get(user=engineer).avatar.name
    assert stored.startswith(f"engineers/avatars/{engineer.pk}/") and stored.endswith(".webp")
    assert _files(_media) == [stored]  # one file, outside every site's folder
    with tenant_context(acme):
        assert not Profile.objects.filter(user=engineer).exclude(avatar="").exists()

    for host, viewer, ticket in ((ACME_HOST, "acme_staff", acme_ticket), (GLOBEX_HOST, "globex_staff", globex_ticket)):
        page = http(host, users[viewer]).get(f"/tickets/{ticket.number}/").content.decode()
        assert page.count(_src(engineer)) == 1, host  # their reply
        served = http(host, users[viewer]).get(f"/engineers/{engineer.pk}/avatar/")
        assert served.status_code == 200 and served["Content-Type"] == "image/webp"
        assert "sandbox" in served["Content-Security-Policy"] and served["Cache-Control"].startswith("private")
        assert b"".join(served.streaming_content) == EngineerProfile.objects.get(user=engineer).avatar.read()

    queue = http(ROOT, engineer).get("/queue/").content.decode()  # "Mine": both tickets
    nav, table = queue.split("</nav>")
    assert _src(engineer) in nav
    assert table.count(_src(engineer)) == 2  # the assignee column of both rows
    colleague = http(ROOT, users["engineer_acme"]).get("/queue/?tab=all").content.decode()
    assert colleague.count(_src(engineer)) == 1  # acme's row only: globex is not theirs
    assert http(ROOT, engineer).get(f"/engineers/{engineer.pk}/avatar/").status_code == 200
    console = http(ROOT, users["platform"]).get("/console/engineers/").content.decode()
    assert _src(engineer) in console


# engineer_acme covers acme only.
@pytest.mark.parametrize(
    ("host", "viewer", "status"),
    [
        (ACME_HOST, "engineer_acme", 200),
        (ACME_HOST, "acme_staff", 200),
        (ACME_HOST, "acme_admin", 200),
        (ACME_HOST, "engineer_all", 200),
        (ACME_HOST, "globex_staff", 404),  # the site is not theirs (the middleware's 404)
        (ACME_HOST, "outsider", 404),
        (ACME_HOST, "platform", 404),
        (GLOBEX_HOST, "globex_staff", 404),  # a site the engineer does not cover
        (GLOBEX_HOST, "globex_admin", 404),
        (GLOBEX_HOST, "engineer_all", 404),
        (ROOT, "engineer_acme", 200),  # their own
        (ROOT, "platform", 200),
        (ROOT, "engineer_all", 200),  # shares acme
        (ROOT, "acme_staff", 200),  # a member of acme
        (ROOT, "globex_staff", 404),  # shares no site with them
        (ROOT, "globex_admin", 404),
        (ROOT, "outsider", 404),
    ],
)
def test_who_may_see_an_engineers_picture(host, viewer, status, users, acme):
    engineer = users["engineer_acme"]
    assert _upload_on(ACME_HOST, engineer, picture()).status_code == 302
    response = http(host, users[viewer]).get(f"/engineers/{engineer.pk}/avatar/")
    assert response.status_code == status, (host, viewer)


def test_a_client_member_gets_404_for_an_engineer_who_stopped_covering_their_site(users, acme, globex):
    engineer = users["engineer_all"]
    ticket = _ticket_with_reply(globex, users["globex_staff"], engineer)
    _upload_on(ACME_HOST, engineer, picture())
    staff = http(GLOBEX_HOST, users["globex_staff"])
    assert _src(engineer) in staff.get(f"/tickets/{ticket.number}/").content.decode()  # cached card

    profile = EngineerProfile.objects.get(user=engineer)
    engineer_profile_update(profile=profile, by=users["platform"], sites=[acme], covers_all_sites=False)
    assert staff.get(f"/engineers/{engineer.pk}/avatar/").status_code == 404
    page = staff.get(f"/tickets/{ticket.number}/").content.decode()  # the card was dropped
    assert f"/engineers/{engineer.pk}/avatar/" not in page
    assert http(ROOT, users["globex_staff"]).get(f"/engineers/{engineer.pk}/avatar/").status_code == 404


@pytest.mark.parametrize("host", [ACME_HOST, ROOT])
def test_anonymous_visitors_get_the_login_page(host, users):
    engineer = users["engineer_acme"]
    _upload_on(ACME_HOST, engineer, picture())
    response = http(host).get(f"/engineers/{engineer.pk}/avatar/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SVG, "SVG files are not accepted as avatars"),
        (png_declaring(100_000, 100_000), "decompression bomb"),
        (picture("PNG")[:-40], "damaged or incomplete"),
    ],
)
def test_a_bad_file_is_refused_with_the_usual_message_and_nothing_is_stored(data, message, users, _media):
    engineer = users["engineer_all"]
    response = _upload_on(GLOBEX_HOST, engineer, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _files(_media) == []
    assert EngineerProfile.objects.get(user=engineer).avatar == ""


def test_replacing_or_removing_on_any_site_changes_it_everywhere(
    users, acme, globex, _media, django_capture_on_commit_callbacks
):
    engineer = users["engineer_all"]
    ticket = _ticket_with_reply(acme, users["acme_staff"], engineer)
    with django_capture_on_commit_callbacks(execute=True):
        _upload_on(ACME_HOST, engineer, picture())
    with django_capture_on_commit_callbacks(execute=True):
        _upload_on(GLOBEX_HOST, engineer, picture("JPEG"))
    assert _files(_media) == [EngineerProfile.objects.get(user=engineer).avatar.name]  # the first one is gone
    staff = http(ACME_HOST, users["acme_staff"])
    assert _src(engineer, 2) in staff.get(f"/tickets/{ticket.number}/").content.decode()

    own_page = http(GLOBEX_HOST, engineer).get("/profile/").content.decode()
    assert "One picture for every site you cover" in own_page and "Remove picture" in own_page
    with django_capture_on_commit_callbacks(execute=True):
        assert http(GLOBEX_HOST, engineer).post("/profile/avatar/remove/").status_code == 302
    assert _files(_media) == []
    page = staff.get(f"/tickets/{ticket.number}/").content.decode()
    assert f"/engineers/{engineer.pk}/avatar/" not in page  # initials, not a picture that 404s
    assert staff.get(f"/engineers/{engineer.pk}/avatar/").status_code == 404


def test_client_staff_pictures_stay_per_site(users, acme, _media):
    staff, engineer = users["acme_staff"], users["engineer_acme"]
    ticket = _ticket_with_reply(acme, staff, engineer)
    assert _upload_on(ACME_HOST, staff, picture()).status_code == 302
    assert _upload_on(ACME_HOST, engineer, picture()).status_code == 302
    with tenant_context(acme):
        assert Profile.objects.get(user=staff).avatar.name.startswith(f"sites/{acme.schema_name}/avatars/")
    assert not EngineerProfile.objects.filter(user=staff).exists()
    page = http(ACME_HOST, engineer).get(f"/tickets/{ticket.number}/").content.decode()
    assert f'src="/people/{staff.pk}/avatar/?v=1"' in page and _src(engineer) in page
    assert http(ACME_HOST, engineer).get(f"/engineers/{staff.pk}/avatar/").status_code == 404  # not an engineer
    assert http(ROOT, staff).get(f"/engineers/{staff.pk}/avatar/").status_code == 404


def test_an_engineers_old_per_site_picture_is_not_shown_where_they_cover(users, acme):
    engineer = users["engineer_acme"]
    with tenant_context(acme):
        avatar_set(user=engineer, upload=upload(picture()))  # how engineers had to do it before
    page = http(ACME_HOST, users["acme_staff"]).get("/").content.decode()
    nav = http(ACME_HOST, engineer).get("/").content.decode().split("</nav>")[0]
    assert f"/people/{engineer.pk}/avatar/" not in nav + page  # one identity: initials until they upload
    _upload_on(ACME_HOST, engineer, picture())
    nav = http(ACME_HOST, engineer).get("/").content.decode().split("</nav>")[0]
    assert _src(engineer) in nav


def test_only_engineers_have_a_picture_for_every_site(users):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        engineer_avatar_set(user=users["acme_staff"], upload=upload(picture()))


def _warm_count(client, path, headers=None) -> int:
    client.get(path, headers=headers)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, headers=headers).status_code == 200
    return len(captured.captured_queries)


def test_pages_with_engineers_pictures_cost_no_more_queries(users, acme, globex):
    engineer = users["engineer_all"]
    ticket = _ticket_with_reply(acme, users["acme_staff"], engineer)
    _ticket_with_reply(globex, users["globex_staff"], engineer)
    viewers = {
        "ticket": (http(ACME_HOST, users["acme_staff"]), f"/tickets/{ticket.number}/", None),
        "ticket as engineer": (http(ACME_HOST, engineer), f"/tickets/{ticket.number}/", None),
        "list": (http(ACME_HOST, engineer), "/tickets/", None),
        "queue": (http(ROOT, engineer), "/queue/?tab=all", None),
        "queue htmx": (http(ROOT, engineer), "/queue/?tab=all", {"HX-Request": "true"}),
        "console": (http(ROOT, users["platform"]), "/console/engineers/", None),
    }

    def counts() -> dict[str, int]:
        return {name: _warm_count(client, path, headers) for name, (client, path, headers) in viewers.items()}

    before = counts()
    _upload_on(GLOBEX_HOST, engineer, picture())
    _upload_on(ACME_HOST, users["engineer_acme"], picture())
    assert counts() == before
    assert (before["queue"], before["queue htmx"]) == (7, 6)  # as pinned in test_queue.py


def test_a_cold_person_card_is_one_query_on_a_site_and_on_the_root(users, acme):
    engineer = users["engineer_all"]
    _upload_on(ACME_HOST, engineer, picture())
    for site in (acme, None):
        if site is None:
            connection.set_schema_to_public()
        else:
            connection.set_tenant(site)
        cache.clear()
        with CaptureQueriesContext(connection) as cold:
            card = person_card(user_id=engineer.pk)
        with CaptureQueriesContext(connection) as warm:
            assert person_card(user_id=engineer.pk) == card
        assert (card.avatar_version, card.avatar_shared) == (1, True)
        reads = [q["sql"] for q in cold.captured_queries if not q["sql"].startswith("SET search_path")]
        assert (len(reads), len(warm.captured_queries)) == (1, 0), reads


def test_the_demo_gives_its_engineers_one_picture_and_client_staff_one_per_site(acme, _media):
    import io

    from django.core.management import call_command

    call_command("demo", stdout=io.StringIO())
    engineers = {p.user.email: p for p in EngineerProfile.objects.filter(user__email__endswith="@demo.test")}
    assert {
        email: (p.avatar_shown, p.avatar.name.startswith("engineers/avatars/")) for email, p in engineers.items()
    } == {
        "ana@demo.test": (1, True),
        "ben@demo.test": (1, True),
    }
    with tenant_context(acme):
        pictures = dict(Profile.objects.exclude(avatar="").values_list("user__email", "avatar_version"))
    assert pictures == {"alice@acme.demo.test": 1}  # the engineers' are not per site
    call_command("demo", stdout=io.StringIO())
    assert [p.avatar_version for p in EngineerProfile.objects.filter(pk__in=[p.pk for p in engineers.values()])] == [
        1,
        1,
    ]
