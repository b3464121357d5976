"""Demo data for profiles and reviews (called by `manage.py demo`; idempotent): profiles with
a Pillow-drawn avatar (client staff: on their site; engineers: one for every site they cover),
rated tickets on both sites spread over a few months, a service review."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import tenant_context
from PIL import Image, ImageDraw, ImageFont

PROFILES = {  # email: (job title, phone, timezone, avatar colour or None)
    "alice@acme.demo.test": ("Office manager", "+44 20 7946 0958", "Europe/London", (214, 51, 132)),
    "admin@acme.demo.test": ("Head of operations", "+44 161 496 0734", "Europe/London", None),
    "gary@globex.demo.test": ("Sales lead", "+1 415 555 2671", "America/Los_Angeles", (25, 135, 84)),
    "admin@globex.demo.test": ("IT coordinator", "+1 212 555 0142", "America/New_York", None),
    "ana@demo.test": ("Senior engineer", "+49 30 901820", "Europe/Berlin", (13, 110, 253)),
    "ben@demo.test": ("Engineer", "+49 89 1234567", "Europe/Berlin", (111, 66, 193)),
}
# (site, requester, engineer, subject, category, rating, comment, days ago)
RATED = [
    ("acme", "alice@acme.demo.test", "ben@demo.test", "Laptop will not wake from sleep", "hardware", 5,
     "Fixed in ten minutes, thank you!", 3),
    ("acme", "alice@acme.demo.test", "ana@demo.test", "Shared mailbox missing in Outlook", "email", 4, "", 20),
    ("acme", "admin@acme.demo.test", "ben@demo.test", "Wi-Fi drops in meeting room B", "network", 2,
     "Took three days and came back twice.", 40),
    ("acme", "alice@acme.demo.test", "ana@demo.test", "Password reset for the HR portal", "access", 5, "", 70),
    ("acme", "admin@acme.demo.test", "ana@demo.test", "Install the accounting update", "software", 4, "", 100),
    ("globex", "gary@globex.demo.test", "ana@demo.test", "CRM sync error", "software", 5, "Great work.", 5),
    ("globex", "gary@globex.demo.test", "ana@demo.test", "New phone for the sales team", "hardware", 3, "", 35),
    ("globex", "admin@globex.demo.test", "ana@demo.test", "VPN certificate expired", "network", 1,
     "Nobody answered for a whole day.", 60),
]  # fmt: skip


def _on_site(email: str, subdomain: str) -> bool:
    """Members by their address; Ana covers every site, Ben only acme (see demo.ENGINEERS)."""
    return (
        email.endswith(f"@{subdomain}.demo.test")
        or email == "ana@demo.test"
        or (email == "ben@demo.test" and subdomain == "acme")
    )


def avatar_png(initials: str, colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (512, 512), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((56, 56, 456, 456), outline=(255, 255, 255), width=18)
    font = ImageFont.load_default(size=190)
    draw.text((256, 262), initials, fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _avatar_upload(user) -> SimpleUploadedFile:
    colour = PROFILES[user.email][3]
    initials = "".join(part[0] for part in user.full_name.split()[:2])
    return SimpleUploadedFile("avatar.png", avatar_png(initials, colour), content_type="image/png")


def demo_profiles_and_reviews(sites: dict, people: dict) -> None:
    from shared_apps.engineers.models import EngineerProfile
    from shared_apps.engineers.services import engineer_avatar_set
    from shared_apps.feedback.models import ReviewIndex, ServiceReview
    from shared_apps.feedback.services import service_review_submit
    from tenant_apps.profiles.models import Profile
    from tenant_apps.profiles.services import avatar_set, profile_update
    from tenant_apps.reviews.models import Review
    from tenant_apps.reviews.services import review_submit
    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Category

    engineers = {profile.user_id: profile for profile in EngineerProfile.objects.all()}
    for email, (_, _, _, colour) in PROFILES.items():
        user = people[email]
        if colour and user.pk in engineers and not engineers[user.pk].avatar:
            engineer_avatar_set(user=user, upload=_avatar_upload(user))
    for subdomain, site in sites.items():
        with tenant_context(site):
            for email, (job, phone, zone, colour) in PROFILES.items():
                user = people[email]
                if not _on_site(email, subdomain):
                    continue
                if Profile.objects.filter(user=user, job_title=job).exists():
                    continue  # already set up
                profile_update(user=user, full_name=user.full_name, phone=phone, job_title=job, timezone=zone)
                if colour and user.pk not in engineers:
                    avatar_set(user=user, upload=_avatar_upload(user))
            if Review.objects.exists():
                continue
            for site_name, requester, engineer, subject, slug, rating, comment, days in RATED:
                if site_name != subdomain:
                    continue
                requester, engineer = people[requester], people[engineer]
                ticket = services.ticket_create(
                    requester=requester, subject=subject, description=f"<p>{subject}.</p>",
                    category=Category.objects.get(slug=slug),
                )  # fmt: skip
                services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer, reason="demo")
                services.ticket_reply(ticket=ticket, actor=engineer, role="engineer", body="<p>Done, please check.</p>")
                services.ticket_transition(ticket=ticket, actor=engineer, role="engineer", new_status="resolved")
                review = review_submit(ticket=ticket, actor=requester, rating=rating, comment=comment)
                when = timezone.now() - timedelta(days=days)  # spread over the months of the chart
                Review.objects.filter(pk=review.pk).update(created_at=when, updated_at=when)
                ReviewIndex.objects.filter(client=site, review_pk=review.pk).update(created_at=when, updated_at=when)
    acme = sites["acme"]
    if not ServiceReview.objects.filter(client=acme).exists():
        service_review_submit(
            client=acme, author=people["admin@acme.demo.test"], rating=4,
            body="Fast answers on most tickets. Network issues in meeting rooms took too long; "
            "we would like a monthly check of the access points.",
        )  # fmt: skip
