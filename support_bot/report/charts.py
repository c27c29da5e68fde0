"""PNG charts of the conversation report (matplotlib, Agg canvas, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from support_bot.report.metrics import (
    CATEGORIES,
    CSAT_SCORES,
    LANGUAGES,
    PRIORITIES,
    ReportData,
)

_WIDTH = 0.38
_DPI = 110


def _figure(width: float = 8.0, height: float = 4.5) -> tuple[Any, Any]:
    # Imported here: matplotlib is only needed when a report is drawn. The Agg
    # canvas renders without a display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _save(figure: Any, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path)
    return path.name


def _whole_numbers(axis: Any) -> None:
    """Counts: ticks at whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _no_data(axes: Any) -> None:
    axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)


def _grouped_bars(axes: Any, labels: Sequence[str], series: dict[str, Sequence[float]]) -> None:
    count = len(series)
    width = 0.8 / max(count, 1)
    for index, (name, values) in enumerate(series.items()):
        positions = [i + (index - (count - 1) / 2) * width for i in range(len(labels))]
        bars = axes.bar(positions, values, width, label=name)
        axes.bar_label(bars, fmt="%g", fontsize=8)
    axes.set_xticks(range(len(labels)))
    axes.set_xticklabels(labels)
    axes.legend()


def overview_chart(data: ReportData, path: Path) -> str:
    """Containment and fallback rate (%) for all, zh and en."""
    figure, axes = _figure()
    names = [name for name, _ in data.sections()]
    containment = [
        round(float(s.containment) * 100, 1) if s.containment is not None else 0.0
        for _, s in data.sections()
    ]
    fallback = [
        round(float(s.fallback_rate) * 100, 1) if s.fallback_rate is not None else 0.0
        for _, s in data.sections()
    ]
    dialogue = [
        round(float(s.dialogue_fallback_rate) * 100, 1)
        if s.dialogue_fallback_rate is not None
        else 0.0
        for _, s in data.sections()
    ]
    series = {"fallback rate %": fallback, "outside forms and handoffs %": dialogue}
    if data.has_tickets:
        series = {"containment %": containment, **series}
    _grouped_bars(axes, names, series)
    axes.set_ylim(0, 110)
    axes.set_title("Containment and NLU fallback rate")
    return _save(figure, path)


def escalations_chart(data: ReportData, path: Path) -> str:
    """Tickets per escalation reason, zh and en side by side."""
    figure, axes = _figure()
    reasons = list(data.all.escalations)
    if not data.has_tickets or not data.all.tickets:
        _no_data(axes)
    else:
        series = {
            language: [data.by_language[language].escalations.get(r, 0) for r in reasons]
            for language in LANGUAGES
        }
        _grouped_bars(axes, reasons, series)
    _whole_numbers(axes.yaxis)
    axes.set_title("Escalations by reason")
    axes.set_ylabel("tickets")
    return _save(figure, path)


def top_intents_chart(data: ReportData, path: Path) -> str:
    """The ten most frequent intents of typed messages, split zh/en."""
    figure, axes = _figure(8.0, 5.0)
    top = data.all.top_intents()
    if not top:
        _no_data(axes)
    else:
        names = [name for name, _ in reversed(top)]
        left = [0] * len(names)
        for language in LANGUAGES:
            counts = [data.by_language[language].intents.get(name, 0) for name in names]
            axes.barh(names, counts, left=left, label=language)
            left = [a + b for a, b in zip(left, counts, strict=True)]
        axes.legend()
    _whole_numbers(axes.xaxis)
    axes.set_title("Top intents of typed messages")
    axes.set_xlabel("messages")
    return _save(figure, path)


def category_priority_chart(data: ReportData, path: Path) -> str:
    """Tickets per category, stacked by priority."""
    figure, axes = _figure()
    if not data.has_tickets or not data.all.tickets:
        _no_data(axes)
    else:
        bottom = [0] * len(CATEGORIES)
        for priority in PRIORITIES:
            counts = [data.all.by_category_priority.get((c, priority), 0) for c in CATEGORIES]
            axes.bar(CATEGORIES, counts, bottom=bottom, label=priority)
            bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
        axes.legend()
    _whole_numbers(axes.yaxis)
    axes.set_title("Tickets by category and priority")
    axes.set_ylabel("tickets")
    return _save(figure, path)


def times_chart(data: ReportData, path: Path) -> str:
    """p50 and p90 of first response and resolution, in minutes, per language."""
    figure, axes = _figure()
    labels = ["first response p50", "first response p90", "resolution p50", "resolution p90"]
    if not data.has_tickets or not data.all.tickets:
        _no_data(axes)
    else:
        series = {}
        for name, section in data.sections():
            values = [
                section.first_response.p50,
                section.first_response.p90,
                section.resolution.p50,
                section.resolution.p90,
            ]
            series[name] = [round((v or 0.0) / 60, 1) for v in values]
        _grouped_bars(axes, labels, series)
    axes.set_title("First response and resolution times")
    axes.set_ylabel("minutes")
    return _save(figure, path)


def csat_chart(data: ReportData, path: Path) -> str:
    """How many ratings of each score, zh and en side by side."""
    figure, axes = _figure()
    if not data.has_tickets or not data.all.csat.n:
        _no_data(axes)
    else:
        series = {
            language: [data.by_language[language].csat.distribution[s] for s in CSAT_SCORES]
            for language in LANGUAGES
        }
        _grouped_bars(axes, [str(s) for s in CSAT_SCORES], series)
    _whole_numbers(axes.yaxis)
    axes.set_title("CSAT ratings")
    axes.set_xlabel("score")
    axes.set_ylabel("ratings")
    return _save(figure, path)


def draw_all(data: ReportData, folder: Path) -> list[str]:
    """Every chart of the report into ``folder``; returns the file names."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        overview_chart(data, folder / "containment_fallback.png"),
        escalations_chart(data, folder / "escalations_by_reason.png"),
        top_intents_chart(data, folder / "top_intents.png"),
        category_priority_chart(data, folder / "tickets_by_category_priority.png"),
        times_chart(data, folder / "response_times.png"),
        csat_chart(data, folder / "csat.png"),
    ]
