"""Ticket list and ticket page benchmark: server time of GET /tickets/ and GET /tickets/<n>/ on a
client site with 10,000 tickets (default `--tickets 10000`).

Measured requests, on the demo site acme, each `--runs` times (default 200), reporting median, p95
and max in ms and the SQL queries each request makes:

- the ticket list of the requester alice (staff: her own tickets and those shared with her);
- the ticket list of the engineer ben (all of the site's tickets), in the default order (last
  update first), with `?sort=sla` (next SLA due time first), and with a full-text search `?q=`;
- the page of a ticket with 100 messages, as ben (internal notes included).

How: every request goes through the whole Django stack in this process (`django.test.Client` with
the site's Host and `secure=True`, as behind the TLS proxy; logged in with `force_login`, so the
session is a real row in the database session table). "Server time" is the time around
`client.get()`: middleware (tenant from the host cache, session, user, role), view, SQL, template
rendering; it includes the test client's own small work (building the WSGI environ, cookies) and
excludes any network and WSGI server. DEBUG must be off (DEBUG=0: no query log in memory, cached
templates, the production static files storage, for which the script runs `collectstatic` into a
temporary STATIC_ROOT first). Database settings are the production defaults: persistent
connections (`DB_CONN_MAX_AGE`, 60 s) with health checks. The test client skips Django's
`close_old_connections()` on request_started and request_finished, so the script calls it before
and after each request, inside the timing, as the WSGI handler would: each request's first query
is preceded by a `SELECT 1` health check (on the driver's connection, so in no query count below),
and a connection older than 60 s is replaced (the reconnects during the timed runs are printed).

After `--warmup` requests of each kind (default 20, not counted), the timed runs go round-robin
over the kinds of request, so a slow moment of the machine hits every kind alike. Query counts
come from one extra request of each kind under `CaptureQueriesContext`, the time per SQL query
from `--profile-runs` more (default 30, timed with `connection.execute_wrapper`, not counted in
the main table); the slowest query of all is then run under `EXPLAIN (ANALYZE, BUFFERS)` and its
plan printed (`--explain-all`: the slowest query of each kind; `--show-queries`: their SQL).
Every response is checked: status 200, the ticket count in the list's badge and the number of
rows equal to what the selector says, 101 cards (the opening message and 100 messages) on the
ticket page. How busy the whole machine was during the timed runs is printed too, and so are the
commit measured and any uncommitted changes to tracked files (others' work in progress).

The data. The script runs `migrate` (nothing to do on a current database) and, if the database
has no site acme yet, `demo`; otherwise it reuses what is there. It then fills acme up to
`--tickets` tickets in total (the demo's three included), in batches of 1,000 with `bulk_create`
in one transaction each, not through `services.ticket_create`/`ticket_reply` (that path takes
minutes for 10,000 tickets), but the rows are the ones the services would have written:

- numbers from the site's `TicketCounter` (taken under its row lock, so numbering stays gap-free);
- created over the last two years, one after another; the status depends on the age (older
  tickets mostly closed or resolved, the last week mostly new, open or waiting on the requester);
  priorities mixed (10 % without), categories from the site's own seven (10 % without), subjects
  and texts from per-category templates;
- requesters: the site's members (alice and the client admin Ada, at random); assignee ben
  (about half), ana (about a third), or nobody (most new tickets), at random rather than by the
  auto-assignment rules;
- a conversation per ticket: the engineer's first reply (which sets `first_responded_at` and moves
  a new ticket to open, as `ticket_reply` does), then 0-4 more public replies alternating between
  requester and engineer, an internal note on one ticket in five; new tickets have no engineer
  reply (a third have a requester follow-up). The bodies are passed through `sanitize_html`;
- SLA fields computed as `sla_apply` does from the site's own `SLAPolicy` rows; the breach flags
  set as the periodic check would have set them (a first response or resolution later than its
  due time, or a running ticket whose due time has passed); pending tickets paused;
- one `TicketEvent` per step, as the services write them ("created", "assigned", "reply", "note",
  "status");
- `search_vector` written in the same INSERT, with the expression `_search_refresh()` uses (subject
  weight A; description and public replies, never internal notes, weight B; `plain_text()` of each
  in Python). A sample of 25 filled tickets is then checked against `_search_refresh()` itself
  (run in a transaction that is rolled back). Tickets have no attachments. The public cross-site
  ticket index, where the project has one, is rebuilt for acme afterwards, as `demo` does.

Then, through the real services: 25 of Ada's tickets are shared with alice (`ticket_share`), and
one ticket is opened by alice, assigned to ben and given 100 messages (90 public replies, ben and
alice in turn, and 10 internal notes by ben) with `ticket_create`/`ticket_assign`/`ticket_reply`;
it is the newest ticket and the one whose page is measured. Notification emails of the fill go to
Django's in-memory backend. Finally `VACUUM (ANALYZE)` and `CHECKPOINT` (not timed), as in
`benchmarks/provision.py`.

Run from the project root against a database of its own:

    createdb -h 127.0.0.1 -U postgres tenantdesk_tbench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/tenantdesk_tbench DEBUG=0 \
        EMAIL_URL=file:///tmp/tbench-mail DJANGO_SETTINGS_MODULE=saas.settings
    .venv/bin/python manage.py migrate --noinput
    .venv/bin/python manage.py demo
    .venv/bin/python -m benchmarks.tickets --tickets 10000 --runs 200
    dropdb -h 127.0.0.1 -U postgres tenantdesk_tbench
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import django

from benchmarks.provision import log, machine_load, settle

if TYPE_CHECKING:
    from shared_apps.accounts.models import User
    from shared_apps.tenancy.models import Client
    from tenant_apps.tickets.models import Ticket

SITE = "acme"
ALICE, ADA, BEN, ANA = "alice@acme.demo.test", "admin@acme.demo.test", "ben@demo.test", "ana@demo.test"
LONG_MESSAGES = 100  # messages on the ticket whose page is measured
LONG_INTERNAL_EVERY = 10  # every 10th of them an internal note
SHARED_WITH_ALICE = 25
BATCH = 1_000
SPAN_DAYS = 730
SEED = 20261121
SEARCH_CHECK_SAMPLE = 25
DEFAULT_QUERY = "outlook password"
SLOW_MS = 150.0
EXPLAIN_RUNS = 9

# --- the text of the tickets -------------------------------------------------------------

WORDS = {
    "room": ["meeting room 2", "the boardroom", "reception", "the training room", "room 4.12", "the warehouse office"],
    "office": ["Leeds", "Bristol", "Manchester", "the head office", "Glasgow", "the new Cardiff"],
    "app": ["Adobe Acrobat", "Zoom", "Sage 50", "AutoCAD", "Visual Studio Code", "Power BI", "Slack", "7-Zip"],
    "device": ["my laptop", "the reception PC", "the Surface Pro", "my ThinkPad", "the warehouse scanner"],
    "name": ["Bob Smith", "Priya Patel", "Tom Nguyen", "Sara Kowalski", "Liam O'Brien", "Mei Chen", "Jonas Berg"],
    "share": ["Finance", "HR", "Projects", "Marketing", "Board papers", "Scans"],
    "team": ["sales", "finance", "support", "warehouse", "marketing"],
    "domain": ["supplier-mail.com", "bigbank.co.uk", "freight-partners.eu", "invoices-online.net", "customer.org"],
    "mailbox": ["accounts@", "sales@", "info@", "careers@"],
    "n": ["2", "3", "5", "10", "15", "20", "30", "45"],
}
SUBJECTS = {
    "network": [
        "VPN drops every {n} minutes",
        "Wi-Fi very slow in {room}",
        "Cannot reach the file server from {office}",
        "Network drive not mapping after login",
        "Packet loss on the {office} office line",
        "Guest Wi-Fi password needs changing",
    ],
    "hardware": [
        "Printer in {room} keeps jamming",
        "Laptop battery lasts only {n} minutes",
        "Second monitor flickers on {device}",
        "Docking station does not detect the screens",
        "Keyboard keys sticking on {device}",
        "Replacement charger needed for {device}",
    ],
    "software": [
        "Excel crashes when opening the {share} workbook",
        "Teams camera not detected",
        "Cannot install {app}",
        "{app} licence has expired",
        "Outlook search returns no results",
        "Windows update stuck at {n} %",
    ],
    "access": [
        "New starter needs an account: {name}",
        "Password reset for {name}",
        "Locked out after changing my phone (MFA)",
        "Access to the {share} share",
        "Remove all access for leaver {name}",
        "SharePoint permissions for the {team} team",
    ],
    "email": [
        "Emails to {domain} bounce",
        "Shared mailbox {mailbox} not showing in Outlook",
        "Out-of-office reply not working",
        "Calendar invites arrive hours late",
        "Spam filter blocks mail from {domain}",
        "Mailbox almost full",
    ],
    "security": [
        "Suspicious email from {domain}",
        "I clicked a link in a phishing email",
        "Antivirus alert on {device}",
        "Lost phone with company email on it",
        "USB stick found in the car park",
        "Please allow {domain} through the web filter",
    ],
    "other": [
        "Move my desk phone to {room}",
        "Projector in {room} shows no signal",
        "Question about the IT onboarding guide",
        "Order {n} headsets for the {team} team",
    ],
}
DESCRIPTIONS = {
    "network": [
        "Since Monday the connection drops and I lose my remote desktop session.",
        "It happens to everyone in {office}, not just me.",
        "Speed tests show under 2 Mbit/s, normally we get 200.",
        "I have restarted the router and my laptop, no change.",
    ],
    "hardware": [
        "It started this morning and it happens every few minutes.",
        "The device is about three years old.",
        "I have tried another cable and another socket.",
        "The screen stays black after the laptop wakes up.",
    ],
    "software": [
        "It shows an error and closes, see the message below.",
        "Outlook keeps asking for my password as well since the update.",
        "I need this working for the month-end report on Friday.",
        "Reinstalling did not help.",
    ],
    "access": [
        "They start on Monday and need email, Teams and the {share} share.",
        "The password expired while I was on holiday.",
        "My manager has approved this request.",
        "Please also set up the phone for email.",
    ],
    "email": [
        "The bounce message says the recipient server refused the connection.",
        "It worked until last week.",
        "Colleagues in {office} see the same thing.",
        "Some messages arrive, others do not.",
    ],
    "security": [
        "The email asked me to confirm my password on a page that looked like ours.",
        "I did not enter anything, I think.",
        "The alert mentioned a file in the Downloads folder.",
        "I have not plugged it in anywhere.",
    ],
    "other": [
        "Whenever is convenient this week.",
        "We have a client visit on Thursday.",
        "Nothing urgent, just a question.",
    ],
}
ENGINEER_REPLIES = [
    "Thanks for the details. Could you tell me when it last worked?",
    "I have reset it on our side; please try again and let me know.",
    "Which version do you have? You can see it under Help, About.",
    "I can connect remotely at 14:00 if that suits you.",
    "This is a known issue with the latest update; a fix is being rolled out today.",
    "I have added you to the group; it can take up to an hour to apply.",
    "Please restart once more and send me a screenshot of the error.",
    "Done: the change is in place. Can you confirm it works for you?",
    "I have ordered the part; it should arrive within two working days.",
    "We have cleared the cache and rebuilt your profile.",
]
REQUESTER_REPLIES = [
    "Thanks, that worked!",
    "It still happens, I'm afraid. Screenshot attached to my next email.",
    "It last worked on Friday afternoon.",
    "14:00 is fine, I'll be at my desk.",
    "Any update on this? It is blocking my work.",
    "Version 16.0.17328, if that helps.",
    "Yes, confirmed, all good now.",
    "It happened again this morning.",
]
INTERNAL_NOTES = [
    "Firewall DHCP lease is 60 min; likely the cause.",
    "Same problem on two other machines at this site; check the GPO.",
    "Warranty expired in March; quote for a replacement sent to Ada.",
    "Escalated to the vendor, case 48213.",
    "Do not close until finance confirms the invoice run works.",
]
FOLLOW_UPS = ["Any news? I still cannot work on this.", "Adding: it happens on the other laptop too."]


def fill_words(rng: random.Random, template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: rng.choice(WORDS[match.group(1)]), template)


def html(rng: random.Random, sentences: list[str], *, count: tuple[int, int]) -> str:
    picked = rng.sample(sentences, min(len(sentences), rng.randint(*count)))
    return "<p>" + " ".join(fill_words(rng, sentence) for sentence in picked) + "</p>"


# --- preparing the database --------------------------------------------------------------


@dataclass
class People:
    alice: User
    ada: User
    ben: User
    ana: User
    members: list[User]  # requesters
    engineers: list[User]


def people_get(site: Client) -> People:
    from shared_apps.accounts.models import User

    by_email = {user.email: user for user in User.objects.filter(email__in=[ALICE, ADA, BEN, ANA])}
    members = list(User.objects.filter(memberships__client=site, memberships__is_active=True).order_by("email"))
    return People(
        alice=by_email[ALICE],
        ada=by_email[ADA],
        ben=by_email[BEN],
        ana=by_email[ANA],
        members=members,
        engineers=[by_email[BEN], by_email[ANA]],
    )


def site_prepare() -> Client:
    """Migrate (nothing to do on a current database), then the demo's sites and people if the
    database does not have the site acme yet."""
    from django.core.management import call_command

    from shared_apps.tenancy.models import Client

    start = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    log(f"migrate: {time.perf_counter() - start:.1f} s")
    site = Client.objects.filter(subdomain=SITE).first()
    if site is None:
        start = time.perf_counter()
        call_command("demo", stdout=io.StringIO())
        log(f"demo: {time.perf_counter() - start:.1f} s")
        site = Client.objects.get(subdomain=SITE)
    return site


def cross_site_index_rebuild(site: Client) -> None:
    """The public cross-site ticket index (if this version of the project has one) gets the rows
    of the bulk-inserted tickets, as `demo` does for data loaded before the index existed."""
    try:
        from shared_apps.engineers.ticket_index import ticket_index_rebuild
    except ImportError:
        return
    start = time.perf_counter()
    count = ticket_index_rebuild(client=site)
    log(f"  cross-site ticket index rebuilt for {SITE}: {count:,} tickets ({time.perf_counter() - start:.1f} s)")


@dataclass
class Story:
    """One generated ticket, its conversation and its events, before insertion."""

    ticket: Ticket
    messages: list[tuple[str, User, datetime, str]] = field(default_factory=list)  # kind, author, time, body
    events: list[tuple[str, User | None, datetime, dict, dict]] = field(default_factory=list)


def status_for_age(rng: random.Random, age_days: float) -> str:
    if age_days > 30:
        weights = {"closed": 78, "resolved": 18, "pending": 2, "open": 2}
    elif age_days > 7:
        weights = {"closed": 45, "resolved": 30, "pending": 10, "open": 15}
    else:
        weights = {"new": 20, "open": 35, "pending": 15, "resolved": 20, "closed": 10}
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def story_make(
    rng: random.Random, *, number: int, created: datetime, now: datetime, people: People, categories, policies
) -> Story:
    from django.contrib.postgres.search import SearchVector
    from django.db.models import Value

    from tenant_apps.tickets.models import Message, Ticket
    from tenant_apps.tickets.richtext import plain_text, sanitize_html

    slug = rng.choice(list(SUBJECTS))
    subject = fill_words(rng, rng.choice(SUBJECTS[slug]))
    description = sanitize_html(html(rng, DESCRIPTIONS[slug], count=(1, 3)))
    priority = rng.choices(["", "low", "medium", "high", "urgent"], weights=[10, 30, 35, 18, 7])[0]
    category = categories[slug] if rng.random() >= 0.10 else None
    requester = rng.choice(people.members)
    status = status_for_age(rng, (now - created).total_seconds() / 86400)
    if status == "new":
        assignee = rng.choice(people.engineers) if rng.random() < 0.25 else None
    else:
        assignee = rng.choices([people.ben, people.ana, None], weights=[55, 35, 10])[0]
    engineer = assignee or rng.choice(people.engineers)
    first_minutes, resolution_minutes = policies.get(priority, (None, None))

    # The timeline as offsets from the creation (seconds), squeezed below if it would end in the future.
    assigned_at = rng.uniform(60, 1800) if assignee else None
    talk: list[tuple[str, User, float]] = []  # kind, author, offset
    paused = resolved = closed = None
    if status == "new":
        if rng.random() < 1 / 3:
            talk.append(("follow-up", requester, rng.uniform(600, 3 * 3600)))
    else:
        offset = (first_minutes or 240) * 60 * rng.uniform(0.05, 1.15)
        talk.append(("public", engineer, offset))
        author = requester
        for _ in range(rng.randint(0, 4)):
            offset += rng.expovariate(1 / (5 * 3600))
            talk.append(("public", author, offset))
            author = engineer if author is requester else requester
        if status in ("pending", "resolved", "closed") and talk[-1][1] is not engineer:
            offset += rng.expovariate(1 / (3 * 3600))
            talk.append(("public", engineer, offset))
        if rng.random() < 0.2:
            talk.append(("internal", engineer, rng.uniform(talk[0][2], offset + 1)))
            talk.sort(key=lambda item: item[2])
        end = max(item[2] for item in talk)
        if status == "pending":
            paused = end
        elif status in ("resolved", "closed"):
            resolved = end + rng.uniform(60, 3600)
            if status == "closed":
                closed = resolved + rng.uniform(0.5, 5) * 86400
    ends = [item[2] for item in talk] + [value for value in (assigned_at, paused, resolved, closed) if value]
    latest = max(ends, default=0.0)
    room = (now - created).total_seconds() - 60
    squeeze = min(1.0, room / latest) if latest > 0 else 1.0

    def at(offset: float | None) -> datetime | None:
        return None if offset is None else created + timedelta(seconds=offset * squeeze)

    ticket = Ticket(
        number=number,
        subject=subject,
        description=description,
        status=status,
        priority=priority,
        category=category,
        requester=requester,
        assignee=assignee,
        created_at=created,
        sla_paused_at=at(paused),
        resolved_at=at(resolved),
        closed_at=at(closed),
    )
    story = Story(ticket=ticket)
    story.events.append(("created", requester, created, {}, {"status": "new", "priority": priority}))
    if assignee:
        story.events.append(("assigned", assignee, at(assigned_at), {"assignee": None}, {"assignee": assignee.pk}))
    for kind, author, offset in talk:
        when = at(offset)
        if kind == "internal":
            body = html(rng, INTERNAL_NOTES, count=(1, 2))
        elif kind == "follow-up":
            kind, body = "public", html(rng, FOLLOW_UPS, count=(1, 1))
        elif author is requester:
            body = html(rng, REQUESTER_REPLIES, count=(1, 2))
        else:
            body = html(rng, ENGINEER_REPLIES, count=(1, 2))
        story.messages.append((kind, author, when, sanitize_html(body)))
        if kind == "public" and author is engineer and ticket.first_responded_at is None:
            ticket.first_responded_at = when  # ticket_reply: the first response; a new ticket opens
    for before, after, offset, actor in (
        ("open", "pending", paused, engineer),
        ("open", "resolved", resolved, engineer),
        ("resolved", "closed", closed, rng.choice([engineer, requester])),
    ):
        if offset is not None:
            story.events.append(("status", actor, at(offset), {"status": before}, {"status": after}))
    ticket.updated_at = max(
        [created] + [message[2] for message in story.messages] + [event[2] for event in story.events]
    )

    # SLA: sla_apply()'s due times; the flags the periodic check sets while the clock runs.
    if first_minutes is not None:
        ticket.first_response_due = created + timedelta(minutes=first_minutes)
        ticket.resolution_due = created + timedelta(minutes=resolution_minutes)
        running = status in ("new", "open")
        answered = ticket.first_responded_at or (now if running else None)
        ticket.first_response_breached = answered is not None and answered > ticket.first_response_due
        clock_stop = ticket.resolved_at or ticket.sla_paused_at or (now if running else None)
        ticket.resolution_breached = clock_stop is not None and clock_stop > ticket.resolution_due

    # _search_refresh(): subject (A); plain text of the description and public replies (B).
    public = [body for kind, _, _, body in story.messages if kind == Message.Kind.PUBLIC]
    text = " ".join([plain_text(description), *(plain_text(body) for body in public)])
    ticket.search_vector = SearchVector(Value(subject), weight="A", config="english") + SearchVector(
        Value(text[:200_000]), weight="B", config="english"
    )
    return story


def batch_insert(stories: list[Story]) -> None:
    from tenant_apps.tickets.models import Message, Ticket, TicketEvent

    tickets = Ticket.objects.bulk_create([story.ticket for story in stories], batch_size=250)
    messages, events = [], []
    for story, ticket in zip(stories, tickets, strict=True):
        for kind, author, when, body in story.messages:
            messages.append(Message(ticket=ticket, author=author, kind=kind, body=body, created_at=when))
    Message.objects.bulk_create(messages, batch_size=1000)
    by_ticket: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_ticket[message.ticket_id].append(message)
    for story, ticket in zip(stories, tickets, strict=True):
        rows = [(kind, actor, when, before, after) for kind, actor, when, before, after in story.events]
        for message in by_ticket[ticket.pk]:
            kind = "note" if message.kind == Message.Kind.INTERNAL else "reply"
            rows.append((kind, message.author, message.created_at, {}, {"message": message.pk}))
        rows.sort(key=lambda row: row[2])
        events += [
            TicketEvent(ticket=ticket, actor=actor, kind=kind, before=before, after=after, created_at=when)
            for kind, actor, when, before, after in rows
        ]
    TicketEvent.objects.bulk_create(events, batch_size=1000)


def tickets_fill(site: Client, people: People, target: int) -> None:
    """Bulk-insert generated tickets until the site has `target` tickets."""
    from django.db import transaction
    from django.utils import timezone

    from tenant_apps.tickets.models import Category, SLAPolicy, Ticket, TicketCounter

    count = Ticket.objects.count()
    if count >= target:
        return
    categories = {category.slug: category for category in Category.objects.all()}
    policies = {
        policy.priority: (policy.first_response_minutes, policy.resolution_minutes)
        for policy in SLAPolicy.objects.all()
    }
    rng = random.Random(SEED + count)
    now = timezone.now()
    need = target - count
    first_day = now - timedelta(days=SPAN_DAYS)
    spacing = timedelta(days=SPAN_DAYS) / need
    start, done = time.perf_counter(), 0
    while done < need:
        size = min(BATCH, need - done)
        with transaction.atomic():
            counter, _ = TicketCounter.objects.select_for_update().get_or_create(pk=1)
            first_number = counter.last_number + 1
            counter.last_number += size
            counter.save(update_fields=["last_number"])
            stories = [
                story_make(
                    rng,
                    number=first_number + index,
                    created=first_day + spacing * (done + index + rng.random() * 0.9),
                    now=now,
                    people=people,
                    categories=categories,
                    policies=policies,
                )
                for index in range(size)
            ]
            batch_insert(stories)
        done += size
        log(f"  filled {count + done:,} tickets ({time.perf_counter() - start:.1f} s)")


def shares_ensure(people: People) -> None:
    """Share some of Ada's tickets with alice (guardian permissions, through the service)."""
    from guardian.shortcuts import get_objects_for_user

    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Ticket

    shared = get_objects_for_user(
        people.alice,
        "tickets.view_ticket",
        klass=Ticket,
        use_groups=False,
        with_superuser=False,
        accept_global_perms=False,
    )
    missing = SHARED_WITH_ALICE - shared.count()
    if missing <= 0:
        return
    for ticket in (
        Ticket.objects.filter(requester=people.ada).exclude(pk__in=shared.values("pk")).order_by("-number")[:missing]
    ):
        services.ticket_share(ticket=ticket, actor=people.ada, role="admin", colleague=people.alice)


def long_ticket_find() -> Ticket | None:
    from django.db.models import Count

    from tenant_apps.tickets.models import Ticket

    return (
        Ticket.objects.annotate(message_count=Count("messages"))
        .filter(message_count__gte=LONG_MESSAGES)
        .order_by("-number")
        .first()
    )


def long_ticket_create(people: People) -> Ticket:
    """A ticket with LONG_MESSAGES messages, made entirely through the services."""
    from tenant_apps.tickets import services
    from tenant_apps.tickets.models import Category

    rng = random.Random(SEED)
    ticket = services.ticket_create(
        requester=people.alice,
        subject="Outlook keeps asking for my password",
        description=html(rng, DESCRIPTIONS["software"] + DESCRIPTIONS["email"], count=(3, 4)),
        category=Category.objects.get(slug="email"),
        priority="high",
    )
    services.ticket_assign(ticket=ticket, actor=people.ben, role="engineer", assignee=people.ben)
    for index in range(LONG_MESSAGES):
        if (index + 1) % LONG_INTERNAL_EVERY == 0:
            body = html(rng, INTERNAL_NOTES, count=(1, 2))
            services.ticket_reply(ticket=ticket, actor=people.ben, role="engineer", body=body, internal=True)
        elif index % 2 == 0:
            body = html(rng, ENGINEER_REPLIES, count=(1, 3))
            services.ticket_reply(ticket=ticket, actor=people.ben, role="engineer", body=body)
        else:
            body = html(rng, REQUESTER_REPLIES, count=(1, 2))
            services.ticket_reply(ticket=ticket, actor=people.alice, role="staff", body=body)
    return ticket


def search_vectors_check(problems: list[str]) -> None:
    """The bulk-written vectors equal what `_search_refresh()` writes (in a rolled-back transaction)."""
    from django.db import transaction
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from tenant_apps.tickets.models import Ticket
    from tenant_apps.tickets.services import _search_refresh

    def vector(pk: int) -> str:
        return (
            Ticket.objects.filter(pk=pk).annotate(v=Cast("search_vector", TextField())).values_list("v", flat=True)[0]
        )

    sample = list(Ticket.objects.order_by("?")[:SEARCH_CHECK_SAMPLE])
    different = []
    with transaction.atomic():
        for ticket in sample:
            before = vector(ticket.pk)
            _search_refresh(ticket)
            if vector(ticket.pk) != before:
                different.append(ticket.number)
        transaction.set_rollback(True)
    if different:
        problems.append(f"search_vector differs from _search_refresh() on tickets {different}")
    log(f"  search vectors of {len(sample)} random tickets checked against _search_refresh(): {len(different)} differ")


def data_prepare(site: Client, target: int, problems: list[str]) -> tuple[People, Ticket]:
    from django.test.utils import override_settings
    from django_tenants.utils import tenant_context

    from tenant_apps.tickets.models import Ticket

    people = people_get(site)
    with tenant_context(site), override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        count, long_ticket = Ticket.objects.count(), long_ticket_find()
        if count > target or (count == target and long_ticket is None):
            raise SystemExit(f"The site {SITE} has {count:,} tickets, too many for {target:,}: use a new database.")
        changed = count < target
        start = time.perf_counter()
        tickets_fill(site, people, target - (0 if long_ticket else 1))
        shares_ensure(people)
        if long_ticket is None:
            long_ticket = long_ticket_create(people)
            log(f"  ticket #{long_ticket.number} with {LONG_MESSAGES} messages created through the services")
        if changed:
            cross_site_index_rebuild(site)
            log(f"data ready in {time.perf_counter() - start:.1f} s")
        search_vectors_check(problems)
        if Ticket.objects.count() != target:
            problems.append(f"the site has {Ticket.objects.count():,} tickets, not {target:,}")
    settle()
    return people, long_ticket


def data_summary(site: Client) -> None:
    from django.db.models import Count
    from django_tenants.utils import tenant_context

    from tenant_apps.tickets.models import Message, Ticket, TicketEvent

    with tenant_context(site):
        statuses = dict(Ticket.objects.values_list("status").annotate(n=Count("pk")).order_by("status"))
        kinds = dict(Message.objects.values_list("kind").annotate(n=Count("pk")).order_by("kind"))
        log(
            f"site {SITE}: {Ticket.objects.count():,} tickets {statuses}, messages {kinds}, "
            f"{TicketEvent.objects.count():,} events, breached: "
            f"{Ticket.objects.filter(first_response_breached=True).count():,} first response, "
            f"{Ticket.objects.filter(resolution_breached=True).count():,} resolution"
        )


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Scenario:
    key: str
    title: str
    user: User
    role: str
    path: str
    expected: int  # tickets matching (lists) or message cards (the page)
    shown: str  # what `expected` counts, for the table
    samples: list[float] = field(default_factory=list)  # seconds
    queries: list[str] = field(default_factory=list)
    profile: list[list[tuple[str, list, float]]] = field(default_factory=list)  # per request: (sql, params, s)


def scenarios_make(site: Client, people: People, long_ticket: Ticket, query: str) -> list[Scenario]:
    from django_tenants.utils import tenant_context

    from tenant_apps.tickets import selectors

    def matching(user: User, role: str, **filters: str) -> int:
        return selectors.ticket_list_for(user=user, role=role, **filters).count()

    with tenant_context(site):
        mine = matching(people.alice, "staff")
        everything = matching(people.ben, "engineer")
        found = matching(people.ben, "engineer", query=query)
        cards = 1 + long_ticket.messages.count()
    return [
        Scenario("alice", "List, requester alice (own + shared)", people.alice, "staff", "/tickets/", mine,
                 f"{mine:,} tickets"),
        Scenario("ben", "List, engineer ben (all), last update first", people.ben, "engineer", "/tickets/",
                 everything, f"{everything:,} tickets"),
        Scenario("sla", "List, engineer ben, `?sort=sla`", people.ben, "engineer", "/tickets/?sort=sla",
                 everything, f"{everything:,} tickets"),
        Scenario("search", f"List, engineer ben, `?q={query}`", people.ben, "engineer",
                 f"/tickets/?q={quote_plus(query)}", found, f"{found:,} tickets"),
        Scenario("page", f"Ticket page #{long_ticket.number}, engineer ben", people.ben, "engineer",
                 f"/tickets/{long_ticket.number}/", cards, f"{cards - 1} messages"),
    ]  # fmt: skip


BADGE = re.compile(r'<span class="badge text-bg-secondary align-middle">([\d,]+)</span>')  # the list's ticket count


def response_check(scenario: Scenario, response: Any, page_size: int) -> str | None:
    if response.status_code != 200:
        return f"{scenario.key}: status {response.status_code}"
    content = response.content.decode()
    if scenario.key == "page":
        cards = content.count('<article class="card mb-3')
        return None if cards == scenario.expected else f"page: {cards} message cards, expected {scenario.expected}"
    badge = BADGE.search(content)
    rows = len(re.findall(r"<tr[\s>]", content.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]))
    count = int(badge.group(1).replace(",", "")) if badge else None
    if count != scenario.expected or rows != min(page_size, scenario.expected):
        return f"{scenario.key}: badge {count}, {rows} rows, expected {scenario.expected}"
    return None


@contextmanager
def sql_timer() -> Iterator[list[tuple[str, list, float]]]:
    """Time every query the ORM sends through the default connection."""
    from django.db import connection

    timings: list[tuple[str, list, float]] = []

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((sql, list(params or ()), time.perf_counter() - start))

    with connection.execute_wrapper(wrapper):
        yield timings


def describe(sql: str) -> str:
    """A short name for a query: its main table, COUNT or rows, LIMIT."""
    if sql.startswith("SET "):
        return " ".join(sql.split()[:2])
    table = re.search(r'\bFROM "(\w+)"', sql)
    name = table.group(1) if table else sql.split()[0]
    kind = "COUNT" if re.match(r"SELECT COUNT\(", sql) else "rows"
    limit = re.search(r"LIMIT (\d+)", sql)
    return f"{name} {kind}" + (f" LIMIT {limit.group(1)}" if limit else "")


def measure(scenarios: list[Scenario], args: argparse.Namespace, problems: list[str]) -> int:
    """Warm up, count the queries, time the runs round-robin, then the per-query profile pass.
    Returns the number of new database connections opened during the timed runs."""
    from django.conf import settings
    from django.db import close_old_connections, connection
    from django.db.backends.signals import connection_created
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from tenant_apps.tickets.views import PAGE_SIZE

    host = f"{SITE}.{settings.ROOT_DOMAIN}"
    clients: dict[str, HttpClient] = {}
    for scenario in scenarios:
        if scenario.user.email not in clients:
            clients[scenario.user.email] = HttpClient(HTTP_HOST=host)
            clients[scenario.user.email].force_login(scenario.user)

    def get(scenario: Scenario) -> Any:
        # What Django's WSGI handler does on request_started and request_finished, and the test
        # client leaves out: replace a connection past CONN_MAX_AGE, and arm the health check.
        close_old_connections()
        response = clients[scenario.user.email].get(scenario.path, secure=True)
        close_old_connections()
        return response

    for scenario in scenarios:
        for _ in range(args.warmup):
            problem = response_check(scenario, get(scenario), PAGE_SIZE)
            if problem:
                problems.append(problem)
                break
        with CaptureQueriesContext(connection) as captured:
            get(scenario)
        scenario.queries = [query["sql"] for query in captured.captured_queries]

    reconnects = [0]

    def counted(**kwargs: Any) -> None:
        reconnects[0] += 1

    connection_created.connect(counted)
    with machine_load(f"timed runs ({args.runs} x {len(scenarios)} requests)"):
        for run in range(args.runs):
            for scenario in scenarios[run % len(scenarios) :] + scenarios[: run % len(scenarios)]:
                start = time.perf_counter()
                get(scenario)
                scenario.samples.append(time.perf_counter() - start)
    connection_created.disconnect(counted)

    for _ in range(args.profile_runs):
        for scenario in scenarios:
            with sql_timer() as timings:
                get(scenario)
            scenario.profile.append(timings)
    return reconnects[0]


def explain(site: Client, sql: str, params: list) -> list[str]:
    from django.db import connection
    from django_tenants.utils import tenant_context

    with tenant_context(site), connection.cursor() as cursor:
        timings = []
        for _ in range(EXPLAIN_RUNS):  # without per-node timing, which slows down a plan over many rows
            cursor.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql, params)
            timings.append(cursor.fetchone()[0][0]["Execution Time"])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = [row[0] for row in cursor.fetchall()]
    return [f"Execution Time without per-node timing (TIMING OFF), median of {EXPLAIN_RUNS}: "
            f"{statistics.median(timings):.3f} ms", *plan]  # fmt: skip


# --- reporting ---------------------------------------------------------------------------


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def query_medians(scenario: Scenario) -> list[tuple[str, list, float]]:
    """Per query position: (sql, params, median seconds) over the profile runs."""
    lengths = {len(timings) for timings in scenario.profile}
    if len(lengths) != 1:
        raise RuntimeError(f"{scenario.key}: the number of queries varies between requests: {sorted(lengths)}")
    return [
        (rows[0][0], rows[0][1], statistics.median(row[2] for row in rows))
        for rows in zip(*scenario.profile, strict=True)
    ]


def results_table(scenarios: list[Scenario]) -> str:
    header = ["Request", "Matching", "Queries", "Median, ms", "p95, ms", "Max, ms"]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---:|---:|---:|---:|"]
    for s in scenarios:
        cells = [s.title, s.shown, str(len(s.queries)), ms(statistics.median(s.samples)), ms(p95(s.samples))]
        lines.append("| " + " | ".join(cells + [ms(max(s.samples))]) + " |")
    return "\n".join(lines)


def queries_table(scenarios: list[Scenario]) -> str:
    header = ["Request", "SQL per request (median), ms", "Slowest query", "Its median, ms"]
    lines = ["| " + " | ".join(header) + " |", "|---|---:|---|---:|"]
    for s in scenarios:
        medians = query_medians(s)
        slowest = max(medians, key=lambda row: row[2])
        total = statistics.median(sum(row[2] for row in timings) for timings in s.profile)
        lines.append(f"| {s.title} | {ms(total)} | `{describe(slowest[0])}` | {ms(slowest[2])} |")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000, help="tickets on the site acme, in total")
    parser.add_argument("--runs", type=int, default=200, help="timed requests of each kind")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests of each kind first")
    parser.add_argument("--profile-runs", type=int, default=30, help="requests of each kind timed per SQL query")
    parser.add_argument("--query", default=DEFAULT_QUERY, help="the full-text search measured")
    parser.add_argument("--show-queries", action="store_true", help="print every query of each request")
    parser.add_argument("--explain-all", action="store_true", help="EXPLAIN the slowest query of every request")
    args = parser.parse_args(argv)
    if args.tickets < 10 or args.runs < 20 or args.warmup < 1 or args.profile_runs < 1:
        parser.error("--tickets at least 10, --runs at least 20, --warmup and --profile-runs at least 1")
    return args


@contextmanager
def static_files_collected() -> Iterator[None]:
    """DEBUG=0 uses the manifest storage, which needs `collectstatic`: into a temporary STATIC_ROOT,
    so the project's own var/staticfiles is left alone."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    root = tempfile.mkdtemp(prefix="tenantdesk-bench-static-")
    try:
        with override_settings(STATIC_ROOT=root):
            call_command("collectstatic", interactive=False, verbosity=0)
            yield
    finally:
        shutil.rmtree(root, ignore_errors=True)


def code_version() -> str:
    """The commit measured, and the tracked files that differ from it (others' work in progress)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout  # noqa: S603, S607

    try:
        head, changed = (
            git("rev-parse", "--short", "HEAD").strip(),
            git("status", "--porcelain", "--untracked-files=no"),
        )
    except OSError:
        return "unknown"
    modified = [line[3:] for line in changed.splitlines()]
    return (head or "unknown") + (f" + uncommitted changes in {', '.join(modified)}" if modified else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    if settings.DEBUG:
        log("warning: DEBUG is on (query log in memory, development static files); run with DEBUG=0")
    log(
        f"database {connection.settings_dict['NAME']}, {args.tickets:,} tickets, {args.runs} runs, "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, "
        f"Django {django.get_version()}, CONN_MAX_AGE {connection.settings_dict['CONN_MAX_AGE']}"
    )
    log(f"code: {code_version()}")
    problems: list[str] = []
    site = site_prepare()
    people, long_ticket = data_prepare(site, args.tickets, problems)
    data_summary(site)
    scenarios = scenarios_make(site, people, long_ticket, args.query)

    with static_files_collected():
        reconnects = measure(scenarios, args, problems)
    log(f"new database connections during the timed runs: {reconnects}")

    log("\n" + results_table(scenarios) + "\n")
    log(queries_table(scenarios) + "\n")
    slowest = {scenario.key: max(query_medians(scenario), key=lambda row: row[2]) for scenario in scenarios}
    overall = max(slowest, key=lambda key: slowest[key][2])
    for scenario in scenarios:
        log(f"{scenario.title}: {len(scenario.queries)} queries (median ms each)")
        for sql, _params, seconds in query_medians(scenario):
            log(f"  {ms(seconds):>6}  {describe(sql)}" + (f"\n          {sql}" if args.show_queries else ""))
        if args.explain_all or scenario.key == overall:
            sql, params, seconds = slowest[scenario.key]
            log(f"  slowest ({ms(seconds)} ms): {sql}\n  params {params}\n  EXPLAIN (ANALYZE, BUFFERS):")
            for line in explain(site, sql, params):
                log(f"    {line}")
        log("")
    slow = [s.title for s in scenarios if p95(s.samples) * 1000 > SLOW_MS]
    log(f"p95 over {SLOW_MS:.0f} ms: {', '.join(slow) if slow else 'none'}")
    for problem in problems:
        log(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
