"""The ticket journey in a real browser, two people at once: alice (acme staff) opens a ticket
with an attachment, ben (engineer covering acme) replies, logs time and resolves it, alice sees
the reply and confirms the resolution. Each page is kept as a screenshot at 1280 px and 390 px
in test-artifacts/ (not committed).

The server is a separate process, so what the journey creates is committed in the test database
and stays there with --reuse-db: the subject carries a fresh token, and the ticket number is
read from the page, never assumed.
"""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.conftest import CAST
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

EDITOR = ".ProseMirror[contenteditable=true]"
ATTACHMENT_TEXT = "2024-05-02 08:01 paper jam in tray 2\n2024-05-02 08:03 paper jam in tray 2\n"


def login_on_site(page, live_url, subdomain: str, email: str, next_path: str = "/") -> None:
    """Anonymous on a client site -> its login page -> back to `next_path`, logged in."""
    page.goto(live_url.site_url(subdomain, next_path))
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    form = page.locator("form", has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page).to_have_url(live_url.site_url(subdomain, next_path))


def type_rich_text(page, *parts: str) -> None:
    """Type into the (only) editable rich-text editor; odd parts are bold (Ctrl+B toggles)."""
    editor = page.locator(EDITOR)
    expect(editor).to_have_count(1)
    editor.click()
    for index, part in enumerate(parts):
        if index:
            page.keyboard.press("Control+b")
        page.keyboard.type(part)


def status_badge(page):
    """The status pill next to the ticket's title."""
    return page.locator("div:has(> h1) > .badge.rounded-pill")


def shoot_both(page, phone_page, shoot, name: str) -> None:
    """Screenshot `page` at desktop width, then the same URL on a phone with the same cookies."""
    shoot(page, f"{name}-desktop")
    phone_page.goto(page.url)
    expect(phone_page.locator("h1")).to_be_visible()
    shoot(phone_page, f"{name}-phone")


def test_ticket_journey(page, second_page, phone, shoot, live_url, tmp_path):
    token = uuid.uuid4().hex[:8]
    subject = f"Printer on floor 3 jams [{token}]"
    reply = f"Cleared the jam and replaced the worn roller in tray 2 [{token}]."
    time_note = f"Roller from the spares cupboard, internal only [{token}]"
    log_file = tmp_path / "printer-log.txt"
    log_file.write_text(ATTACHMENT_TEXT, encoding="utf-8")

    # 1. alice opens a ticket with an attachment.
    alice = page
    login_on_site(alice, live_url, "acme", CAST["acme_staff"])
    alice.get_by_role("link", name="New ticket").first.click()
    expect(alice).to_have_url(live_url.site_url("acme", "/tickets/new/"))
    expect(alice.locator("h1")).to_have_text("New ticket")
    alice.get_by_label("Subject").fill(subject)
    type_rich_text(alice, "The printer ", "jams", " on every second page since Monday.")
    expect(alice.locator(f"{EDITOR} strong")).to_have_text("jams")
    alice.locator("input[type=file][name=attachments]").set_input_files(log_file)
    shoot(alice, "journey-1-new-ticket-desktop")
    with alice.expect_navigation():
        alice.get_by_role("button", name="Open ticket").click()

    expect(alice).to_have_url(re.compile(r"/tickets/\d+/$"))
    number = int(re.search(r"/tickets/(\d+)/$", alice.url).group(1))
    reference = f"ACME-{number}"
    ticket_path = f"/tickets/{number}/"
    expect(alice.get_by_role("status")).to_contain_text(f"Ticket {reference} is open")
    expect(alice.locator("h1")).to_have_text(f"{reference} {subject}")
    expect(status_badge(alice)).to_have_text("New")
    opening = alice.locator("article").first
    expect(opening).to_contain_text("The printer jams on every second page since Monday.")
    expect(opening.locator("strong", has_text="jams")).to_be_visible()
    attachment_link = opening.get_by_role("link", name=re.compile(r"printer-log\.txt"))
    expect(attachment_link).to_be_visible()
    alice_phone = phone(alice)
    shoot_both(alice, alice_phone, shoot, "journey-1-alice-opened")
    alice_phone.goto(live_url.site_url("acme", "/tickets/new/"))
    expect(alice_phone.locator(EDITOR)).to_be_visible()
    shoot(alice_phone, "journey-1-new-ticket-phone")

    # 2. ben replies, logs time and resolves.
    ben = second_page
    login_on_site(ben, live_url, "acme", CAST["engineer_acme"], "/tickets/")
    expect(ben.locator("h1")).to_contain_text("Tickets")
    row_link = ben.get_by_role("link", name=f"{reference} {subject}")
    expect(row_link).to_be_visible()
    ben_phone = phone(ben)
    shoot_both(ben, ben_phone, shoot, "journey-2-ben-list")
    row_link.click()
    expect(ben).to_have_url(live_url.site_url("acme", ticket_path))
    expect(ben.locator("article").first).to_contain_text("The printer jams")

    type_rich_text(ben, reply)
    ben.get_by_role("button", name="Send", exact=True).click()  # over the live socket (static/js/live.js)
    expect(ben.locator("article", has_text=reply)).to_be_visible()
    expect(status_badge(ben)).to_have_text("Open")

    time_form = ben.locator(f"form[action='{ticket_path}time/']")
    time_form.get_by_label("Minutes").fill("15")
    time_form.get_by_label("Billable").check()
    time_form.get_by_label("Note").fill(time_note)
    with ben.expect_navigation():
        time_form.get_by_role("button", name="Log time").click()
    expect(ben.get_by_role("status")).to_have_text("Logged 15 minutes.")
    time_card = ben.locator(".card", has=ben.get_by_role("heading", name="Time"))
    expect(time_card.locator("li", has_text=time_note)).to_contain_text("15 min")
    expect(time_card.locator("li", has_text=time_note)).to_contain_text("billable")

    with ben.expect_navigation():
        ben.get_by_role("button", name="Resolve", exact=True).click()
    expect(ben.get_by_role("status")).to_have_text("Ticket is now resolved.")
    expect(status_badge(ben)).to_have_text("Resolved")
    expect(ben.get_by_role("heading", name="Triage")).to_be_visible()
    shoot_both(ben, ben_phone, shoot, "journey-2-ben-resolved")

    # 3. alice sees the reply and confirms the resolution.
    alice.reload()
    expect(alice.locator("article", has_text=reply)).to_be_visible()
    expect(status_badge(alice)).to_have_text("Resolved")
    confirm = alice.get_by_role("button", name="Confirm resolution")
    expect(confirm).to_be_visible()
    # 4. ben's time entry (and its note) is for engineers only.
    expect(alice.get_by_text(time_note)).to_have_count(0)
    expect(alice.get_by_role("heading", name="Time")).to_have_count(0)
    shoot_both(alice, alice_phone, shoot, "journey-3-alice-resolved")

    with alice.expect_navigation():
        confirm.click()
    expect(alice.get_by_role("status")).to_have_text("Ticket is now closed.")
    expect(status_badge(alice)).to_have_text("Closed")
    expect(alice.get_by_role("button", name="Confirm resolution")).to_have_count(0)
    expect(alice.get_by_role("button", name="Send", exact=True)).to_have_count(0)  # closed: no reply form
    expect(alice.get_by_text(time_note)).to_have_count(0)
    assert time_note not in alice.content()
    shoot_both(alice, alice_phone, shoot, "journey-3-alice-closed")

    # alice downloads her attachment through the ticket's access check. Clicked in the page:
    # Chromium resolves *.localhost itself, Playwright's API request client (Node's DNS) does not.
    expect(attachment_link).to_have_attribute("href", re.compile(rf"^{ticket_path}attachments/\d+/$"))
    fetched = alice.evaluate(
        "async (href) => { const r = await fetch(href); return [r.status, r.headers.get('content-disposition')]; }",
        attachment_link.get_attribute("href"),
    )
    assert fetched[0] == 200
    assert fetched[1].startswith("attachment")
    with alice.expect_download() as download_info:
        attachment_link.click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == "printer-log.txt"
    assert download.path().read_text(encoding="utf-8") == ATTACHMENT_TEXT
