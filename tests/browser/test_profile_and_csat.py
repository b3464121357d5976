"""The profile page and the CSAT page in a real browser, at 1280 px and 390 px (screenshots in
test-artifacts/): a requester uploads a picture, is refused an SVG renamed .png, sets a phone
number and a timezone; a client admin reads the site's satisfaction figures.

The live server commits what these tests write, so the `committed_reviews` and `profile_reset`
fixtures take it away again afterwards.
"""

import io
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.test_ticket_journey import login_on_site
from tests.conftest import CAST
from tests.factories import PASSWORD
from tests.processes import committed

pytestmark = pytest.mark.browser

RATINGS = [  # (rating, category slug, months ago, comment)
    (5, "network", 0, "Fixed in ten minutes"), (4, "network", 0, ""), (2, "email", 0, "Took two days to answer"),
    (5, "hardware", 1, ""), (5, "hardware", 1, "Great"), (3, "software", 1, ""), (4, "email", 2, ""),
    (1, "access", 2, "Still cannot log in"), (5, "network", 3, ""), (4, "software", 4, ""), (5, "other", 5, ""),
]  # fmt: skip


def _site():
    from shared_apps.tenancy.models import Client

    return Client.objects.get(subdomain="acme")


@pytest.fixture
def profile_reset():
    """Undo the committed profile of acme's staff member (row, picture, name) afterwards."""
    yield

    def reset():
        from django_tenants.utils import tenant_context

        from shared_apps.accounts.models import User
        from tenant_apps.profiles.models import Profile

        user = User.objects.get(email=CAST["acme_staff"])
        User.objects.filter(pk=user.pk).update(full_name="")
        with tenant_context(_site()):
            for profile in Profile.objects.filter(user=user):
                if profile.avatar:
                    profile.avatar.delete(save=False)
                profile.delete()

    committed(reset)


@pytest.fixture
def committed_reviews():
    """Resolved and rated acme tickets over the last six months (committed for the live server)."""

    def make():
        from django.utils import timezone
        from django_tenants.utils import tenant_context

        from shared_apps.accounts.models import User
        from tenant_apps.reviews.models import Review
        from tenant_apps.reviews.services import review_submit
        from tenant_apps.tickets import services
        from tenant_apps.tickets.models import Category

        staff = User.objects.get(email=CAST["acme_staff"])
        engineer = User.objects.get(email=CAST["engineer_acme"])
        with tenant_context(_site()):
            for n, (rating, slug, months_ago, comment) in enumerate(RATINGS):
                ticket = services.ticket_create(
                    requester=staff, subject=f"Rated ticket {n}", description="<p>x</p>",
                    category=Category.objects.get(slug=slug),
                )  # fmt: skip
                services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
                services.ticket_transition(ticket=ticket, actor=engineer, role="engineer", new_status="resolved")
                review = review_submit(ticket=ticket, actor=staff, rating=rating, comment=comment)
                when = timezone.now() - timedelta(days=30 * months_ago)
                Review.objects.filter(pk=review.pk).update(created_at=when, updated_at=when)

    committed(make)
    yield

    def undo():
        from django_tenants.utils import tenant_context

        from shared_apps.feedback.models import ReviewIndex
        from tenant_apps.reviews.models import Review

        site = _site()
        with tenant_context(site):
            review_pks = list(
                Review.objects.filter(ticket__subject__startswith="Rated ticket").values_list("pk", flat=True)
            )
            Review.objects.filter(pk__in=review_pks).delete()
        ReviewIndex.objects.filter(client=site, review_pk__in=review_pks).delete()

    committed(undo)


def _png(tmp_path, name: str, data: bytes | None = None):
    from PIL import Image, ImageDraw

    if data is None:
        image = Image.new("RGB", (600, 400), (32, 92, 168))
        ImageDraw.Draw(image).ellipse((170, 70, 430, 330), fill=(250, 196, 70))
        out = io.BytesIO()
        image.save(out, format="PNG")
        data = out.getvalue()
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_profile_page(page, phone, shoot, live_url, tmp_path, profile_reset):
    login_on_site(page, live_url, "acme", CAST["acme_staff"], "/profile/")
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    # An SVG renamed .png is refused with the reason, and nothing changes.
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    page.set_input_files("#id_avatar", _png(tmp_path, "innocent.png", svg))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert")).to_contain_text("SVG files are not accepted")
    shoot(page, "profile-refused-svg-1280")
    # A real picture is accepted and appears in the menu.
    page.set_input_files("#id_avatar", _png(tmp_path, "me.png"))
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Picture saved.")).to_be_visible()
    expect(page.locator("nav img.avatar")).to_have_attribute("src", re.compile(r"^/people/\d+/avatar/\?v=1$"))
    assert page.locator("nav img.avatar").evaluate("img => img.naturalWidth") == 256
    page.fill("#id_full_name", "Sam Staff")
    page.fill("#id_job_title", "Office manager")
    page.fill("#id_phone", "+44 20 7946 0958")
    page.select_option("#id_timezone", "Europe/Berlin")
    with page.expect_navigation():
        page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Profile saved.")).to_be_visible()
    expect(page.locator("#id_phone")).to_have_value("+44 20 7946 0958")
    expect(page.locator("nav")).to_contain_text("Sam Staff")
    shoot(page, "profile-1280")
    small = phone(page)
    small.goto(live_url.site_url("acme", "/profile/"))
    expect(small.get_by_role("heading", name="Your profile")).to_be_visible()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shoot(small, "profile-390")


def test_csat_page(committed_reviews, page, phone, shoot, live_url):
    login_on_site(page, live_url, "acme", CAST["acme_admin"], "/reports/satisfaction/")
    expect(page.get_by_role("heading", name="Satisfaction", exact=True)).to_be_visible()
    # 11 ratings, 8 of them 4 or 5: 72.7% -> 73%.
    expect(page.get_by_test_id("csat-share")).to_have_text("73%")
    expect(page.get_by_text("Still cannot log in")).to_be_visible()
    expect(page.locator("svg.chart-months-plot rect")).to_have_count(6)  # six months with ratings
    shoot(page, "csat-1280")
    small = phone(page)
    small.goto(live_url.site_url("acme", "/reports/satisfaction/"))
    expect(small.get_by_test_id("csat-share")).to_have_text("73%")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(small, "csat-390")


@pytest.fixture
def mfa_reset():
    """Take away the authenticators the test activates for acme's client admin (committed)."""
    yield

    def reset():
        from allauth.mfa.models import Authenticator

        Authenticator.objects.filter(user__email=CAST["acme_admin"]).delete()

    committed(reset)


def test_password_and_two_factor_pages_look_like_the_site(page, phone, shoot, live_url, mfa_reset):
    """allauth's own pages (password change, MFA with TOTP and recovery codes) in the site's
    layout: the site's navbar, a card, Bootstrap form controls, a way back to the profile."""
    login_on_site(page, live_url, "acme", CAST["acme_admin"], "/accounts/password/change/")
    expect(page.locator("nav.navbar")).to_contain_text("Acme Corp")
    expect(page.locator("main .card input.form-control")).to_have_count(3)
    expect(page.get_by_role("link", name="Your profile")).to_be_visible()
    shoot(page, "password-change-1280")
    page.goto(live_url.site_url("acme", "/accounts/2fa/totp/activate/"))
    if page.get_by_role("heading", name="Confirm Access").is_visible():  # allauth asks again first
        shoot(page, "mfa-reauthenticate-1280")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Confirm").click()
    expect(page.locator("main .card img, main .card svg").first).to_be_visible()  # the QR code
    expect(page.locator("main .card input.form-control")).to_have_count(2)  # the secret, the code
    shoot(page, "mfa-totp-activate-1280")
    small = phone(page)
    small.goto(live_url.site_url("acme", "/accounts/2fa/totp/activate/"))
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(small, "mfa-totp-activate-390")
    # Activate it for real with the code an authenticator app would show, then the recovery codes.
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    page.reload()  # the phone's visit may have made a new secret for this session
    secret = page.locator("main .card input[readonly], main .card input[disabled]").first.input_value()
    page.fill("input[name=code]", format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time()))))
    with page.expect_navigation():
        page.get_by_role("button", name="Activate").click()
    page.goto(live_url.site_url("acme", "/accounts/2fa/"))
    expect(page.locator("main")).to_contain_text("Recovery Codes")
    shoot(page, "mfa-index-1280")
    page.goto(live_url.site_url("acme", "/accounts/2fa/recovery-codes/"))
    shoot(page, "mfa-recovery-codes-1280")
    small.goto(live_url.site_url("acme", "/accounts/password/change/"))
    shoot(small, "password-change-390")
