"""The demo sites' ticket history (called by `manage.py demo`; a site's history is written once,
while it has no tickets).

Each ticket is a story told in the past: opened on a day of last month, some days or hours
ago, then replies, notes, time entries, AI work, status changes and a rating at given moments
after that. A story is replayed through the real services (their checks, events, index rows and
notifications all happen), then moved to its moments: every timestamp the replay wrote on the
ticket's rows is mapped from the real clock to the story's (`_StoryClock`), the SLA due times
move with the opening, and the breaches the periodic SLA check would have flagged are flagged,
with their events at the due time. Tickets are numbered in the order they were opened.

So the parts agree: time is logged on the day the work was done, after the ticket was opened;
last month's entries are what `billing/demo.py` invoices (13 h on acme against 10 included);
ratings come after the resolution and spread over the satisfaction chart's months; the reports'
30-day chart has tickets on many days; the articles a ticket links already exist
(`publishing/demo.py` dates them before the history starts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

ALICE, ADA, GARY, GUS = (
    "alice@acme.demo.test",
    "admin@acme.demo.test",
    "gary@globex.demo.test",
    "admin@globex.demo.test",
)
ANA, BEN = "ana@demo.test", "ben@demo.test"
ENGINEERS = {ANA, BEN}

When = Callable[[dt.datetime], dt.datetime]  # now -> when the ticket was opened
After = Callable[[dt.datetime], dt.datetime]  # opened -> when a step happened


def _local(day: dt.date, clock: str) -> dt.datetime:
    hours, minutes = map(int, clock.split(":"))
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hours, minutes)))


def last_month(day: int, clock: str) -> When:
    """Day `day` (at most 25: its story ends within the month) of the month before this one."""
    return lambda now: _local((timezone.localdate(now).replace(day=1) - dt.timedelta(days=1)).replace(day=day), clock)


def days_ago(days: int, clock: str) -> When:
    return lambda now: _local(timezone.localdate(now) - dt.timedelta(days=days), clock)


def hours_ago(hours: float) -> When:
    return lambda now: now - dt.timedelta(hours=hours)


def after(hours: int = 0, minutes: int = 0) -> After:
    return lambda opened: opened + dt.timedelta(hours=hours, minutes=minutes)


def next_day(days: int, clock: str) -> After:
    """`days` calendar days after the opening, at `clock`."""
    return lambda opened: _local(timezone.localdate(opened) + dt.timedelta(days=days), clock)


@dataclass(frozen=True)
class Story:
    site: str
    opened: When
    requester: str
    subject: str
    description: str
    category: str = ""  # empty: the AI categorizes the ticket (and sets its priority)
    priority: str = ""
    assignee: str = ""
    steps: tuple = field(default=())  # (After, action, who, *arguments)


def _html(text: str) -> str:
    return f"<p>{text}</p>"


# fmt: off
STORIES = [
    # acme, last month: the work on the invoice (13 h: 120 + 90 + 180 + 75 + 60 + 150 + 105 min)
    Story("acme", last_month(2, "09:10"), ADA, "Wi-Fi drops in meeting room B",
          "<p>The Wi-Fi in meeting room B drops every few minutes during calls.</p>", "network", "medium", BEN, (
              (after(3, 40), "reply", BEN, "Which access point is in room B? The label is on the ceiling unit."),
              (after(4, 10), "reply", ADA, "AP-2F-03."),
              (next_day(1, "10:30"), "time", BEN, 120, "access point firmware"),
              (next_day(1, "10:35"), "reply", BEN, "I updated the access point's firmware; it should hold now."),
              (next_day(1, "10:40"), "status", BEN, "resolved"),
              (next_day(2, "09:05"), "status", ADA, "open"),
              (next_day(2, "09:06"), "reply", ADA, "It dropped again in this morning's meeting."),
              (next_day(3, "11:00"), "time", BEN, 90, "replaced access point"),
              (next_day(3, "11:05"), "reply", BEN, "The access point was failing; I replaced it."),
              (next_day(3, "11:10"), "status", BEN, "resolved"),
              (next_day(3, "15:20"), "rate", ADA, 2, "Took three days and came back after the first fix."),
          )),
    Story("acme", last_month(9, "08:45"), ALICE, "Laptop will not start after the update",
          "<p>Stuck on the logo since this morning's update.</p>", "hardware", "high", BEN, (
              (after(0, 40), "reply", BEN, "Bring it to the IT desk and I'll rebuild it from the standard image; "
                                           "your files are safe in OneDrive."),
              (after(6), "time", BEN, 180, "laptop rebuild"),
              (after(6, 5), "reply", BEN, "Rebuilt and ready at the IT desk; sign in once to sync OneDrive."),
              (after(6, 10), "status", BEN, "resolved"),
          )),
    Story("acme", last_month(13, "10:20"), ALICE, "Shared mailbox missing in Outlook",
          "<p>The sales@ mailbox disappeared from my Outlook.</p>", "email", "medium", ANA, (
              (after(1), "reply", ANA, "Your access was removed by mistake; I added it back. It can take an hour "
                                       "to appear."),
              (after(1, 5), "time", ANA, 75, "mailbox permissions"),
              (next_day(1, "09:15"), "reply", ALICE, "It's back, thanks."),
              (next_day(1, "09:30"), "status", ANA, "resolved"),
              (next_day(1, "12:00"), "rate", ALICE, 4, ""),
          )),
    Story("acme", last_month(16, "14:00"), ADA, "Accounts for two new starters in finance",
          "<p>Maria and Tom start in finance on Monday.</p>", "access", "medium", ANA, (
              (after(2), "reply", ANA, "Accounts, licences and laptops will be ready on Friday."),
              (next_day(2, "16:30"), "time", ANA, 60, "new starter accounts"),
              (next_day(2, "16:40"), "reply", ANA, "All set: the first-day passwords went to you."),
              (next_day(2, "16:45"), "status", ANA, "resolved"),
          )),
    Story("acme", last_month(20, "09:30"), ADA, "Install the accounting update",
          "<p>Version 12.4 is out; finance needs it before the month closes.</p>", "software", "medium", ANA, (
              (after(1, 30), "reply", ANA, "Scheduled for tomorrow morning, before people arrive."),
              (next_day(1, "08:50"), "time", ANA, 150, "accounting update, 12 PCs"),
              (next_day(1, "08:55"), "reply", ANA, "Installed on all 12 finance PCs."),
              (next_day(1, "09:00"), "status", ANA, "resolved"),
              (next_day(2, "10:00"), "rate", ADA, 4, ""),
          )),
    Story("acme", last_month(24, "11:00"), ADA, "Update the VPN client on home laptops",
          "<p>The vendor says version 5.2 fixes the disconnects some of us see.</p>", "network", "medium", BEN, (
              (after(2), "reply", BEN, "I'll push 5.2.1 to every laptop tonight."),
              (next_day(1, "09:40"), "time", BEN, 105, "VPN client update"),
              (next_day(1, "09:45"), "reply", BEN, "Every laptop runs 5.2.1 now."),
              (next_day(1, "09:50"), "status", BEN, "resolved"),
          )),
    # acme, the last weeks
    Story("acme", days_ago(19, "08:55"), ALICE, "Password reset for the HR portal",
          "<p>Locked out of the HR portal after three tries.</p>", "access", "high", ANA, (
              (after(0, 25), "reply", ANA, "Unlocked; use the Forgot password link to set a new one."),
              (after(0, 30), "status", ANA, "resolved"),
              (after(0, 55), "rate", ALICE, 5, ""),
          )),
    Story("acme", days_ago(11, "13:20"), ADA, "Outlook keeps asking for my password",
          "<p>Every few minutes since I changed my password.</p>", "email", "medium", ANA, (
              (after(1), "reply", ANA, "Open Credential Manager, remove the MicrosoftOffice entries under Windows "
                                       "Credentials, then restart Outlook."),
              (after(3), "reply", ADA, "That fixed it."),
              (after(3, 15), "status", ANA, "resolved"),
              (after(4), "rate", ADA, 5, ""),
          )),
    Story("acme", days_ago(5, "08:30"), ADA, "Printer on 2nd floor jams", "<p>Paper jam every morning.</p>",
          assignee=BEN, steps=(
              (after(0, 40), "ai_review", ANA, "low"),  # accepts the AI's category, lowers its priority
              (after(2), "reply", BEN, "The pickup roller is probably worn; I'll bring a new one tomorrow "
                                       "morning."),
              (next_day(1, "10:10"), "time", BEN, 60, "printer roller"),
              (next_day(1, "10:15"), "reply", BEN, "Replaced the pickup roller in tray 2; it was worn."),
              (next_day(1, "10:20"), "status", BEN, "resolved"),
              (next_day(1, "10:30"), "article_draft", ANA),
          )),  # not rated yet: Ada is asked to rate it
    Story("acme", days_ago(3, "09:05"), ALICE, "Laptop will not wake from sleep",
          "<p>Black screen after lunch, the power light is on.</p>", "hardware", "medium", BEN, (
              (after(0, 6), "reply", BEN, "Hold the power button for ten seconds and start it again; I also pushed "
                                          "the new graphics driver."),
              (after(0, 12), "status", BEN, "resolved"),
              (after(0, 30), "rate", ALICE, 5, "Fixed in ten minutes, thank you!"),
          )),
    Story("acme", days_ago(2, "15:10"), ALICE, "Second monitor flickers",
          "<p>The right-hand screen flickers every few seconds.</p>", "hardware", "low", BEN, (
              (after(1), "reply", BEN, "Could you swap the cable for the one on the spare desk and tell me whether "
                                       "it still flickers?"),
              (after(1, 1), "status", BEN, "pending"),
          )),
    Story("acme", hours_ago(20), ALICE, "VPN drops every hour",
          "<p>Since Monday my VPN disconnects about every hour and I lose my RDP session.</p>", "network", "high",
          BEN, (
              (after(0, 35), "reply", BEN, "Which VPN client version?"),
              (after(0, 50), "note", BEN, "Firewall DHCP lease is 60 min; likely the cause."),
              (after(2), "reply", ALICE, "Version 5.2.1"),
              (after(3), "time", BEN, 25, "diagnosis"),
              (after(3, 5), "link", BEN, "Connect to the office VPN", "VPN tunnels drop hourly: firewall DHCP lease"),
              (after(18), "ai_draft", BEN),
          )),
    Story("acme", hours_ago(2), ALICE, "New starter needs an account", "<p>Bob starts Monday.</p>", steps=(
        (after(0, 5), "ai_assistant", ALICE),
    )),
    # globex
    Story("globex", last_month(6, "08:30"), GUS, "VPN certificate expired",
          "<p>Nobody can connect to the VPN: the certificate has expired.</p>", "network", "high", ANA, (
              (next_day(1, "10:45"), "reply", ANA, "I renewed the certificate; please connect again."),
              (next_day(1, "11:00"), "status", ANA, "resolved"),
              (next_day(1, "14:00"), "rate", GUS, 1, "Nobody answered for a whole day."),
          )),
    Story("globex", last_month(18, "11:15"), GARY, "New phone for the sales team",
          "<p>Three phones for the new sales reps, please.</p>", "hardware", "medium", ANA, (
              (after(3), "reply", ANA, "Ordered; they arrive on Thursday and I'll set them up with Outlook."),
              (next_day(3, "15:00"), "reply", ANA, "Handed over, all three set up."),
              (next_day(3, "15:05"), "status", ANA, "resolved"),
              (next_day(4, "09:00"), "rate", GARY, 3, ""),
          )),
    Story("globex", days_ago(6, "10:00"), GARY, "CRM sync error",
          "<p>The CRM stopped syncing contacts with Outlook.</p>", "software", "high", ANA, (
              (after(0, 30), "reply", ANA, "The sync token had expired; I renewed it. Contacts catch up within "
                                           "the hour."),
              (after(2), "status", ANA, "resolved"),
              (after(3), "rate", GARY, 5, "Great work."),
          )),
    Story("globex", hours_ago(3), GARY, "Email bouncing for all staff",
          "<p>Every message we send comes back as undeliverable.</p>", "email", "urgent", ANA, (
              (after(0, 10), "reply", ANA, "Checking the MX records."),
          )),
]
# fmt: on


class _StoryClock:
    """Pairs the real time before each replayed step with the story's time of that step; a
    timestamp the replay wrote maps to its step's story time plus what the step itself took."""

    STEP_MAX = dt.timedelta(seconds=30)  # a step's own rows stay within seconds of it

    def __init__(self) -> None:
        self.marks: list[tuple[dt.datetime, dt.datetime]] = []

    def at(self, when: dt.datetime) -> None:
        if self.marks and when < self.marks[-1][1]:
            raise ValueError(f"demo story steps out of order at {when}")
        self.marks.append((timezone.now(), when))

    def story_time(self, real: dt.datetime | None) -> dt.datetime | None:
        if real is None:
            return None
        real_mark, story = self.marks[0]
        for mark in self.marks:
            if mark[0] > real:
                break
            real_mark, story = mark
        return story + min(max(real - real_mark, dt.timedelta(0)), self.STEP_MAX)


def tickets_demo_load(sites: dict) -> None:
    """Each demo site's ticket history, once (only while the site has no tickets), in one
    transaction per site: all of it or nothing, and what the services queue after commit (AI
    tasks, notifications) runs once the history is in place, so a Celery worker finds the AI
    work the replay did itself already done."""
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from shared_apps.accounts.models import User
    from tenant_apps.tickets.models import Ticket

    people = {user.email: user for user in User.objects.filter(email__endswith="demo.test")}
    now = timezone.now()
    for subdomain, site in sites.items():
        stories = sorted((s for s in STORIES if s.site == subdomain), key=lambda s: s.opened(now))
        with tenant_context(site), transaction.atomic():
            if Ticket.objects.exists():
                continue
            for story in stories:
                _replay(story, site=site, people=people, now=now)


def _replay(story: Story, *, site, people: dict, now: dt.datetime) -> None:
    from tenant_apps.ai.services import ticket_categorize
    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Category

    opened = story.opened(now)
    clock = _StoryClock()
    clock.at(opened)
    ticket = services.ticket_create(
        requester=people[story.requester], subject=story.subject, description=story.description,
        category=Category.objects.get(slug=story.category) if story.category else None, priority=story.priority,
    )  # fmt: skip
    if not story.category:
        ticket_categorize(ticket.pk)  # also without a worker; a redelivered task finds it done
    if story.assignee:
        engineer = people[story.assignee]
        services.ticket_assign(ticket=ticket, actor=engineer, role="engineer", assignee=engineer)
    for when, action, who, *arguments in story.steps:
        moment = when(opened)
        if moment > now:
            raise ValueError(f"demo story {story.subject!r}: {action} at {moment} is in the future")
        clock.at(moment)
        ticket.refresh_from_db()
        _step(ticket, action, people[who], arguments, work_date=timezone.localdate(moment))
    _retime(ticket, clock, site=site, now=now)


def _step(ticket, action: str, actor, arguments: list, *, work_date: dt.date) -> None:
    from tenant_apps.ai.models import AIResult
    from tenant_apps.ai.services import answer_produce, answer_request, categorization_review
    from tenant_apps.knowledge import services as knowledge
    from tenant_apps.knowledge.models import Article
    from tenant_apps.reviews.services import review_submit
    from tenant_apps.tickets import services

    role = "engineer" if actor.email in ENGINEERS else "admin" if actor.email.startswith("admin@") else "staff"
    if action in ("reply", "note"):
        services.ticket_reply(
            ticket=ticket, actor=actor, role=role, body=_html(arguments[0]), internal=action == "note"
        )
    elif action == "status":
        services.ticket_transition(ticket=ticket, actor=actor, role=role, new_status=arguments[0])
    elif action == "time":
        minutes, note = arguments
        services.time_entry_log(ticket=ticket, actor=actor, role=role, minutes=minutes, billable=True, note=note,
                                work_date=work_date)  # fmt: skip
    elif action == "rate":
        review_submit(ticket=ticket, actor=actor, rating=arguments[0], comment=arguments[1])
    elif action == "link":
        for title in arguments:
            article = Article.objects.get(title=title)
            knowledge.ticket_article_link(ticket=ticket, actor=actor, role=role, article=article)
    elif action == "article_draft":
        knowledge.article_draft_from_ticket(ticket=ticket, actor=actor, role=role)
    elif action == "ai_review":
        result = AIResult.objects.get(ticket=ticket, kind=AIResult.Kind.CATEGORIZE)
        categorization_review(ticket=ticket, actor=actor, role=role, result=result, priority=arguments[0])
    elif action in ("ai_draft", "ai_assistant"):
        kind = AIResult.Kind.DRAFT if action == "ai_draft" else AIResult.Kind.ASSISTANT
        result = answer_request(ticket=ticket, actor=actor, role=role, kind=kind)
        answer_produce(result.pk)  # here, not in a worker: the answer belongs to this moment
    else:
        raise ValueError(f"unknown demo step {action!r}")


# Timestamps the replay writes, per model related to the ticket (`ticket` field unless named).
_RETIMED = [
    ("tickets.Message", "ticket", ["created_at"]),
    ("tickets.TicketEvent", "ticket", ["created_at"]),
    ("tickets.Attachment", "ticket", ["created_at"]),
    ("tickets.TimeEntry", "ticket", ["created_at"]),
    ("ai.AIResult", "ticket", ["created_at", "finished_at"]),
    ("ai.AICorrection", "ticket", ["created_at"]),
    ("knowledge.TicketArticleLink", "ticket", ["created_at"]),
    ("knowledge.Article", "source_ticket", ["created_at", "updated_at"]),
    ("reviews.Review", "ticket", ["created_at", "updated_at"]),
]


def _retime(ticket, clock: _StoryClock, *, site, now: dt.datetime) -> None:
    """Move the ticket's rows to the story's moments, then flag the SLA breaches of its story."""
    from django.apps import apps

    from shared_apps.feedback.models import ReviewIndex
    from tenant_apps.tickets.models import Ticket

    ticket = Ticket.objects.get(pk=ticket.pk)
    shift = clock.story_time(ticket.created_at) - ticket.created_at
    for name in ("created_at", "updated_at", "first_responded_at", "resolved_at", "closed_at", "sla_paused_at"):
        setattr(ticket, name, clock.story_time(getattr(ticket, name)))
    # Due times are the opening plus the targets (no pause in these stories): they move with it.
    if ticket.first_response_due:
        ticket.first_response_due += shift
    if ticket.resolution_due:
        ticket.resolution_due += shift
    ticket.save()
    for label, key, fields in _RETIMED:
        for row in apps.get_model(label).objects.filter(**{key: ticket}):
            for name in fields:
                setattr(row, name, clock.story_time(getattr(row, name)))
            row.save(update_fields=fields)
            if label == "reviews.Review":
                ReviewIndex.objects.filter(client=site, review_pk=row.pk).update(
                    created_at=row.created_at, updated_at=row.updated_at
                )
    _breaches_flag(ticket, now=now)


def _breaches_flag(ticket, *, now: dt.datetime) -> None:
    """What the periodic check (services.ticket_sla_breaches_flag) would have flagged while the
    story ran: the clock stops at the resolution (or the pause, or now) and at the first response."""
    from tenant_apps.tickets.models import TicketEvent

    stopped = ticket.resolved_at or ticket.closed_at or ticket.sla_paused_at or now
    answered = ticket.first_responded_at or stopped
    flagged = False
    for breach, due, end in (
        ("first_response", ticket.first_response_due, answered),
        ("resolution", ticket.resolution_due, stopped),
    ):
        if due is not None and end > due:
            setattr(ticket, f"{breach}_breached", True)
            TicketEvent.objects.create(ticket=ticket, actor=None, kind="sla_breach", after={"breach": breach},
                                       created_at=due)  # fmt: skip
            flagged = True
    if flagged:
        ticket.save(update_fields=["first_response_breached", "resolution_breached"])
