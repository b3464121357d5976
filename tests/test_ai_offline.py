"""The offline AI provider: a real classifier trained on the shipped tickets, scored on the
held-out split it never saw; per-site retraining; retrieval-based drafts; `manage.py ai_eval`."""

import hashlib
import json
import re
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenant_apps.ai.providers import provider_by_name
from tenant_apps.ai.providers.base import (
    CATEGORY_SLUGS,
    PRIORITIES,
    KnowledgeSnippet,
    Thread,
    TicketText,
    Turn,
)
from tenant_apps.ai.providers.offline import (
    OfflineProvider,
    _stem,
    clear_cache,
    load_labelled,
    models_for,
    snippet_steps,
    summarize,
)

DATA = Path(__file__).resolve().parent.parent / "tenant_apps" / "ai" / "data"
TRAINING = DATA / "tickets.jsonl"
HELDOUT = DATA / "tickets_heldout.jsonl"
LAST_LINE = re.compile(r"^category_accuracy=(\d\.\d\d) priority_accuracy=(\d\.\d\d) n=(\d+)$")

VPN_ARTICLE = KnowledgeSnippet(
    "Connect to the VPN from home",
    "1. Open GlobalProtect from the system tray.\n2. Enter vpn.acme.example as the portal.\n"
    "3. Sign in with your work account and approve the MFA prompt.\n"
    "4. If it says gateway not responding, restart the laptop and connect again.",
    url="https://acme.example/kb/vpn",
)
MAILBOX_ARTICLE = KnowledgeSnippet(
    "Add a shared mailbox in Outlook",
    "- File > Account settings > Account settings.\n- Select your account, More settings, Advanced.\n"
    "- Add the shared mailbox by name and restart Outlook.",
    url="https://acme.example/kb/shared-mailbox",
)
PRINTER_TICKET = KnowledgeSnippet(
    "Ricoh on floor 2 jams in tray 2",
    "The paper guide in tray 2 was loose. Reseated the guide and cleaned the feed rollers; no jams since.",
    source="ticket",
)
KB = [MAILBOX_ARTICLE, PRINTER_TICKET, VPN_ARTICLE]


def run_eval(path, *args) -> list[str]:
    out = StringIO()
    call_command("ai_eval", str(path), *args, stdout=out)
    return out.getvalue().rstrip("\n").splitlines()


def write_lines(tmp_path, *lines: str) -> Path:
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def labelled(subject="Printer jammed", description="Tray 2 jams", category="hardware", priority="medium") -> str:
    return json.dumps({"subject": subject, "description": description, "category": category, "priority": priority})


# --- the shipped data ------------------------------------------------------------------------


def test_shipped_sets_are_large_enough_and_cover_every_label():
    training, heldout = load_labelled(TRAINING), load_labelled(HELDOUT)
    assert len(training) >= 480 and len(heldout) >= 100
    assert len(heldout) / (len(training) + len(heldout)) == pytest.approx(0.2, abs=0.03)
    categories = Counter(e.category for e in training)
    assert set(categories) == set(CATEGORY_SLUGS) and min(categories.values()) >= 45
    assert set(e.priority for e in training) == set(PRIORITIES)
    assert set(e.category for e in heldout) == set(CATEGORY_SLUGS)
    assert set(e.priority for e in heldout) == set(PRIORITIES)


def test_heldout_split_shares_no_ticket_with_training_and_follows_the_hash_rule():
    training, heldout = load_labelled(TRAINING), load_labelled(HELDOUT)
    assert not {e.subject.lower() for e in training} & {e.subject.lower() for e in heldout}
    assert not {e.description.lower() for e in training} & {e.description.lower() for e in heldout}

    def held_out(e) -> bool:
        return int(hashlib.sha256(f"{e.subject}\n{e.description}".encode()).hexdigest(), 16) % 5 == 0

    assert all(held_out(e) for e in heldout)
    assert not any(held_out(e) for e in training)


# --- categorization --------------------------------------------------------------------------


def test_heldout_accuracy_meets_the_targets_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        lines = run_eval(HELDOUT)
    category_accuracy, priority_accuracy, n = LAST_LINE.match(lines[-1]).groups()
    heldout = load_labelled(HELDOUT)
    assert int(n) == len(heldout)
    # The targets on the exact fractions, not on the two decimals the command prints
    # (0.897 prints as 0.90); the printed line agrees with them.
    provider = OfflineProvider()
    results = [provider.categorize(TicketText(e.subject, e.description)) for e in heldout]
    category_right = sum(r.category_slug == e.category for r, e in zip(results, heldout, strict=True))
    priority_right = sum(r.priority == e.priority for r, e in zip(results, heldout, strict=True))
    assert category_right / len(heldout) >= 0.90
    assert priority_right / len(heldout) >= 0.70
    assert category_accuracy == f"{category_right / len(heldout):.2f}"
    assert priority_accuracy == f"{priority_right / len(heldout):.2f}"


def test_categorize_returns_a_calibrated_site_category_with_a_summary():
    subject = "RE: URGENT!!! help"
    description = "Since 9am nobody in the office can get on the internet, wifi or cable. The whole team is stuck."
    result = OfflineProvider().categorize(TicketText(subject, description))
    assert result.category_slug == "network"
    assert result.priority == "urgent"
    assert 0.5 < result.confidence <= 1.0
    assert result.confidence == json.loads(result.raw)["category"]["network"]
    assert result.summary == "Since 9am nobody in the office can get on the internet, wifi or cable."
    assert result.model == "offline-tfidf-1"
    assert result.tokens_in == len(subject.split()) + len(description.split()) == 22
    assert result.tokens_out == len(result.summary.split()) + 2


def test_summary_is_one_cleaned_line_of_at_most_120_characters():
    assert summarize("FW: [External] Outlook keeps crashing", "") == "Outlook keeps crashing"
    long = summarize("help", "word " * 100)
    assert len(long) <= 120 and long.endswith("…") and "\n" not in long


def test_same_input_gives_the_same_output_from_fresh_instances_and_retrained_models():
    ticket = TicketText("Laptop won't turn on", "No lights at all after charging overnight, I can't work.")
    thread = Thread("VPN", (Turn("requester", "Alice Smith", "VPN says gateway not responding"),))
    clear_cache()
    first = OfflineProvider().categorize(ticket), OfflineProvider().draft_reply(thread, KB)
    clear_cache()
    second = OfflineProvider().categorize(ticket), OfflineProvider().draft_reply(thread, KB)
    assert first == second


def test_disabled_category_is_never_proposed():
    ticket = TicketText("Emails bouncing", "Every email I send to our supplier bounces with 550 5.7.1 rejected.")
    assert OfflineProvider().categorize(ticket).category_slug == "email"

    allowed = ("network", "hardware", "software", "access", "security", "other")
    result = OfflineProvider().categorize(TicketText(ticket.subject, ticket.description, allowed))
    probabilities = json.loads(result.raw)["category"]
    assert result.category_slug in allowed
    assert result.category_slug == max(allowed, key=probabilities.get)
    assert result.confidence == probabilities[result.category_slug]


def test_site_corrections_retrain_the_model_for_that_site_only():
    """A site whose engineers file badge-reader problems under access, not hardware."""
    ticket = TicketText("Badge reader not letting me in", "The badge reader at the side door flashes red for my badge.")
    assert OfflineProvider().categorize(ticket).category_slug == "hardware"

    corrections = [
        {"subject": subject, "description": description, "category": "access", "priority": "medium"}
        for subject, description in (
            ("Badge reader rejects my card", "My badge doesn't open the 3rd floor door since Monday."),
            ("Badge not working at main entrance", "The reader beeps red when I swipe my badge in the morning."),
            ("Door badge reader says denied", "Badge reader at the car park gate shows access denied for me."),
            ("New badge doesn't open the lab", "I got a new badge and the reader at the lab door won't accept it."),
        )
    ]
    site = OfflineProvider(examples=corrections)
    assert site.categorize(ticket).category_slug == "access"
    assert models_for(site.examples) is models_for(OfflineProvider(examples=reversed(corrections)).examples)
    assert OfflineProvider().categorize(ticket).category_slug == "hardware"  # other sites keep the shipped model


def test_site_category_unknown_to_the_shipped_set_is_learned_from_five_examples():
    examples = [
        {
            "subject": f"Desk booking app: {problem}",
            "description": f"The desk booking app {problem} again.",
            "category": "facilities",
        }
        for problem in ("shows no desks", "double-booked my desk", "won't release desks", "lost my booking", "is empty")
    ]
    ticket = TicketText(
        "Desk booking app shows no free desks",
        "The desk booking app shows no desks on floor 4.",
        (*CATEGORY_SLUGS, "facilities"),
    )
    assert OfflineProvider(examples=examples[:4]).categorize(ticket).category_slug != "facilities"
    assert OfflineProvider(examples=examples).categorize(ticket).category_slug == "facilities"


# --- drafts ----------------------------------------------------------------------------------


def test_draft_uses_the_most_relevant_snippet_and_cites_it():
    thread = Thread(
        "VPN not connecting",
        (Turn("requester", "Alice Smith", "Working from home, GlobalProtect says gateway not responding."),),
    )
    draft = OfflineProvider().draft_reply(thread, KB)
    assert draft.sources[0] == VPN_ARTICLE
    assert PRINTER_TICKET not in draft.sources
    assert draft.text.startswith("Hi Alice,\n\n")
    assert "1. Open GlobalProtect from the system tray." in draft.text
    assert "Connect to the VPN from home (https://acme.example/kb/vpn)" in draft.text
    assert "?" in draft.text.split("\n\n")[-2]  # closes with a question before the sign-off
    assert draft.tokens_out == len(draft.text.split()) and draft.tokens_in > draft.tokens_out


def test_assistant_reply_leaves_its_articles_to_the_page():
    thread = Thread("VPN not connecting", (Turn("requester", "Alice Smith", "GlobalProtect: gateway not responding."),))
    answer = OfflineProvider().assistant_reply(thread, KB)
    assert answer.sources[0] == VPN_ARTICLE  # the thread shows it as a link under the answer
    assert "1. Open GlobalProtect from the system tray." in answer.text
    assert "Articles used" not in answer.text
    assert "https://acme.example/kb/vpn" not in answer.text


def test_latest_requester_message_weighs_most():
    thread = Thread(
        "Printer and other things",
        (
            Turn("requester", "Bob", "The Ricoh on floor 2 jams in tray 2 again."),
            Turn("engineer", "Eve", "Thanks, we'll look at the printer."),
            Turn("requester", "Bob", "Printer is fine now. But I can't add the shared mailbox in Outlook."),
        ),
    )
    assert OfflineProvider().assistant_reply(thread, KB).sources[0] == MAILBOX_ARTICLE


def test_assistant_reply_cites_a_resolved_ticket_and_offers_to_resolve():
    thread = Thread("Printer jam", (Turn("requester", "bob@acme.example", "Ricoh floor 2 keeps jamming in tray 2"),))
    draft = OfflineProvider().assistant_reply(thread, KB)
    assert draft.sources[0] == PRINTER_TICKET
    assert draft.text.startswith("Hi Bob,")
    assert 'a similar ticket we resolved before ("Ricoh on floor 2 jams in tray 2")' in draft.text
    assert "mark the ticket as solved" in draft.text


def test_another_form_of_the_same_word_matches_as_in_the_knowledge_base_search():
    # GLOBEX-1 of the demo: the page lists this article (PostgreSQL stems "bouncing" and
    # "bounced" alike); the answer must not say it found none.
    bounced = KnowledgeSnippet(
        "My email bounced: what to check",
        "- Check the address for typos.\n- Files over 25 MB bounce: share a link instead.",
        url="/kb/my-email-bounced/",
    )
    thread = Thread(
        "Email bouncing for all staff",
        (Turn("requester", "Gary", "Since 9:00."), Turn("engineer", "Ana", "Checking the MX records.")),
    )
    answer = OfflineProvider().assistant_reply(thread, [PRINTER_TICKET, bounced])
    assert answer.sources == (bounced,) and "1. Check the address for typos." in answer.text
    assert [_stem(w) for w in ("bounce", "bounces", "bounced", "bouncing")] == ["bounc"] * 4
    assert [_stem(w) for w in ("drops", "dropped", "dropping", "printers", "batteries", "status")] == [
        "drop", "drop", "drop", "printer", "battery", "status",
    ]  # fmt: skip


def test_without_a_similar_snippet_the_draft_asks_what_a_technician_needs():
    thread = Thread("Emails bouncing", (Turn("requester", "Carol", "Emails to one client bounce with 550."),))
    draft = OfflineProvider().draft_reply(thread, [PRINTER_TICKET])
    assert draft.sources == ()
    assert "bounce message" in draft.text  # the email questions, category predicted from the thread
    network = Thread("Slow", (Turn("requester", "Carol", "It's slow."),), category="network")
    assert "Wi-Fi or a cable" in OfflineProvider().draft_reply(network, []).text


# The demo's "Connect to the office VPN" as the knowledge base hands it over (richtext.outline_text).
VPN_HOWTO = KnowledgeSnippet(
    "Connect to the office VPN",
    "You need the VPN to reach file shares and the intranet from home.\n"
    "1. Open GlobalProtect from the system tray.\n2. Enter vpn.acme.example as the portal and sign in.\n"
    "3. Approve the sign-in on your phone.\nIf it drops\n"
    "Disconnect, wait ten seconds and connect again. If it drops more than twice a day, open a ticket.",
)
PASSWORD_PROSE = KnowledgeSnippet(
    "Reset your password",
    "Passwords expire every 90 days. To change yours before then, press Ctrl+Alt+Del and choose Change a "
    "password. Forgotten it? Use the Forgot password link on the sign-in page; the code goes to your phone.\n"
    "A good password is long: three or four unrelated words work well.",
)


def test_only_an_articles_list_items_are_its_steps():
    assert snippet_steps(VPN_HOWTO.text) == [
        "Open GlobalProtect from the system tray.",
        "Enter vpn.acme.example as the portal and sign in.",
        "Approve the sign-in on your phone.",
    ]
    assert snippet_steps(MAILBOX_ARTICLE.text)[0] == "File > Account settings > Account settings."


def test_lines_that_give_instructions_are_steps_a_single_one_in_prose_is_not():
    assert snippet_steps("Restart the laptop.\nOpen Settings, then Update.\nThe update takes ten minutes.") == [
        "Restart the laptop.",
        "Open Settings, then Update.",
    ]
    assert snippet_steps(PASSWORD_PROSE.text) == []
    assert snippet_steps(PRINTER_TICKET.text) == []
    assert snippet_steps("Do not click links. If you already clicked, change your password now.") == []


def test_an_article_of_prose_is_quoted_as_a_paragraph_of_its_relevant_sentences():
    thread = Thread("Forgot my password", (Turn("requester", "Alice", "I forgot my password and I'm locked out."),))
    for answer in (
        OfflineProvider().assistant_reply(thread, [PASSWORD_PROSE]),
        OfflineProvider().draft_reply(thread, [PASSWORD_PROSE]),
    ):
        assert answer.sources == (PASSWORD_PROSE,)
        assert not re.search(r"^\d+\. ", answer.text, re.MULTILINE)  # nothing numbered
        paragraph = next(block for block in answer.text.split("\n\n") if "Forgot password link" in block)
        assert "\n" not in paragraph  # one paragraph, not one sentence per line
        assert "three or four unrelated words" not in paragraph  # not relevant to a forgotten password


def test_an_article_with_steps_numbers_the_steps_only():
    thread = Thread("VPN", (Turn("requester", "Alice", "How do I connect to the VPN from home?"),))
    answer = OfflineProvider().assistant_reply(thread, [VPN_HOWTO])
    numbered = re.findall(r"^(\d+)\. (.*)$", answer.text, re.MULTILINE)
    assert [text for _, text in numbered] == snippet_steps(VPN_HOWTO.text)
    assert "You need the VPN" not in answer.text  # the article's introduction is not a step


@pytest.mark.parametrize("for_requester", [False, True])
def test_stream_draft_chunks_concatenate_to_the_draft(settings, for_requester):
    settings.AI_OFFLINE_STREAM_DELAY = 0
    thread = Thread("VPN", (Turn("requester", "Alice", "GlobalProtect gateway not responding"),))
    provider = OfflineProvider()
    chunks = list(provider.stream_draft(thread, KB, for_requester=for_requester))
    expected = provider.assistant_reply(thread, KB) if for_requester else provider.draft_reply(thread, KB)
    assert "".join(chunks) == expected.text
    assert len(chunks) > 20 and all(len(chunk.split()) <= 1 for chunk in chunks)


# --- manage.py ai_eval -----------------------------------------------------------------------


def test_ai_eval_prints_per_class_tables_and_the_accuracy_as_last_line(tmp_path):
    path = write_lines(
        tmp_path,
        labelled(),
        "",
        labelled("Clicked a phishing link", "I typed my password on a fake Microsoft page", "security", "urgent"),
        labelled("VPN down", "GlobalProtect can't connect from home, I can't work", "network", "high"),
    )
    lines = run_eval(path, "--provider", "offline")
    assert LAST_LINE.match(lines[-1]) and lines[-1].endswith(" n=3")
    assert lines[-1] == "category_accuracy=1.00 priority_accuracy=1.00 n=3"
    header = lines.index("category     precision    recall        f1   support")
    assert lines[header + 1].split() == ["network", "1.00", "1.00", "1.00", "1"]
    assert any(line.split()[:1] == ["urgent"] for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (labelled() + "\n{not json\n", "line 2: not valid JSON"),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        (json.dumps({"subject": "x", "description": "y"}) + "\n", "line 1: missing category, priority"),
        (labelled() + "\n" + labelled(priority="critical") + "\n", "line 2: priority 'critical' is not one of"),
        (labelled(category="") + "\n", "line 1: empty category"),
        (labelled(subject="", description=" ") + "\n", "line 1: subject and description are both empty"),
        ("\n\n", "no labelled lines"),
    ],
)
def test_ai_eval_names_the_bad_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(message)):
        run_eval(path)


def test_ai_eval_reports_a_missing_file_and_an_unknown_provider(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_eval(tmp_path / "missing.jsonl")
    with pytest.raises(CommandError, match="Unknown AI provider 'nope'"):
        run_eval(write_lines(tmp_path, labelled()), "--provider", "nope")


def test_registry_builds_the_offline_provider_with_options():
    provider = provider_by_name("offline", model="offline-tfidf-1", examples=[], timeout=20)
    assert isinstance(provider, OfflineProvider) and provider.name == "offline"


def test_greeting_uses_a_first_name_never_a_mailbox_name():
    def greeting(author: str) -> str:
        thread = Thread("Printer jam", (Turn("requester", author, "Ricoh floor 2 jams in tray 2"),))
        return OfflineProvider().draft_reply(thread, KB).text.split("\n", 1)[0]

    assert greeting("Jane Doe") == "Hi Jane,"
    assert greeting("jane.doe@acme.example") == "Hi Jane,"
    assert greeting("staff@acme.example") == "Hello,"
