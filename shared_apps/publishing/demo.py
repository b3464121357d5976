"""Demo knowledge base and announcement for `python manage.py demo` (idempotent: an article is
created only while its title is free; the announcement only while none of its title is current).
The demo tickets' links to these articles and the draft made from a ticket are part of the ticket
history (tenant_apps/tickets/demo.py)."""

from datetime import datetime, time, timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from shared_apps.accounts.models import User
from shared_apps.publishing import services as publishing
from shared_apps.publishing.models import Announcement, GlobalArticle

R, E = "requesters", "engineers"

# fmt: off

SITE_ARTICLES = {
    "acme": [
        ("ben@demo.test", "Connect to the office VPN", "network", R, """
<p>You need the VPN to reach file shares and the intranet from home.</p>
<ol><li>Open <strong>GlobalProtect</strong> from the system tray.</li>
<li>Enter <code>vpn.acme.example</code> as the portal and sign in with your usual password.</li>
<li>Approve the sign-in on your phone.</li></ol>
<h3>If it drops</h3><p>Disconnect, wait ten seconds and connect again. If it drops more than twice a day,
open a ticket and tell us your client version (Settings → About).</p>"""),
        ("ben@demo.test", "Reset your password", "access", R, """
<p>Passwords expire every 90 days. To change yours before then, press <strong>Ctrl+Alt+Del</strong> and choose
<em>Change a password</em>. Forgotten it? Use the <em>Forgot password</em> link on the sign-in page; the code goes to
your phone.</p><p>A good password is long: three or four unrelated words work well.</p>"""),
        ("ben@demo.test", "Set up work email on your phone", "email", R, """
<ol><li>Install <strong>Outlook</strong> from the App Store or Google Play.</li>
<li>Add your work address and sign in; approve the prompt.</li>
<li>Allow the app to manage the work profile when asked.</li></ol>
<p>The built-in mail apps are not supported because they cannot be wiped if the phone is lost.</p>"""),
        ("ben@demo.test", "Print to the 2nd-floor printer", "hardware", R, """
<p>The printer is <strong>ACME-PRN-02</strong>. On Windows choose <em>Settings → Printers → Add device</em>; it
appears within a minute. Paper jams: open tray 2, pull the paper straight out, close it firmly.</p>"""),
        ("admin@acme.demo.test", "Book a meeting room screen", "other", R, """
<p>Rooms Orion and Vega have screens. Book the room in the calendar and add the room as a guest: the screen
turns on five minutes before your meeting. The HDMI cable lives in the drawer under the table.</p>"""),
        ("ben@demo.test", "VPN tunnels drop hourly: firewall DHCP lease", "network", E, """
<p>Symptom: GlobalProtect drops every 60 minutes for several users at once.</p>
<p>Cause: the firewall's DHCP lease for the VPN pool is 60 minutes and renewal fails behind some home routers.</p>
<ol><li>Firewall → Network → DHCP → pool <code>vpn-users</code>.</li><li>Set the lease to 24 hours.</li>
<li>Commit; users reconnect once.</li></ol>"""),
        ("ben@demo.test", "2nd-floor printer: replace the pickup roller", "hardware", E, """
<p>Daily jams in tray 2 mean a worn pickup roller (part RM2-5452). Spare rollers are in the store room, shelf B.</p>
<ol><li>Switch off, open tray 2 and the left door.</li><li>Release the roller clip, swap the roller.</li>
<li>Print a test page; log 15 minutes on the ticket.</li></ol>"""),
        ("ben@demo.test", "New starter checklist", "access", E, """
<ul><li>Create the account in Entra ID with the HR start date.</li><li>Add to the department's groups and the
VPN group.</li><li>Assign an M365 E3 licence.</li><li>Prepare a laptop from the standard image; enrol in
Intune.</li><li>Send the first-day password to the manager, never to the new starter directly.</li></ul>"""),
    ],
    "globex": [
        ("ana@demo.test", "Send large files securely", "software", R, """
<p>Attachments over 25 MB bounce. Put the file in OneDrive, choose <strong>Share → Specific people</strong>, enter
the recipient's address and set an expiry date.</p>"""),
        ("ana@demo.test", "My email bounced: what to check", "email", R, """
<ul><li>Check the address for typos.</li><li>Files over 25 MB bounce: share a link instead.</li>
<li>If every message bounces, we are probably already on it: look for an announcement at the top of this page
before opening a ticket.</li></ul>"""),
        ("ana@demo.test", "Join the guest Wi-Fi", "network", R, """
<p>Network <strong>Globex-Guest</strong>. The password changes every Monday and is on the reception screen.
Guests are limited to the internet; use the staff network for printers and shares.</p>"""),
        ("ana@demo.test", "Report a phishing email", "security", R, """
<p>Do not click links or open attachments. In Outlook choose <strong>Report → Phishing</strong>. If you already
clicked, change your password now and open an urgent ticket.</p>"""),
        ("admin@globex.demo.test", "Request new software", "software", R, """
<p>Ask your manager first, then open a ticket with the product name, the number of licences and who pays.
Free tools also need approval: they may send our data elsewhere.</p>"""),
        ("ana@demo.test", "Globex mail routing and MX records", "email", E, """
<p>MX: <code>globex-example.mail.protection.outlook.com</code> priority 0. The old on-site relay was retired in
March; any MX still pointing at <code>relay.globex.example</code> causes bounces for all staff.</p>"""),
        ("ana@demo.test", "Backups: schedule and monthly restore test", "other", E, """
<p>Nightly at 01:00 to the NAS, weekly off-site copy on Sundays. On the first Monday of each month restore one
random folder to <code>\\\\nas\\restore-test</code> and note the result on the ticket.</p>"""),
        ("ana@demo.test", "Shared mailbox permissions", "email", E, """
<p>Grant <em>Full Access</em> and <em>Send As</em> in the Exchange admin centre; allow an hour before the mailbox
appears in Outlook. Remove permissions for leavers on their last day.</p>"""),
    ],
}

GLOBAL_ARTICLES = [
    ("Set up two-factor authentication", "security", R, """
<p>Two-factor authentication protects your account even if your password leaks.</p>
<ol><li>Install Microsoft Authenticator or Google Authenticator on your phone.</li>
<li>In this support site, open your name → <strong>Two-factor authentication</strong>.</li>
<li>Scan the QR code and type the six-digit code.</li></ol>
<p>Keep the recovery codes somewhere safe, not on the same phone.</p>"""),
    ("Keep your laptop up to date", "software", R, """
<p>Updates install on Tuesday nights. If your laptop was off, they install the next time it starts: leave it
plugged in and restart when asked. Postponing more than three times forces a restart.</p>"""),
    ("Security incident: first 15 minutes", "security", E, """
<ol><li>Isolate the device from the network (Defender → Isolate); do not switch it off.</li>
<li>Reset the user's password and revoke their sessions.</li><li>Open a security incident ticket, urgent,
and call the on-call lead.</li><li>Write down times and what you saw.</li></ol>"""),
]

# fmt: on


def publishing_demo_load(sites: dict) -> None:
    """Articles on each demo site and global articles, dated when the sites started with the IT
    company (before any demo ticket: the tickets' history links and quotes them), and one
    current announcement for every site."""
    from tenant_apps.knowledge import services as knowledge
    from tenant_apps.knowledge.models import Article
    from tenant_apps.tickets.models import Category

    people = {user.email: user for user in User.objects.filter(email__endswith="demo.test")}
    written = _written_at()
    for subdomain, articles in SITE_ARTICLES.items():
        with tenant_context(sites[subdomain]):
            for email, title, category, visibility, body in articles:
                if Article.objects.filter(title=title).exists():
                    continue
                author = people[email]
                article = knowledge.article_create(
                    actor=author, role="admin" if email.startswith("admin@") else "engineer", title=title,
                    body=body.strip(), category=Category.objects.filter(slug=category).first(),
                    visibility=visibility, status="published",
                )  # fmt: skip
                when = next(written)
                Article.objects.filter(pk=article.pk).update(created_at=when, updated_at=when)
    platform = people["platform@demo.test"]
    for title, category, visibility, body in GLOBAL_ARTICLES:
        if not GlobalArticle.objects.filter(title=title).exists():
            article = publishing.global_article_create(
                actor=platform, role="platform", title=title, body=body.strip(), category_slug=category,
                visibility=visibility, status="published",
            )  # fmt: skip
            when = next(written)
            GlobalArticle.objects.filter(pk=article.pk).update(created_at=when, updated_at=when)
    title = "Planned maintenance: email and VPN, Saturday 22:00-23:00"
    now = timezone.now()
    if not Announcement.objects.filter(title=title, ends_at__gt=now).exists():
        publishing.announcement_create(
            actor=platform, role="platform", title=title, severity="warning", all_sites=True,
            body="<p>Email and the VPN may be unavailable for up to an hour while we update the firewall. "
            "Nothing needs doing on your side.</p>",
            starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(days=14),
        )  # fmt: skip


def _written_at():
    """Moments from 09:00 on the first day of the month before last (the day billing/demo.py
    starts the demo sites' subscriptions), 20 minutes apart."""
    from shared_apps.billing.invoicing import previous_month

    start = previous_month(previous_month(timezone.localdate()))
    moment = timezone.make_aware(datetime.combine(start, time(9, 0)))
    while True:
        yield moment
        moment += timedelta(minutes=20)
