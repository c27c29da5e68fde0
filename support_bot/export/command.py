"""``support-bot export``: collect the messages the assistant did not handle well into a
Rasa NLU file for relabelling."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import Engine

from support_bot.common.console import Printer
from support_bot.common.errors import LabelFileError, StoreMissing
from support_bot.common.label_file import UNLABELLED, LabelItem, group_by_guess, render
from support_bot.common.project import Project, safe_url
from support_bot.common.textnorm import normalise
from support_bot.common.training_data import read_examples
from support_bot.common.window import Window
from support_bot.export.selection import (
    REASONS,
    Candidate,
    merge,
    select_before_fallback_escalation,
    select_in_conversation,
)
from support_bot.stores.handoff_tickets import handoff_session, load_tickets
from support_bot.stores.tracker_events import (
    USER,
    by_sender,
    load_conversations,
    load_events,
    open_tracker_store,
)
from support_core.secret_guard import contains_placeholder, redact

FALLBACK_ESCALATION = "fallback"

DROP_SECRET = "secret or redaction placeholder"
DROP_EMPTY = "empty after clean-up"
DROP_TRAINING = "already a training example"
DROP_EVALUATION = "in the evaluation split"
DROP_DUPLICATE = "duplicate of another exported message"


@dataclass(frozen=True)
class ExportOptions:
    """What to export and where to write it."""

    project: Project
    window: Window
    tracker_url: str
    handoff_url: str
    out: Path
    confidence_below: float = 0.5


@dataclass
class ExportSummary:
    """What was written and what was left out, with counts."""

    items: list[LabelItem]
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def per_reason(self) -> Counter[str]:
        """How many exported examples were picked for each reason (one may have several)."""
        counts: Counter[str] = Counter({reason: 0 for reason in REASONS})
        for item in self.items:
            counts.update(item.reasons)
        return counts

    @property
    def per_group(self) -> list[tuple[str, int]]:
        """Exported examples per best guess, biggest group first."""
        return [(guess, len(members)) for guess, members in group_by_guess(self.items)]


def clean_text(text: str) -> str:
    """One line of text: control characters removed, whitespace collapsed."""
    visible = "".join(
        " " if unicodedata.category(ch) == "Cc" else ch for ch in unicodedata.normalize("NFC", text)
    )
    return " ".join(visible.split())


def _fallback_escalations(options: ExportOptions, engine: Engine, say: Printer) -> list[Candidate]:
    say(f"==> reading fallback escalations from {safe_url(options.handoff_url)}")
    try:
        with handoff_session(options.handoff_url) as session:
            tickets = [
                ticket
                for ticket in load_tickets(session, options.window)
                if ticket.escalation_reason == FALLBACK_ESCALATION
            ]
    except StoreMissing as exc:
        say(f"    skipped: {exc}")
        return []
    say(f"    {len(tickets)} tickets escalated after fallbacks in the window")
    if not tickets:
        return []
    latest = max(ticket.created_at for ticket in tickets).timestamp()
    conversations = load_conversations(
        engine,
        [ticket.conversation_id for ticket in tickets],
        before_ts=latest + 1,
    )
    picked: list[Candidate] = []
    for ticket in tickets:
        events = conversations.get(ticket.conversation_id, [])
        picked += select_before_fallback_escalation(events, ticket.created_at.timestamp())
    say(f"    {len(picked)} user messages led to those tickets")
    return picked


def _known_examples(project: Project, say: Printer) -> tuple[set[str], set[str]]:
    training = (
        {normalise(e.text) for e in read_examples(project.nlu_dir)}
        if project.nlu_dir.is_dir()
        else set()
    )
    evaluation = (
        {normalise(e.text) for e in read_examples(project.eval_dir)}
        if project.eval_dir.is_dir()
        else set()
    )
    say(
        f"==> comparing with {len(training)} training examples and "
        f"{len(evaluation)} evaluation examples of {project.root}"
    )
    return training, evaluation


@dataclass
class _Seen:
    """The first message of a normal form, and what its repeats added."""

    first: Candidate
    text: str
    reasons: set[str]
    times: int = 1

    def item(self) -> LabelItem:
        """The example to label, with every reason it was picked for."""
        guess = self.first.message.best_guess
        return LabelItem(
            text=self.text,
            best_guess=guess[0] if guess else None,
            top3=self.first.message.guesses[:3],
            reasons=tuple(reason for reason in REASONS if reason in self.reasons),
            times_seen=self.times,
        )


def _drop_reason(text: str, key: str, training: set[str], evaluation: set[str]) -> str | None:
    redaction = redact(text)
    if redaction.found or contains_placeholder(redaction.text) is not None:
        return DROP_SECRET
    if not key:
        return DROP_EMPTY
    if key in training:
        return DROP_TRAINING
    if key in evaluation:
        return DROP_EVALUATION
    return None


def build_items(
    candidates: list[Candidate],
    training: set[str],
    evaluation: set[str],
) -> ExportSummary:
    """Redact, drop and deduplicate ``candidates`` (in time order) into label items.

    A repeated message (same normal form) keeps its first wording and best
    guess, and collects the reasons of every repeat.
    """
    dropped: Counter[str] = Counter()
    seen: dict[str, _Seen] = {}
    for candidate in candidates:
        text = clean_text(candidate.message.text)
        key = normalise(text)
        reason = _drop_reason(text, key, training, evaluation)
        if reason is not None:
            dropped[reason] += 1
        elif key in seen:
            dropped[DROP_DUPLICATE] += 1
            seen[key].reasons |= candidate.reasons
            seen[key].times += 1
        else:
            seen[key] = _Seen(candidate, text, set(candidate.reasons))
    return ExportSummary(items=[entry.item() for entry in seen.values()], dropped=dropped)


def _check_readable_by_rasa(path: Path, expected: int) -> None:
    # Imported here: Rasa's loader is only needed to double-check the written file.
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    if len(data.intent_examples) != expected:
        raise LabelFileError(
            f"{path}: Rasa reads {len(data.intent_examples)} examples, {expected} were written"
        )


def run_export(options: ExportOptions, say: Printer = print) -> ExportSummary:
    """Read the stores, pick, clean and write the label file; print progress and counts.

    Raises:
        StoreMissing: there is no tracker store at the URL.
    """
    say(f"==> reading the tracker store {safe_url(options.tracker_url)}")
    say(f"    window: {options.window.describe()}")
    engine = open_tracker_store(options.tracker_url)
    try:
        conversations = by_sender(load_events(engine, options.window))
        user_events = sum(
            1 for events in conversations.values() for e in events if e.type_name == USER
        )
        say(f"    {user_events} user events in {len(conversations)} conversations")
        picked: list[Candidate] = []
        for events in conversations.values():
            picked += select_in_conversation(events, options.confidence_below)
        say(
            f"==> {len(picked)} messages fell back, scored below {options.confidence_below} "
            "or got self-help that did not help"
        )
        picked += _fallback_escalations(options, engine, say)
    finally:
        engine.dispose()
    candidates = merge(picked)
    training, evaluation = _known_examples(options.project, say)
    summary = build_items(candidates, training, evaluation)
    for reason, count in sorted(summary.dropped.items()):
        say(f"    dropped {count}: {reason}")
    say(f"==> writing {len(summary.items)} examples to {options.out}")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(
        render(
            summary.items,
            exported=datetime.now(timezone.utc),
            source=safe_url(options.tracker_url),
            window=options.window.describe(),
            file_name=options.out.name,
        ),
        encoding="utf-8",
    )
    _check_readable_by_rasa(options.out, len(summary.items))
    say("    per reason (an example can have several):")
    for reason, count in summary.per_reason.items():
        say(f"      {reason:<20} {count}")
    say("    per best guess:")
    for guess, count in summary.per_group:
        marker = "  (no guess: label these)" if guess == UNLABELLED else ""
        say(f"      {guess:<24} {count}{marker}")
    return summary
