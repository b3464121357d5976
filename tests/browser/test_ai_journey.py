"""The AI in a real browser, on the offline model (no key): alice asks the assistant on her new
ticket and sees its answer in the thread; ben sees the AI's categorization, asks for a draft,
uses it and sends it. Screenshots at 1280 and 390 px in test-artifacts/."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.test_ticket_journey import EDITOR, login_on_site, shoot_both, type_rich_text
from tests.conftest import CAST

pytestmark = pytest.mark.browser


def test_assistant_and_draft(page, second_page, phone, shoot, live_url):
    token = uuid.uuid4().hex[:8]
    subject = f"Outlook keeps asking for my password [{token}]"
    alice = page
    login_on_site(alice, live_url, "acme", CAST["acme_staff"], "/tickets/new/")
    alice.get_by_label("Subject").fill(subject)
    type_rich_text(alice, "Since this morning Outlook asks for my password every few minutes.")
    with alice.expect_navigation():
        alice.get_by_role("button", name="Open ticket").click()
    number = int(re.search(r"/tickets/(\d+)/$", alice.url).group(1))

    alice.get_by_role("button", name="Ask the assistant").click()
    answer = alice.locator("article", has=alice.locator(".badge", has_text="AI"))
    expect(answer).to_be_visible(timeout=15_000)  # polled, then the page reloads with the answer
    expect(answer).to_contain_text("Written by an AI assistant")
    expect(answer.get_by_role("button", name="This solved it")).to_be_visible()
    alice_phone = phone(alice)
    shoot_both(alice, alice_phone, shoot, "ai-1-alice-assistant")

    ben = second_page
    login_on_site(ben, live_url, "acme", CAST["engineer_acme"], f"/tickets/{number}/")
    ai_card = ben.locator(".card", has=ben.get_by_role("heading", name="AI", exact=True))
    expect(ai_card).to_contain_text(re.compile(r"AI: \w+, (Low|Medium|High|Urgent) \(\d+ %\)"))
    expect(ai_card).to_contain_text("offline/")
    ai_card.get_by_role("button", name="Draft reply").click()
    use = ben.get_by_role("link", name="Use this draft")
    expect(use).to_be_visible(timeout=15_000)
    ben_phone = phone(ben)
    shoot(ben, "ai-2-ben-draft-desktop")
    use.click()
    expect(ben.get_by_text("check and edit it before sending")).to_be_visible()
    expect(ben.locator(EDITOR)).to_contain_text("Kind regards")  # the offline draft's sign-off
    shoot_both(ben, ben_phone, shoot, "ai-3-ben-draft-in-editor")
    with ben.expect_navigation():
        ben.get_by_role("button", name="Send", exact=True).click()
    sent = ben.locator("article", has_text="Drafted with AI")
    expect(sent).to_contain_text("reviewed by an engineer")

    alice.reload()
    with alice.expect_navigation():
        alice.get_by_role("button", name="This solved it").click()
    expect(alice.get_by_role("status").first).to_contain_text("Glad it is solved")
    expect(alice.locator("div:has(> h1) > .badge.rounded-pill")).to_have_text("Resolved")


def test_console_ai_settings_and_the_client_admins_ai_card(page, phone, shoot, live_url):
    from tests.browser.test_knowledge_browser import login_at_root

    login_at_root(page, live_url, CAST["platform"])
    page.goto(live_url.root_url("/console/sites/acme/ai/"))
    expect(page.locator("h1")).to_have_text("AI for Acme Corp")
    expect(page.get_by_text("Now answering:")).to_contain_text("offline")
    shoot_both(page, phone(page), shoot, "ai-4-console-site-ai")

    admin = phone(page).context.browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login_on_site(admin, live_url, "acme", CAST["acme_admin"], "/reports/")
    expect(admin.get_by_label("AI this month")).to_contain_text("offline model")
    shoot_both(admin, phone(admin), shoot, "ai-5-client-admin-report")
    admin.context.close()
