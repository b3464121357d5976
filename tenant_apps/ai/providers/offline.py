"""The offline provider: a local text classifier and retrieval-based reply drafts, no network.

Categorization. Two linear models on one TF-IDF representation of "subject. subject.
description" (word 1-2-grams plus character 2-5-grams inside word boundaries, which survive
typos such as "outlok" or "pasword"): a linear SVM per field, calibrated with 5-fold sigmoid
calibration (`CalibratedClassifierCV`) so that `confidence` is a predicted probability. Trained on
the labelled tickets shipped in `tenant_apps/ai/data/tickets.jsonl` (never on
`tickets_heldout.jsonl`) plus, per site, the tickets its engineers corrected (`examples`), each
weighted `SITE_EXAMPLE_WEIGHT` times a shipped one; a site example with the same text as a shipped
ticket replaces it. Fixed random states and sorted inputs make training deterministic. Trained
models are cached per process, keyed by a hash of the site examples (the shipped-only model is
trained once per process).

Drafts. The knowledge snippets the service passes (articles and resolved tickets) are ranked by
TF-IDF cosine similarity to the conversation: the latest requester message weighs most, then the
subject, then the rest of the thread. The reply numbers the steps of the best snippet (its list
items, or its instruction lines) or, when it has none, quotes its sentences most relevant to the
conversation as a short paragraph, and names the other close ones. Words are compared by their
stem (`_stem`: "bounced", "bounces" and "bouncing" are one term), as the knowledge base's
PostgreSQL search compares them, so an article the ticket page lists as related is not rated
unrelated here for using another form of the same word. With nothing similar enough it asks for
the details a technician needs for the ticket's category (predicted from the thread when the
ticket has none).

Token counts are whitespace-separated words: `tokens_in` counts what the model read (subject and
description; for drafts the thread and every candidate snippet), `tokens_out` what it wrote (the
summary; the draft). They are comparable across calls of this provider, not with a remote
model's sub-word tokens.

No ORM access here: the service turns rows into `TicketText`, `Thread`, `KnowledgeSnippet` and
examples before calling.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenant_apps.ai.providers.base import (
    CATEGORY_SLUGS,
    PRIORITIES,
    Categorization,
    Draft,
    KnowledgeSnippet,
    ProviderError,
    Thread,
    TicketText,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
TRAINING_FILE = DATA_DIR / "tickets.jsonl"

DEFAULT_MODEL = "offline-tfidf-1"
SITE_EXAMPLE_WEIGHT = 3.0
# A category the shipped set does not know is learned once a site has this many examples of it
# (the calibration's 5-fold split needs at least one per fold).
MIN_EXAMPLES_PER_NEW_CLASS = 5
MAX_CACHED_MODELS = 16
MAX_TEXT_CHARS = 4000  # longer descriptions add nothing to the category, only time
SUMMARY_MAX_CHARS = 120
MIN_SNIPPET_SIMILARITY = 0.12
MAX_SOURCES = 3
MAX_STEPS = 8


@dataclass(frozen=True)
class LabelledExample:
    """One labelled ticket; `priority` may be empty when only the category was corrected."""

    subject: str
    description: str
    category: str
    priority: str = ""


def _field(item: Any, name: str) -> str:
    value = item.get(name, "") if isinstance(item, dict) else getattr(item, name, "")
    return str(value or "").strip()


def coerce_examples(items: Iterable[Any]) -> tuple[LabelledExample, ...]:
    """Dicts or objects with subject/description/category/priority -> sorted, de-duplicated examples.

    Items without a category or without any text are skipped; an unknown priority is dropped
    (the example still teaches the category). A later item with the same text wins.
    """
    by_text: dict[tuple[str, str], LabelledExample] = {}
    for item in items:
        subject, description = _field(item, "subject"), _field(item, "description")
        category, priority = _field(item, "category"), _field(item, "priority")
        if not category or not (subject or description):
            continue
        by_text[(subject, description)] = LabelledExample(
            subject, description, category, priority if priority in PRIORITIES else ""
        )
    return tuple(sorted(by_text.values(), key=lambda e: (e.subject, e.description, e.category, e.priority)))


def load_labelled(path: Path | str) -> list[LabelledExample]:
    """Read a JSONL file of labelled tickets (the shipped set's format)."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                rows.append(LabelledExample(row["subject"], row["description"], row["category"], row["priority"]))
    return rows


# "not urgent", "no rush": one token each, so that "urgent" alone keeps its own meaning.
_NEGATED_URGENCY = re.compile(
    r"\b(?:not|no|nothing|isn'?t)\s+(?:that\s+|very\s+|too\s+|super\s+)?(urgent|rush|hurry|emergency|critical|important)\b",
    re.IGNORECASE,
)


def model_text(subject: str, description: str) -> str:
    """The text the classifier sees: the subject twice (it carries most of the signal)."""
    text = f"{subject} . {subject} . {description[:MAX_TEXT_CHARS]}"
    return _NEGATED_URGENCY.sub(lambda m: f"not_{m.group(1).lower()}", text)


def _word_count(*texts: str) -> int:
    return sum(len(t.split()) for t in texts)


# --- training and the per-process model cache ---------------------------------------------------


@dataclass
class TrainedModels:
    vectorizer: Any
    category: Any  # CalibratedClassifierCV
    priority: Any
    train_seconds: float
    n_shipped: int
    n_site: int


_CACHE: OrderedDict[str, TrainedModels] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_TRAINING_LOCKS: dict[str, threading.Lock] = {}
_SHIPPED: list[LabelledExample] | None = None


def shipped_examples() -> list[LabelledExample]:
    global _SHIPPED
    if _SHIPPED is None:
        _SHIPPED = sorted(load_labelled(TRAINING_FILE), key=lambda e: (e.subject, e.description))
    return _SHIPPED


def examples_key(examples: Sequence[LabelledExample]) -> str:
    if not examples:
        return "shipped"
    payload = json.dumps([[e.subject, e.description, e.category, e.priority] for e in examples])
    return hashlib.sha256(payload.encode()).hexdigest()


def make_vectorizer():
    """Word 1-2-grams plus character 2-5-grams inside word boundaries, TF-IDF, sublinear."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, strip_accents="unicode"
                ),
            ),
        ]
    )


def make_classifier():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    # cv=5 is an unshuffled StratifiedKFold: deterministic for a given input order.
    return CalibratedClassifierCV(LinearSVC(C=0.5, random_state=0), cv=5, method="sigmoid")


def train(examples: Sequence[LabelledExample] = ()) -> TrainedModels:
    """Train both models on the shipped set plus the site's examples (weighted)."""
    from threadpoolctl import threadpool_limits

    # One BLAS/OpenMP thread: extra threads only spin on these small problems, tripling the CPU
    # time (measured: 3.3 s -> 0.9 s) and stealing it from the web or worker process around us.
    with threadpool_limits(limits=1):
        return _train(examples)


def _train(examples: Sequence[LabelledExample]) -> TrainedModels:
    started = time.perf_counter()
    site_texts = {(e.subject, e.description) for e in examples}
    shipped = [e for e in shipped_examples() if (e.subject, e.description) not in site_texts]
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.category] = counts.get(e.category, 0) + 1
    site = [e for e in examples if e.category in CATEGORY_SLUGS or counts[e.category] >= MIN_EXAMPLES_PER_NEW_CLASS]
    rows = shipped + site
    weights = [1.0] * len(shipped) + [SITE_EXAMPLE_WEIGHT] * len(site)

    vectorizer = make_vectorizer()
    matrix = vectorizer.fit_transform([model_text(e.subject, e.description) for e in rows])
    category = make_classifier().fit(matrix, [e.category for e in rows], sample_weight=weights)
    with_priority = [i for i, e in enumerate(rows) if e.priority]
    priority = make_classifier().fit(
        matrix[with_priority],
        [rows[i].priority for i in with_priority],
        sample_weight=[weights[i] for i in with_priority],
    )
    return TrainedModels(vectorizer, category, priority, time.perf_counter() - started, len(shipped), len(site))


def models_for(examples: Sequence[LabelledExample] = ()) -> TrainedModels:
    """The trained models for these examples, from the per-process cache (LRU) when present."""
    key = examples_key(examples)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        training_lock = _TRAINING_LOCKS.setdefault(key, threading.Lock())
    # One lock per set of examples: two threads asking for the same site train it once, and a
    # site that is training does not hold up sites whose models are cached.
    with training_lock:
        with _CACHE_LOCK:
            if key in _CACHE:
                return _CACHE[key]
        models = train(examples)
        with _CACHE_LOCK:
            _CACHE[key] = models
            _TRAINING_LOCKS.pop(key, None)
            while len(_CACHE) > MAX_CACHED_MODELS:
                _CACHE.popitem(last=False)
        return models


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


# --- text helpers --------------------------------------------------------------------------------

_SUBJECT_NOISE = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|wg|tr)\s*:\s*|\[[^\]]{0,30}\]\s*|(?:urgent|asap|important|help)\s*[!:\-]+\s*)+",
    re.IGNORECASE,
)
_VAGUE_SUBJECTS = {"help", "problem", "issue", "question", "urgent", "not working", "broken", "request", "hi", "hello"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    return _SENTENCE_END.split(text, maxsplit=1)[0] if text else ""


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return cut + "…"


def summarize(subject: str, description: str) -> str:
    """One line: the subject without mail prefixes and shouting, or the first sentence when vague."""
    cleaned = _SUBJECT_NOISE.sub("", " ".join(subject.split())).strip(" !-:")
    if len(cleaned.split()) < 3 or cleaned.lower().strip(" !?.") in _VAGUE_SUBJECTS:
        first = _first_sentence(description)
        if first:
            cleaned = first if not cleaned or cleaned.lower() in _VAGUE_SUBJECTS else f"{cleaned}: {first}"
    if cleaned.isupper():
        cleaned = cleaned.capitalize()
    cleaned = cleaned[:1].upper() + cleaned[1:]
    return _shorten(cleaned, SUMMARY_MAX_CHARS)


# Mailbox names that are not a person's name: "Hi Staff," reads oddly, "Hello," does not.
_GENERIC_LOCAL_PARTS = {
    "admin", "contact", "help", "helpdesk", "hello", "info", "it", "mail", "noreply", "office",
    "reception", "sales", "staff", "support", "team", "test", "user",
}  # fmt: skip


def _first_name(author: str) -> str:
    author = author.strip()
    if "@" in author:
        author = re.split(r"[._@+-]", author)[0]
        if author.lower() in _GENERIC_LOCAL_PARTS:
            return ""
    first = author.split()[0] if author.split() else ""
    return first[:1].upper() + first[1:] if first else ""


_STEP_LINE = re.compile(r"^\s*(?:\d{1,2}[.)]|[-*•])\s+(.*\S)")
# Verbs that open an instruction ("Open GlobalProtect…", "Restart the laptop."): in a snippet
# without list markers, lines starting with one are its steps.
_INSTRUCTION_VERBS = frozenset(
    """
    add allow approve ask assign book call change check choose click close commit connect contact copy
    create delete disable disconnect do don't download drag enable enter follow go grant install isolate
    keep log look make move note open paste plug press print put reconnect reinstall release remove
    replace reset restart restore revoke run save scan select send set share sign start swap switch
    tap tell try turn type uninstall unplug update use wait write
    """.split()
)
MIN_INSTRUCTION_STEPS = 2  # one imperative sentence in prose is advice, not a procedure
PASSAGE_SENTENCES = 3
PASSAGE_MAX_CHARS = 500


def _is_instruction(line: str) -> bool:
    first = re.match(r"[A-Za-z']+", line)
    return bool(first) and first.group(0).lower() in _INSTRUCTION_VERBS and not line.rstrip().endswith("?")


def snippet_steps(text: str) -> list[str]:
    """The real steps of a snippet: its numbered or bulleted lines; without any, its lines that
    give an instruction (start with an imperative verb), if there are at least two. Prose has
    none: `[]` (quote it with `snippet_passage` instead of numbering its sentences)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    steps = [m.group(1) for m in map(_STEP_LINE.match, lines) if m]
    if not steps:
        steps = [line for line in lines if _is_instruction(line)]
        if len(steps) < MIN_INSTRUCTION_STEPS:
            steps = []
    return [_shorten(s, 300) for s in steps[:MAX_STEPS]]


def _sentences(text: str) -> list[str]:
    """Sentences line by line; a short line without a full stop (a heading) is not one."""
    found = []
    for line in text.splitlines():
        line = _STEP_LINE.sub(r"\1", line).strip()
        if not line or (len(line.split()) < 4 and line[-1] not in ".!?"):
            continue
        found += [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]
    return found


def snippet_passage(text: str, query: Sequence[tuple[str, float]]) -> str:
    """The snippet's sentences most relevant to the weighted `query` (at most PASSAGE_SENTENCES,
    each at least half as similar as the best one, in the snippet's order) as one short
    paragraph; its opening sentences when none shares a word with the query."""
    sentences = _sentences(text)
    if not sentences:
        return _shorten(" ".join(text.split()), PASSAGE_MAX_CHARS)
    scores = _similarities(sentences, query)
    top = max(scores)
    relevant = sorted(
        (i for i, score in enumerate(scores) if score > 0 and score >= top * 0.5), key=lambda i: -scores[i]
    )
    chosen = sorted(relevant[:PASSAGE_SENTENCES]) or list(range(min(2, len(sentences))))
    return _shorten(" ".join(sentences[i] for i in chosen), PASSAGE_MAX_CHARS)


def _query_parts(thread: Thread) -> list[tuple[str, float]]:
    """What an answer should match, weighted: the latest requester message most, then the
    subject, then the rest of the conversation."""
    requester_turns = [t for t in thread.turns if t.role == "requester"]
    latest = requester_turns[-1].text if requester_turns else ""
    others = [t.text for t in thread.turns if not requester_turns or t is not requester_turns[-1]]
    parts = [(latest, 3.0), (thread.subject, 2.0)] + [(text, 1.0) for text in others]
    return [(text, weight) for text, weight in parts if text.strip()]


_WORD = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern
_VOWEL = re.compile(r"[aeiouy]")


def _stem(word: str) -> str:
    """A light English stemmer: plural and verb endings only, like the first step of Porter's
    (which PostgreSQL's `english` configuration runs in full). "bounce", "bounces", "bounced"
    and "bouncing" all become "bounc"; "dropped" and "drops" become "drop"."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in ("ing", "ed"):
        stem = word[: -len(ending)]
        if word.endswith(ending) and len(stem) >= 3 and _VOWEL.search(stem):
            word = stem
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # "dropp" -> "drop"
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _terms(text: str) -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [_stem(word) for word in _WORD.findall(text) if word not in ENGLISH_STOP_WORDS]


def _similarities(docs: Sequence[str], query: Sequence[tuple[str, float]]) -> list[float]:
    """TF-IDF cosine similarity of each doc to the weighted sum of the query's parts; stemmed
    words and pairs of them, English stop words left out."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(
        tokenizer=_terms, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"
    )
    try:
        matrix = vectorizer.fit_transform([*docs, *(text for text, _ in query)])
    except ValueError:  # nothing but stop words anywhere
        return [0.0] * len(docs)
    vector = None
    for row, (_, weight) in enumerate(query):
        part = matrix[len(docs) + row] * weight
        vector = part if vector is None else vector + part
    if vector is None:
        return [0.0] * len(docs)
    norm = float(vector.multiply(vector).sum()) ** 0.5 or 1.0
    return [float(v) / norm for v in (matrix[: len(docs)] @ vector.T).toarray().ravel()]


QUESTIONS = {
    "network": [
        "Where are you working from (which office, or home), and is it Wi-Fi or a cable?",
        "Does it affect only you, or colleagues near you as well?",
        "What exactly fails (internet, VPN, a shared drive, one website), and the exact error message?",
        "Since when has it been happening?",
    ],
    "hardware": [
        "Which device is it (type, model, and the asset tag or serial number on the label)?",
        "What does it do or show (lights, noises, error codes on the display)?",
        "Did anything happen before it started (a drop, a spill, a move, a power cut)?",
        "Can you keep working in the meantime, or do you need a replacement?",
    ],
    "software": [
        "Which application and version, on which computer?",
        "The exact error message (a screenshot helps) and what you were doing when it appeared?",
        "Does it happen every time, and does it affect colleagues too?",
        "Did it start after an update or a change?",
    ],
    "access": [
        "Which account and which system, folder or mailbox is it about?",
        "The exact message you see when you try to sign in or open it?",
        "For new access: who approved it (usually your manager) and from when it is needed?",
    ],
    "email": [
        "Is it about sending, receiving, or Outlook itself, and on which device (laptop, phone, web)?",
        "An example message: sender, recipient, time and subject, and any bounce message you got?",
        "Does Outlook on the web (outlook.office.com) show the same?",
    ],
    "security": [
        "Please do not forward the suspicious message to colleagues or click anything else in it.",
        "Did you click a link, open an attachment or type a password or code? When exactly?",
        "Which device and account are involved, and is the device still connected to the network?",
        "If a device was lost or stolen: when and where, and was it locked?",
    ],
    "other": [
        "What do you need, and by when?",
        "Who else is involved (people, rooms, suppliers), and who approves it?",
        "Anything we should know about the location or the equipment?",
    ],
}


# --- the provider --------------------------------------------------------------------------------


class OfflineProvider:
    """Category and priority from local classifiers; drafts from the site's own knowledge."""

    name = "offline"

    def __init__(self, model: str = DEFAULT_MODEL, examples: Iterable[Any] = (), **_: Any):
        self.model = model or DEFAULT_MODEL
        self.examples = coerce_examples(examples)
        self.last_usage: tuple[int, int] = (0, 0)

    @property
    def models(self) -> TrainedModels:
        return models_for(self.examples)

    # categorization

    def categorize(self, ticket: TicketText) -> Categorization:
        models = self.models
        features = models.vectorizer.transform([model_text(ticket.subject, ticket.description)])
        cat_probs = dict(zip(models.category.classes_, models.category.predict_proba(features)[0], strict=True))
        pri_probs = dict(zip(models.priority.classes_, models.priority.predict_proba(features)[0], strict=True))
        allowed = [c for c in ticket.categories if c in cat_probs]
        if allowed:
            # Highest probability among the site's active categories; ties go to the site's order.
            category = max(allowed, key=lambda c: (cat_probs[c], -ticket.categories.index(c)))
            confidence = float(cat_probs[category])
        else:
            # The site uses only categories the model has not learned yet: its first one, no confidence.
            category = ticket.categories[0] if ticket.categories else ""
            confidence = 0.0
        priority = max(PRIORITIES, key=lambda p: (pri_probs.get(p, 0.0), -PRIORITIES.index(p)))
        summary = summarize(ticket.subject, ticket.description)
        raw = json.dumps(
            {
                "category": {c: round(float(p), 4) for c, p in sorted(cat_probs.items())},
                "priority": {p: round(float(v), 4) for p, v in sorted(pri_probs.items())},
                "site_examples": models.n_site,
            },
            sort_keys=True,
        )
        return Categorization(
            category_slug=category,
            priority=priority,
            confidence=round(confidence, 4),
            summary=summary,
            tokens_in=_word_count(ticket.subject, ticket.description),
            tokens_out=_word_count(summary) + 2,  # the summary, a category and a priority
            model=self.model,
            raw=raw,
        )

    # drafts

    def rank_snippets(self, thread: Thread, kb: Sequence[KnowledgeSnippet]) -> list[tuple[float, KnowledgeSnippet]]:
        """(similarity, snippet) for every candidate, most similar first; ties by title."""
        if not kb:
            return []
        scores = _similarities([f"{s.title} {s.title} {s.text}" for s in kb], _query_parts(thread))
        ranked = sorted(zip(scores, range(len(kb)), strict=True), key=lambda p: (-round(p[0], 9), kb[p[1]].title, p[1]))
        return [(score, kb[i]) for score, i in ranked]

    def draft_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft:
        return self._draft(thread, kb, for_requester=False)

    def assistant_reply(self, thread: Thread, kb: list[KnowledgeSnippet]) -> Draft:
        return self._draft(thread, kb, for_requester=True)

    def stream_draft(self, thread: Thread, kb: list[KnowledgeSnippet], *, for_requester: bool) -> Iterator[str]:
        """The draft word by word (each chunk keeps its trailing whitespace), paced like a model."""
        from django.conf import settings

        delay = float(getattr(settings, "AI_OFFLINE_STREAM_DELAY", 0.02))
        draft = self._draft(thread, kb, for_requester=for_requester)
        self.last_usage = (draft.tokens_in, draft.tokens_out)  # read by the service after streaming
        self.last_sources = draft.sources  # the snippets this draft used
        text = draft.text
        for index, match in enumerate(re.finditer(r"\S+\s*|\s+", text)):
            if index and delay > 0:
                time.sleep(delay)
            yield match.group(0)

    def _draft(self, thread: Thread, kb: Sequence[KnowledgeSnippet], *, for_requester: bool) -> Draft:
        if not thread.turns and not thread.subject.strip():
            raise ProviderError("Nothing to reply to: the conversation is empty.")
        ranked = self.rank_snippets(thread, kb)
        best = ranked[0][0] if ranked else 0.0
        used = [s for score, s in ranked if score >= MIN_SNIPPET_SIMILARITY and score >= best * 0.5][:MAX_SOURCES]
        requester = next((t.author for t in reversed(thread.turns) if t.role == "requester"), "")
        greeting = f"Hi {_first_name(requester)}," if _first_name(requester) else "Hello,"
        if used:
            body = self._from_snippets(thread, used, for_requester=for_requester)
        else:
            body = self._asking(thread, for_requester=for_requester)
        closing = "" if for_requester else "\n\nKind regards,\nIT support"
        text = f"{greeting}\n\n{body}{closing}"
        tokens_in = _word_count(thread.subject, *(t.text for t in thread.turns), *(f"{s.title} {s.text}" for s in kb))
        return Draft(
            text=text, sources=tuple(used), tokens_in=tokens_in, tokens_out=_word_count(text), model=self.model
        )

    @staticmethod
    def _from_snippets(thread: Thread, used: Sequence[KnowledgeSnippet], *, for_requester: bool) -> str:
        top = used[0]
        steps = snippet_steps(top.text)
        where = (
            f'our knowledge base article "{top.title}"'
            if top.source == "article"
            else f'a similar ticket we resolved before ("{top.title}")'
        )
        # Real steps are numbered; prose is quoted as prose (its sentences are not steps).
        if for_requester:
            lead = "this usually solves it:" if steps else "this may help:"
            intro = f"I'm the automated assistant. Based on {where}, {lead}"
        else:
            subject = _shorten(thread.subject, 80)
            lead = f"Based on {where}, please try the following:" if steps else f"From {where}:"
            intro = f'Thanks for getting in touch about "{subject}". {lead}'
        lines = [intro, ""]
        if steps:
            lines += [f"{n}. {step}" for n, step in enumerate(steps, 1)]
        else:
            lines.append(snippet_passage(top.text, _query_parts(thread)))
        articles = [s for s in used if s.source == "article"]
        # The requester's page links the answer's sources under it ("Articles used: ..."); only
        # an engineer's draft, which goes out as their reply, names them in the text.
        if articles and not for_requester:
            lines += ["", "For reference:"]
            lines += [f"- {s.title}" + (f" ({s.url})" if s.url else "") for s in articles]
        lines.append("")
        if for_requester:
            lines.append(
                "Did this solve it? If it did, you can mark the ticket as solved; if not, reply here "
                "and an engineer will pick it up."
            )
        else:
            lines.append("Could you try this and let me know whether it solves the problem?")
        return "\n".join(lines)

    def _asking(self, thread: Thread, *, for_requester: bool) -> str:
        category = thread.category if thread.category in QUESTIONS else ""
        if not category:
            text = "\n".join(t.text for t in thread.turns if t.role == "requester")
            category = self.categorize(TicketText(thread.subject, text)).category_slug
        questions = QUESTIONS.get(category, QUESTIONS["other"])
        if for_requester:
            intro = (
                "I'm the automated assistant. I couldn't find an article that matches this yet. "
                "To help the engineer sort it out quickly, please reply with:"
            )
            outro = "An engineer will pick up the ticket as soon as possible."
        else:
            intro = "Thanks for reporting this. So that we can look into it quickly, could you tell me:"
            outro = "Is there anything else we should know in the meantime?"
        return "\n".join([intro, "", *[f"- {q}" for q in questions], "", outro])
