"""``support-bot``: the maintainers' loop from real conversations back to a better model.

Exit codes: 0 done (or promoted), 1 import refused, 2 error, 3 candidate kept out
(a model that is not worse than the current one beyond the tolerance is promoted, so
3 means at least one metric dropped by more than the tolerance).

Each command imports its subpackage's ``command`` module when it runs, so
``support-bot report`` never loads Rasa and ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from support_bot.common.errors import RasaCommandFailed, SupportBotError, UsageError
from support_bot.common.project import Project, handoff_database_url, tracker_store_url
from support_bot.common.window import make_window

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_ERROR = 2
EXIT_KEPT = 3


def _say(line: str) -> None:
    print(line, flush=True)


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return number


def _tolerance(value: str) -> float:
    number = float(value)
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return number


def _folds(value: str) -> int:
    number = int(value)
    if number < 2:
        raise argparse.ArgumentTypeError(f"needs at least 2 folds, got {value}")
    return number


def _project(args: argparse.Namespace) -> Project:
    project = Project.at(args.project_dir)
    if not project.root.is_dir():
        raise UsageError(f"no project folder {project.root}")
    return project


def _out_path(value: str | None, default: Path) -> Path:
    return Path(value).resolve() if value else default


def cmd_export(args: argparse.Namespace) -> int:
    """Write the messages to relabel into a Rasa NLU file."""
    from support_bot.export.command import ExportOptions, run_export

    project = _project(args)
    options = ExportOptions(
        project=project,
        window=make_window(args.since, args.until),
        tracker_url=project.database_url(tracker_store_url(args.tracker_url)),
        handoff_url=project.database_url(handoff_database_url(args.handoff_url)),
        out=Path(args.out).resolve(),
        confidence_below=args.confidence_below,
    )
    run_export(options, _say)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Merge a labelled file into data/nlu, or refuse it whole."""
    from support_bot.label_import.command import run_import

    code = run_import(Path(args.label_file).resolve(), _project(args), args.dry_run, _say)
    return EXIT_OK if code == 0 else EXIT_REFUSED


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model (and its baseline) on the evaluation split."""
    from support_bot.evaluation.command import default_baseline, run_evaluate

    project = _project(args)
    model = Path(args.model).resolve() if args.model else project.current_model
    explicit = Path(args.compare).resolve() if args.compare else None
    baseline = default_baseline(project, model, explicit)
    out = _out_path(args.out, project.reports_dir / f"eval-{_stamp()}")
    folds = args.folds if args.cross_validation else None
    run_evaluate(project, model, baseline, out, folds, _say)
    return EXIT_OK


def cmd_retrain(args: argparse.Namespace) -> int:
    """Validate, train, evaluate and promote only a model that is not worse."""
    from support_bot.retrain.command import RetrainOptions, run_retrain

    outcome = run_retrain(
        RetrainOptions(
            project=_project(args),
            tolerance=args.tolerance,
            reload_url=args.reload_url,
            token=args.token or os.environ.get("RASA_AUTH_TOKEN") or None,
        ),
        _say,
    )
    return EXIT_OK if outcome.decision.promote else EXIT_KEPT


def cmd_report(args: argparse.Namespace) -> int:
    """Write report.md and its charts for a window."""
    from support_bot.report.command import ReportOptions, run_report

    project = _project(args)
    options = ReportOptions(
        window=make_window(args.since, args.until),
        tracker_url=project.database_url(tracker_store_url(args.tracker_url)),
        handoff_url=project.database_url(handoff_database_url(args.handoff_url)),
        out=_out_path(
            args.out,
            project.reports_dir / f"report-{datetime.now(timezone.utc):%Y-%m-%d}",
        ),
    )
    run_report(options, _say)
    return EXIT_OK


def cmd_outbox_list(args: argparse.Namespace) -> int:
    """List the outbox's dead letters and pending entries (never their text)."""
    from support_bot.outbox.command import outbox_location, run_list

    run_list(outbox_location(args.path, _project(args)), _say)
    return EXIT_OK


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    """Move dead letters back to the queue; the action server sends them again."""
    from support_bot.outbox.command import outbox_location, run_retry

    run_retry(outbox_location(args.path, _project(args)), args.key, args.all, _say)
    return EXIT_OK


def _add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", required=True, help="first day (UTC), e.g. 2026-11-01")
    parser.add_argument("--until", help="last day, included (UTC); default: now")
    parser.add_argument(
        "--tracker-url",
        help="Rasa's SQL tracker store (SQLAlchemy URL); default: $TRACKER_STORE_URL, "
        "else sqlite:///state/tracker.db in the project",
    )
    parser.add_argument(
        "--handoff-url",
        help="the handoff service's database; default: $HANDOFF_DATABASE_URL, "
        "else sqlite:///state/handoff.db in the project",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``support-bot``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project-dir", help="the Rasa project folder (default: the repository root)"
    )
    parser = argparse.ArgumentParser(
        prog="support-bot",
        description="Maintainers' loop: export what the assistant did not handle well, "
        "label it, import it, retrain, evaluate, promote, and report; "
        "inspect and retry the action server's outbox.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    export = commands.add_parser(
        "export", parents=[common], help="write messages to relabel into a Rasa NLU file"
    )
    _add_window(export)
    export.add_argument("--out", default="to_label.yml", help="default: to_label.yml")
    export.add_argument(
        "--confidence-below",
        type=_fraction,
        default=0.5,
        help="also export messages whose best intent scored below this (default 0.5)",
    )
    export.set_defaults(func=cmd_export)

    importer = commands.add_parser(
        "import", parents=[common], help="merge a labelled file into data/nlu"
    )
    importer.add_argument("label_file", help="the file written by export, labelled")
    importer.add_argument("--dry-run", action="store_true", help="check and show, write nothing")
    importer.set_defaults(func=cmd_import)

    evaluate = commands.add_parser(
        "evaluate", parents=[common], help="evaluate a model on tests/nlu_eval"
    )
    evaluate.add_argument("--model", help="default: models/current.tar.gz")
    evaluate.add_argument(
        "--compare",
        help="baseline model; default: models/current.tar.gz when --model is another model",
    )
    evaluate.add_argument("--out", help="report folder; default: reports/eval-<timestamp>")
    evaluate.add_argument(
        "--cross-validation", action="store_true", help="also cross-validate on data/nlu"
    )
    evaluate.add_argument("--folds", type=_folds, default=3, help="default 3")
    evaluate.set_defaults(func=cmd_evaluate)

    retrain = commands.add_parser(
        "retrain", parents=[common], help="validate, train, evaluate, promote if not worse"
    )
    retrain.add_argument(
        "--tolerance",
        type=_tolerance,
        default=0.005,
        help="largest drop of accuracy or macro-F1 still promoted (default 0.005)",
    )
    retrain.add_argument("--reload-url", help="Rasa server to load the promoted model")
    retrain.add_argument("--token", help="Rasa's auth token; default: $RASA_AUTH_TOKEN")
    retrain.set_defaults(func=cmd_retrain)

    report = commands.add_parser(
        "report", parents=[common], help="conversation report (Markdown and charts)"
    )
    _add_window(report)
    report.add_argument("--out", help="report folder; default: reports/report-<date>")
    report.set_defaults(func=cmd_report)

    outbox = commands.add_parser(
        "outbox", help="what the action server could not deliver to the handoff service"
    )
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True)
    where = argparse.ArgumentParser(add_help=False, parents=[common])
    where.add_argument(
        "--path",
        help="the outbox file; default: the database at $OUTBOX_URL, else $OUTBOX_PATH,"
        " else state/outbox.db in the project",
    )
    listing = outbox_commands.add_parser(
        "list", parents=[where], help="dead letters and pending entries (no message text)"
    )
    listing.set_defaults(func=cmd_outbox_list)
    retry = outbox_commands.add_parser(
        "retry", parents=[where], help="move dead letters back to the queue"
    )
    retry.add_argument("key", nargs="?", help="the dead letter's key (see `outbox list`)")
    retry.add_argument("--all", action="store_true", help="every dead letter")
    retry.set_defaults(func=cmd_outbox_retry)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``support-bot`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except RasaCommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.log_tail:
            print(exc.log_tail, file=sys.stderr)
        return EXIT_ERROR
    except SupportBotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
