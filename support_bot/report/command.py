"""``support-bot report``: how conversations went in a window, as Markdown and PNG charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from support_bot.common.console import Printer
from support_bot.common.errors import StoreMissing
from support_bot.common.project import safe_url
from support_bot.common.window import Window
from support_bot.report.charts import draw_all
from support_bot.report.markdown import containment_ratio, duration, fallback_ratio, render_report
from support_bot.report.metrics import ReportData, compute
from support_bot.stores.handoff_tickets import TicketRow, handoff_session, load_tickets
from support_bot.stores.tracker_events import (
    ACTIVE_LOOP,
    SESSION_STARTED,
    SLOT,
    USER,
    by_sender,
    load_events,
    open_tracker_store,
)

REPORT_FILE = "report.md"


@dataclass(frozen=True)
class ReportOptions:
    """The window, the stores and the output folder."""

    window: Window
    tracker_url: str
    handoff_url: str
    out: Path


def _tickets(options: ReportOptions, say: Printer) -> list[TicketRow] | None:
    say(f"==> reading tickets from {safe_url(options.handoff_url)}")
    try:
        with handoff_session(options.handoff_url) as session:
            tickets = load_tickets(session, options.window)
    except StoreMissing as exc:
        say(f"    {exc}: ticket numbers will be n/a")
        return None
    say(f"    {len(tickets)} tickets created in the window")
    return tickets


def run_report(options: ReportOptions, say: Printer = print) -> tuple[ReportData, Path]:
    """Compute, draw and write the report; returns its numbers and the report.md path.

    Raises:
        StoreMissing: there is no tracker store at the URL.
    """
    say(f"==> reading the tracker store {safe_url(options.tracker_url)}")
    say(f"    window: {options.window.describe()}")
    engine = open_tracker_store(options.tracker_url)
    try:
        conversations = by_sender(
            load_events(engine, options.window, types=(USER, SLOT, ACTIVE_LOOP, SESSION_STARTED))
        )
    finally:
        engine.dispose()
    say(f"    {len(conversations)} senders with events in the window")
    tickets = _tickets(options, say)
    data = compute(conversations, tickets)
    say(f"==> drawing charts into {options.out}")
    charts = draw_all(data, options.out)
    for chart in charts:
        say(f"    {chart}")
    path = options.out / REPORT_FILE
    path.write_text(
        render_report(
            data,
            window=options.window.describe(),
            tracker=safe_url(options.tracker_url),
            handoff=safe_url(options.handoff_url),
            generated=f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            charts=charts,
        ),
        encoding="utf-8",
    )
    for name, section in data.sections():
        say(
            f"    {name}: {section.conversations} conversations, containment "
            f"{containment_ratio(section) if data.has_tickets else 'n/a'}, "
            f"fallback rate {fallback_ratio(section)} "
            f"({fallback_ratio(section, dialogue_only=True)} outside forms and handoffs), "
            f"{section.tickets} tickets, first response p50 "
            f"{duration(section.first_response.p50)}"
        )
    say(f"==> report: {path}")
    return data, path
