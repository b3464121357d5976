"""Demo profiles and the service review (called by `manage.py demo`; idempotent): profiles with
a Pillow-drawn avatar (client staff: on their site; engineers: one picture for every site they
cover) and acme's review of the IT company's service. The ticket ratings are part of the ticket
history (tenant_apps/tickets/demo.py): a rating comes after its ticket's resolution."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
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


def demo_profiles_and_service_review(sites: dict, people: dict) -> None:
    from shared_apps.engineers.models import EngineerProfile
    from shared_apps.engineers.services import engineer_avatar_set
    from shared_apps.feedback.models import ServiceReview
    from shared_apps.feedback.services import service_review_submit
    from tenant_apps.profiles.models import Profile
    from tenant_apps.profiles.services import avatar_set, profile_update

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
    acme = sites["acme"]
    if not ServiceReview.objects.filter(client=acme).exists():
        service_review_submit(
            client=acme, author=people["admin@acme.demo.test"], rating=4,
            body="Fast answers on most tickets. Network issues in meeting rooms took too long; "
            "we would like a monthly check of the access points.",
        )  # fmt: skip
