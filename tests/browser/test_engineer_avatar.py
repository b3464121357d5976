"""An engineer's one picture in a real browser: uploaded on acme's profile page, it shows on a
globex ticket (to the engineer and to globex's own staff) and in the root domain's queue.
Screenshots in test-artifacts/ (not committed).

The live server commits what the test writes; `engineer_avatar_reset` takes the picture away
again afterwards (the tickets go with the autouse fixture of tests/browser/conftest.py).
"""

import io
import re

import pytest
from django_tenants.utils import tenant_context
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_ticket_journey import login_on_site
from tests.conftest import CAST
from tests.processes import committed

pytestmark = pytest.mark.browser
AVATAR_SRC = re.compile(r"^/engineers/\d+/avatar/\?v=1$")


@pytest.fixture
def engineer_avatar_reset():
    yield

    def reset():
        from shared_apps.engineers.models import EngineerProfile

        for profile in EngineerProfile.objects.filter(user__email=CAST["engineer_all"]):
            if profile.avatar:
                profile.avatar.delete(save=False)
            EngineerProfile.objects.filter(pk=profile.pk).update(avatar="", avatar_version=0)

    committed(reset)


def _picture(tmp_path):
    """A yellow sun over a purple hill on an orange sky: nothing like the initials on a coloured
    disc the page shows when there is no picture."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 480), (253, 126, 20))
    draw = ImageDraw.Draw(image)
    draw.ellipse((150, 60, 330, 240), fill=(255, 214, 0))
    draw.ellipse((-120, 260, 600, 760), fill=(111, 66, 193))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path = tmp_path / "engineer.png"
    path.write_bytes(out.getvalue())
    return path


def test_picture_uploaded_on_acme_shows_on_a_globex_ticket_and_the_queue(
    globex, users, engineer_avatar_reset, page, second_page, shoot, live_url, tmp_path
):
    from tenant_apps.tickets import services

    engineer = users["engineer_all"]

    def create():
        with tenant_context(globex):
            ticket = services.ticket_create(
                requester=users["globex_staff"], subject="Shared mailbox missing in Outlook",
                description="<p>The sales mailbox disappeared from Outlook this morning.</p>",
            )  # fmt: skip
            services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
            services.ticket_reply(
                ticket=ticket, actor=engineer, role="engineer",
                body="<p>I have re-added the mailbox to your account; restart Outlook and it is back.</p>",
            )  # fmt: skip
            return ticket.number

    number = committed(create)

    # Site A (acme): the engineer's profile page edits their one picture.
    login_on_site(page, live_url, "acme", CAST["engineer_all"], "/profile/")
    expect(page.get_by_text("One picture for every site you cover")).to_be_visible()
    page.set_input_files("#id_avatar", _picture(tmp_path))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Picture saved.")).to_be_visible()
    expect(page.locator("nav img.avatar")).to_have_attribute("src", AVATAR_SRC)
    shoot(page, "engineer-avatar-acme-profile-1280")

    # Site B (globex): the same picture on the engineer's reply, for the engineer...
    page.goto(live_url.site_url("globex", f"/tickets/{number}/"))
    reply = page.locator("article", has_text="I have re-added the mailbox")
    expect(reply.locator("img.avatar")).to_have_attribute("src", AVATAR_SRC)
    assert reply.locator("img.avatar").evaluate("img => img.complete && img.naturalWidth") == 256
    shoot(page, "engineer-avatar-globex-ticket-engineer-1280")

    # ...and for globex's own staff member, who never saw it uploaded.
    login_on_site(second_page, live_url, "globex", CAST["globex_staff"], f"/tickets/{number}/")
    reply = second_page.locator("article", has_text="I have re-added the mailbox")
    expect(reply.locator("img.avatar")).to_have_attribute("src", AVATAR_SRC)
    assert reply.locator("img.avatar").evaluate("img => img.complete && img.naturalWidth") == 256
    shoot(second_page, "engineer-avatar-globex-ticket-1280")
    ARTIFACTS.mkdir(exist_ok=True)
    second_page.evaluate("document.body.style.zoom = 3")  # a close-up of the reply's header
    reply.locator(".card-header").screenshot(path=ARTIFACTS / "engineer-avatar-globex-reply-closeup.png")
    second_page.evaluate("document.body.style.zoom = 1")

    # The root domain: the nav and the assignee column of the queue.
    page.goto(live_url.root_url("/queue/"))
    expect(page.locator("nav img.avatar")).to_have_attribute("src", AVATAR_SRC)
    row = page.locator("tbody tr", has_text="Shared mailbox missing in Outlook")
    expect(row.locator("img.avatar")).to_have_attribute("src", AVATAR_SRC)
    assert row.locator("img.avatar").evaluate("img => img.complete && img.naturalWidth") == 256
    shoot(page, "engineer-avatar-queue-1280")
