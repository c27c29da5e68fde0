"""report.md: the conversation report as Markdown tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

from support_bot.report.metrics import (
    CATEGORIES,
    CSAT_SCORES,
    PRIORITIES,
    Durations,
    ReportData,
    Section,
)

NA = "n/a"


def ratio(value: Fraction | None, numerator: int, denominator: int) -> str:
    """``7/10 (70.0%)``, or n/a without a denominator."""
    if value is None:
        return NA
    return f"{numerator}/{denominator} ({float(value) * 100:.1f}%)"


def containment_ratio(section: Section) -> str:
    """Contained conversations / conversations."""
    return ratio(section.containment, section.contained, section.conversations)


def fallback_ratio(section: Section, dialogue_only: bool = False) -> str:
    """nlu_fallback / typed messages, optionally without the messages outside the NLU."""
    if dialogue_only:
        return ratio(
            section.dialogue_fallback_rate,
            section.fallback_messages - section.outside_nlu_fallbacks,
            section.typed_messages - section.outside_nlu,
        )
    return ratio(section.fallback_rate, section.fallback_messages, section.typed_messages)


def duration(seconds: float | None) -> str:
    """Seconds as ``h:mm:ss`` (rounded to the second), or n/a."""
    if seconds is None:
        return NA
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> list[str]:
    aligns = align or "l" + "r" * (len(header) - 1)
    marks = ["---:" if a == "r" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _row(
    data: ReportData, label: str, cell: Callable[[Section], object], tickets: bool = False
) -> list[object]:
    if tickets and not data.has_tickets:
        return [label] + [NA for _ in data.sections()]
    return [label] + [cell(section) for _, section in data.sections()]


def _durations_cell(value: Durations, which: str) -> str:
    return duration(value.p50 if which == "p50" else value.p90)


def _csat_average(section: Section) -> str:
    average = section.csat.average
    return NA if average is None else f"{float(average):.2f}"


def _overview(data: ReportData) -> list[str]:
    header = ["", *(name for name, _ in data.sections())]
    rows = [
        _row(data, "conversations", lambda s: s.conversations),
        _row(data, "conversations with a ticket", lambda s: s.escalated_conversations, True),
        _row(data, "containment (no ticket)", containment_ratio, True),
        _row(data, "user messages", lambda s: s.user_messages),
        _row(data, "typed messages (through the NLU)", lambda s: s.typed_messages),
        _row(data, "nlu_fallback messages", lambda s: s.fallback_messages),
        _row(data, "fallback rate", fallback_ratio),
        _row(
            data, "typed messages answering a form or relayed to an agent", lambda s: s.outside_nlu
        ),
        _row(
            data,
            "fallback rate outside forms and handoffs",
            lambda s: fallback_ratio(s, dialogue_only=True),
        ),
        _row(data, "tickets created", lambda s: s.tickets, True),
        _row(data, "first response p50", lambda s: _durations_cell(s.first_response, "p50"), True),
        _row(data, "first response p90", lambda s: _durations_cell(s.first_response, "p90"), True),
        _row(data, "resolution p50", lambda s: _durations_cell(s.resolution, "p50"), True),
        _row(data, "resolution p90", lambda s: _durations_cell(s.resolution, "p90"), True),
        _row(
            data,
            "CSAT average (1-5)",
            lambda s: _csat_average(s) + f" (n={s.csat.n})" if s.csat.n else NA,
            True,
        ),
    ]
    return _table(header, rows)


def _escalations(data: ReportData) -> list[str]:
    reasons: list[str] = list(data.all.escalations)
    header = ["reason", *(name for name, _ in data.sections())]
    rows = [[r, *(s.escalations.get(r, 0) for _, s in data.sections())] for r in reasons]
    return _table(header, rows)


def _top_intents(section: Section) -> list[str]:
    top = section.top_intents()
    if not top:
        return ["No typed messages."]
    rows = [
        [rank, intent, count, f"{count / section.typed_messages * 100:.1f}%"]
        for rank, (intent, count) in enumerate(top, start=1)
    ]
    return _table(["#", "intent", "messages", "share of typed"], rows, align="rlrr")


def _category_priority(section: Section) -> list[str]:
    categories = [*CATEGORIES]
    categories += sorted({c for c, _ in section.by_category_priority} - set(CATEGORIES))
    rows = []
    for category in categories:
        counts = [section.by_category_priority.get((category, p), 0) for p in PRIORITIES]
        rows.append([category, *counts, sum(counts)])
    totals = [sum(row[i] for row in rows) for i in range(1, len(PRIORITIES) + 2)]
    rows.append(["**total**", *totals])
    return _table(["category", *PRIORITIES, "total"], rows)


def _times(data: ReportData) -> list[str]:
    rows = []
    for name, section in data.sections():
        for label, value in (
            ("first response", section.first_response),
            ("resolution", section.resolution),
        ):
            rows.append([name, label, value.n, duration(value.p50), duration(value.p90)])
    return _table(["language", "time to", "tickets", "p50", "p90"], rows, align="llrrr")


def _csat(data: ReportData) -> list[str]:
    rows = []
    for name, section in data.sections():
        average = _csat_average(section) if section.csat.n else NA
        rows.append(
            [name, section.csat.n, average, *(section.csat.distribution[s] for s in CSAT_SCORES)]
        )
    return _table(["language", "ratings", "average", *map(str, CSAT_SCORES)], rows)


def render_report(
    data: ReportData,
    *,
    window: str,
    tracker: str,
    handoff: str,
    generated: str,
    charts: Sequence[str],
) -> str:
    """The whole report.md."""
    lines = [
        "# Conversation report",
        "",
        f"- window: {window}",
        f"- tracker store: `{tracker}`",
        f"- handoff database: `{handoff}`"
        + ("" if data.has_tickets else " (not found: ticket numbers are n/a)"),
        f"- generated: {generated}",
        "",
        "Definitions: a conversation is a sender id with a user message in the window; "
        "user messages exclude the events the handoff service triggers; typed messages "
        "also exclude button payloads; containment = conversations without a ticket "
        "created in the window / conversations; fallback rate = nlu_fallback / typed "
        'messages; "outside forms and handoffs" also leaves out the typed messages sent '
        'while a form was asking its questions (emails, hashes, "skip") or while an agent '
        "had the chat (relayed to the ticket), which the dialogue handles without the NLU; "
        "the language of a conversation is the last value of its `language` "
        "slot, else detected from its texts; times are from ticket creation; p50/p90 "
        "interpolate linearly.",
        "",
        "## Overview",
        "",
        *_overview(data),
        "",
        "## Escalations by reason",
        "",
        *(_escalations(data) if data.has_tickets else [NA]),
        "",
        "## Top intents of typed messages",
    ]
    for name, section in data.sections():
        lines += ["", f"### {name}", "", *_top_intents(section)]
    lines += ["", "## Tickets by category and priority"]
    for name, section in data.sections():
        lines += ["", f"### {name}", ""]
        lines += _category_priority(section) if data.has_tickets else [NA]
    lines += [
        "",
        "## First response and resolution times (h:mm:ss)",
        "",
        *(_times(data) if data.has_tickets else [NA]),
        "",
        "## CSAT (1-5)",
        "",
        *(_csat(data) if data.has_tickets else [NA]),
        "",
        "## Charts",
        "",
        *(f"- ![{chart}]({chart})" for chart in charts),
    ]
    return "\n".join(lines) + "\n"
