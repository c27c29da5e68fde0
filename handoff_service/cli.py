"""``handoff-service`` command line: migrate the database, manage agents and canned replies,
run the server."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from handoff_service.attachment_store import make_store
from handoff_service.config import MAX_WORKERS, ConfigError, Settings
from handoff_service.db import (
    current_revision,
    head_revision,
    is_sqlite,
    make_engine,
    make_session_factory,
    missing_sqlite_file,
    upgrade,
)
from handoff_service.errors import Conflict, RecordNotFound, TicketNotFound, ValidationFailed
from handoff_service.mail.outbox import PENDING, STATES, list_emails
from handoff_service.models import AgentRole, Language, ticket_ref
from handoff_service.production_checks import (
    environment_problems,
    environment_warnings,
    schema_problem,
)
from handoff_service.services import HandoffService
from support_core.production import Problem, collect, is_production, report

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# The canned replies shipped with the service (``canned import`` of this file).
DEFAULT_CANNED_REPLIES = Path(__file__).resolve().parent / "canned_replies.yml"
# An import file is read whole: anything near this is not a file of replies.
CANNED_FILE_MAX_BYTES = 1024 * 1024


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def cmd_db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    """Apply every pending migration."""
    engine = make_engine(settings)
    try:
        revision = upgrade(engine)
    finally:
        engine.dispose()
    print(f"database {_safe_url(settings.database_url)} is at revision {revision}")
    return EXIT_OK


def stored_revision(settings: Settings) -> str | None:
    """The migration the database is at (``None``: empty), without creating a SQLite file.

    Raises:
        SQLAlchemyError: the database cannot be reached or read.
    """
    if missing_sqlite_file(settings.database_url) is not None:
        return None
    engine = make_engine(settings)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _unreachable(settings: Settings, exc: SQLAlchemyError) -> str:
    # The driver's first line says why (refused, unknown host, bad password)
    # without the password itself; the URL is printed with it hidden.
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"cannot read the database {_safe_url(settings.database_url)}: {reason}"


def cmd_db_check(settings: Settings, _args: argparse.Namespace) -> int:
    """Exit 0 when the schema is at the newest migration, 1 otherwise (a readiness probe)."""
    try:
        current = stored_revision(settings)
    except SQLAlchemyError as exc:
        print(f"error: {_unreachable(settings, exc)}", file=sys.stderr)
        return EXIT_FAILED
    head = head_revision()
    problem = schema_problem(current, head)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_FAILED
    print(f"database {_safe_url(settings.database_url)} is at the newest revision {head}")
    return EXIT_OK


def _with_service(settings: Settings, work: Callable[[HandoffService], int]) -> int:
    engine = make_engine(settings)
    try:
        if current_revision(engine) != head_revision():
            print(
                "error: the database schema is not up to date; "
                "run `handoff-service db upgrade` first",
                file=sys.stderr,
            )
            return EXIT_FAILED
        with make_session_factory(engine)() as session:
            return work(HandoffService(session))
    finally:
        engine.dispose()


def cmd_agent_add(settings: Settings, args: argparse.Namespace) -> int:
    """Create an agent (``--role admin`` for an admin) and print its token, once."""

    def work(service: HandoffService) -> int:
        try:
            agent, token = service.add_agent(args.name, args.role)
        except ValidationFailed as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return EXIT_FAILED
        role = AgentRole(agent.role).value
        print(f"{role} {agent.name!r} created; the token is shown only this once:")
        print(token)
        return EXIT_OK

    return _with_service(settings, work)


def cmd_agent_list(settings: Settings, _args: argparse.Namespace) -> int:
    """Print every agent: name, state, role, creation time (never a token)."""

    def work(service: HandoffService) -> int:
        agents = service.agents()
        if not agents:
            print("no agents yet; add one with `handoff-service agent add NAME`")
        for agent in agents:
            state = "active" if agent.active else "deactivated"
            role = AgentRole(agent.role).value
            print(f"{agent.name}\t{state}\t{role}\tcreated {agent.created_at:%Y-%m-%d %H:%M} UTC")
        return EXIT_OK

    return _with_service(settings, work)


def _agent_change(settings: Settings, change: Callable[[HandoffService], str]) -> int:
    """Run one change of an agent; print what it returns, or the error."""

    def work(service: HandoffService) -> int:
        try:
            print(change(service))
        except ValidationFailed as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return EXIT_FAILED
        return EXIT_OK

    return _with_service(settings, work)


def cmd_agent_deactivate(settings: Settings, args: argparse.Namespace) -> int:
    """Revoke an agent's token."""

    def change(service: HandoffService) -> str:
        service.deactivate_agent(args.name)
        return f"agent {args.name!r} deactivated; their token no longer works"

    return _agent_change(settings, change)


def cmd_agent_enable(settings: Settings, args: argparse.Namespace) -> int:
    """Let a deactivated agent's token work again."""

    def change(service: HandoffService) -> str:
        service.enable_agent(args.name)
        return f"agent {args.name!r} enabled; their token works again"

    return _agent_change(settings, change)


def cmd_agent_role(settings: Settings, args: argparse.Namespace) -> int:
    """Make an agent an admin, or a plain agent."""

    def change(service: HandoffService) -> str:
        service.set_role(args.name, args.role)
        return f"agent {args.name!r} is now {args.role}"

    return _agent_change(settings, change)


def cmd_agent_rotate(settings: Settings, args: argparse.Namespace) -> int:
    """Give an agent a new token and print it, once; the old one stops working."""

    def change(service: HandoffService) -> str:
        agent, token = service.rotate_token(args.name)
        return (
            f"agent {agent.name!r} has a new token, shown only this once "
            f"(the old one no longer works):\n{token}"
        )

    return _agent_change(settings, change)


def read_canned_file(path: Path) -> list[dict[str, object]]:
    """The replies of a canned replies file: YAML, ``replies:`` a list of mappings.

    Raises:
        ValueError: unreadable, too large, not YAML, or not that shape.
    """
    try:
        if path.stat().st_size > CANNED_FILE_MAX_BYTES:
            raise ValueError(f"{path} is over {CANNED_FILE_MAX_BYTES} bytes")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
    replies = data.get("replies") if isinstance(data, dict) else None
    if not isinstance(replies, list):
        raise ValueError(f"{path} must hold `replies:`, a list of shortcut/language/title/text")
    return replies


def cmd_canned_import(settings: Settings, args: argparse.Namespace) -> int:
    """Add the file's canned replies whose shortcut is missing; never overwrite one."""
    try:
        entries = read_canned_file(Path(args.file))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED

    def work(service: HandoffService) -> int:
        try:
            result = service.import_canned_replies(entries)
        except (ValidationFailed, Conflict) as exc:
            where = f" (entry {exc.field})" if isinstance(exc, ValidationFailed) else ""
            print(f"error: {exc.detail}{where}; nothing imported", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"{len(result.added)} canned replies added, "
            f"{len(result.kept)} already there (left as they are)"
        )
        return EXIT_OK

    return _with_service(settings, work)


def cmd_canned_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the canned replies: language, shortcut, title, last change."""

    def work(service: HandoffService) -> int:
        replies = service.canned_replies(args.language)
        if not replies:
            print("no canned replies; import some with `handoff-service canned import FILE`")
        for reply in replies:
            print(
                f"{Language(reply.language).value}\t{reply.shortcut}\t{reply.title}\t"
                f"updated {reply.updated_at:%Y-%m-%d %H:%M} UTC by {reply.updated_by}"
            )
        return EXIT_OK

    return _with_service(settings, work)


def cmd_canned_remove(settings: Settings, args: argparse.Namespace) -> int:
    """Delete one canned reply."""

    def work(service: HandoffService) -> int:
        try:
            service.remove_canned_reply(args.shortcut, args.language)
        except (ValidationFailed, RecordNotFound) as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return EXIT_FAILED
        print(f"canned reply {args.shortcut!r} ({args.language}) removed")
        return EXIT_OK

    return _with_service(settings, work)


def cmd_ticket_delete(settings: Settings, args: argparse.Namespace) -> int:
    """Erase a ticket: its transcript, audit trail, e-mails and screenshots (bytes too)."""
    store = make_store(settings.attachment_store, settings.state_dir)

    def work(service: HandoffService) -> int:
        try:
            images = service.delete_ticket(args.ref, store)
        except TicketNotFound as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return EXIT_FAILED
        print(f"ticket {args.ref} deleted, with {images} screenshot(s)")
        return EXIT_OK

    return _with_service(settings, work)


def cmd_attachments_expire(settings: Settings, _args: argparse.Namespace) -> int:
    """Delete every screenshot older than the retention period now."""
    store = make_store(settings.attachment_store, settings.state_dir)
    retention = timedelta(days=settings.attachment_retention_days)

    def work(service: HandoffService) -> int:
        total = 0
        while deleted := service.expire_attachments(retention, store, 500):
            total += deleted
        print(f"{total} screenshot(s) older than {retention.days} days deleted")
        return EXIT_OK

    return _with_service(settings, work)


def cmd_mail_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print the newest e-mails to users: kind, attempts, state; never an address or a text."""

    def work(service: HandoffService) -> int:
        rows = list_emails(service.session, args.state, args.limit)
        if not rows:
            print(f"no {args.state} e-mails" if args.state else "no e-mails yet")
            return EXIT_OK
        print("id\tticket\tkind\tattempts\tstate\tlast error")
        for row in rows:
            state = row.state
            if state == PENDING:
                state = f"pending (next try {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC)"
            print(
                f"{row.id}\t{ticket_ref(row.ticket_id)}\t{row.kind}\t{row.attempts}\t"
                f"{state}\t{row.last_error or '-'}"
            )
        return EXIT_OK

    return _with_service(settings, work)


def _limit(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return value


STATE_DIR_MODE = 0o700
TOKEN_FILE_MODE = 0o600


def ensure_state_dir(settings: Settings) -> Path:
    """The state folder, created for the owner only (it holds the database and tokens).

    The mode is given to mkdir itself, so there is no moment at which the
    folder is open to others. A folder that already exists is left as the
    operator made it.
    """
    path = settings.state_dir
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=STATE_DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
    return path


def ensure_bot_token(settings: Settings) -> tuple[Settings, Path | None]:
    """Settings with a bot token: the configured one, or one kept in the state folder.

    Returns the file the token lives in when it came from there.
    """
    if settings.bot_token:
        return settings, None
    path = settings.bot_token_file
    token = path.read_text(encoding="utf-8").strip() if path.exists() else ""
    if not token:
        ensure_state_dir(settings)
        token = secrets.token_urlsafe(32)
        # An empty file left behind is replaced rather than reused, so the
        # token is always in a file created with the owner-only mode below.
        path.unlink(missing_ok=True)
        # Readable by the owner only (it lets a client open tickets), from the
        # moment the file exists: the mode goes to open(), not to a chmod later.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, TOKEN_FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
    return replace(settings, bot_token=token), path


def check_workers(settings: Settings) -> None:
    """Refuse several workers on SQLite, in every profile.

    Raises:
        ConfigError: ``workers`` > 1 with a SQLite database.
    """
    if settings.workers > 1 and is_sqlite(settings.database_url):
        raise ConfigError(
            f"{settings.workers} workers (HANDOFF_WORKERS or --workers) need PostgreSQL in "
            "HANDOFF_DATABASE_URL: on a SQLite file only one process can write at a time and "
            "background work is not shared safely; use one worker"
        )


def _production_preflight(settings: Settings, env: Mapping[str, str]) -> int | None:
    """Check a production start; ``None`` when it may go on, else the exit status.

    Never migrates and never creates anything: every replica starting at once
    must not race to change the schema (that is ``db upgrade``'s one-off job).
    The database is only looked at once the environment passed.
    """
    problems = environment_problems(env)
    status = EXIT_USAGE
    if not problems:
        try:
            check_workers(settings)
            problems = collect(schema_problem(stored_revision(settings), head_revision()))
        except ConfigError as exc:
            problems = [Problem("HANDOFF_WORKERS", str(exc))]
        except SQLAlchemyError as exc:
            problems = [Problem("HANDOFF_DATABASE_URL", _unreachable(settings, exc))]
            status = EXIT_FAILED
    report(problems, environment_warnings(env), sys.stderr)
    return status if problems else None


def _development_preflight(settings: Settings, args: argparse.Namespace) -> Settings:
    """Migrate and make sure of a bot token, as a laptop start always did.

    Raises:
        ConfigError: several workers on SQLite.
    """
    check_workers(settings)
    # Before the database: a SQLite file's folder would otherwise be made
    # by the engine with the default mode.
    ensure_state_dir(settings)
    cmd_db_upgrade(settings, args)
    settings, token_file = ensure_bot_token(settings)
    if token_file is not None:
        print(
            f"HANDOFF_BOT_TOKEN is not set; the bot token is in {token_file} "
            "(give the same value to the action server)",
            flush=True,
        )
    if settings.workers > 1 and (settings.rate_limit_storage_url or "memory:").startswith(
        "memory:"
    ):
        print(
            f"warning: RATE_LIMIT_STORAGE_URL is memory: each of the {settings.workers} "
            "workers counts its own limits",
            file=sys.stderr,
            flush=True,
        )
    return settings


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the API until interrupted, on ``workers`` processes.

    Development migrates first; production (``PROFILE=production``) migrates
    nothing and refuses to start on a configuration that would split data
    between replicas, or on a schema ``db upgrade`` has not brought to head.
    """
    # Imported here: the CLI's other commands do not need Sanic.
    from handoff_service.app import create_app

    if args.host:
        settings = replace(settings, host=args.host)
    if args.port:
        settings = replace(settings, port=args.port)
    if args.workers:
        settings = replace(settings, workers=args.workers)
    if is_production(os.environ):
        refused = _production_preflight(settings, os.environ)
        if refused is not None:
            return refused
    else:
        try:
            settings = _development_preflight(settings, args)
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    # The service's own log lines (state changes, never message text) at INFO;
    # Sanic's logging setup is left off so each line is printed once.
    logging.getLogger().setLevel(logging.INFO)
    try:
        app = create_app(settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    app.run(
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        motd=False,
    )
    return EXIT_OK


def _workers(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_WORKERS}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``handoff-service``."""
    parser = argparse.ArgumentParser(
        prog="handoff-service",
        description="Tickets for conversations the assistant hands over to human agents. "
        "Configured by environment variables (HANDOFF_DATABASE_URL, HANDOFF_BOT_TOKEN, "
        "HANDOFF_STATE_DIR, RASA_URL, RASA_AUTH_TOKEN, RASA_OUTPUT_CHANNEL, HANDOFF_HOST, "
        "HANDOFF_PORT, HANDOFF_WORKERS; PROFILE=production for the production checks; "
        "PUBLIC_RASA_URL, HANDOFF_WIDGET_DIR and WIDGET_FRAME_ANCESTORS for the "
        "chat widget served at /widget/; HANDOFF_CORS_ORIGINS; RATE_LIMIT_STORAGE_URL, "
        "HANDOFF_TICKETS_PER_HOUR, HANDOFF_AGENT_CALLS_PER_MINUTE, "
        "HANDOFF_ANON_CALLS_PER_MINUTE; SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, "
        "SMTP_SECURITY, MAIL_FROM, MAIL_OUTBOX_DIR, EMAIL_REPLY_DELAY_S and CHAT_PUBLIC_URL "
        "for e-mail to users; HANDOFF_ATTACHMENT_STORE, ATTACHMENT_MAX_BYTES, "
        "ATTACHMENT_MAX_PER_CONVERSATION, HANDOFF_ATTACHMENT_RETENTION_DAYS for screenshots). "
        "The agent console is at /console/.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser(
        "upgrade", help="apply pending migrations (safe to run twice at once on PostgreSQL)"
    ).set_defaults(func=cmd_db_upgrade)
    db.add_parser(
        "check", help="exit 0 when the schema is at the newest migration, 1 otherwise"
    ).set_defaults(func=cmd_db_check)

    agent = commands.add_parser("agent", help="support agents").add_subparsers(
        dest="agent_command", required=True
    )
    roles = [role.value for role in AgentRole]
    add = agent.add_parser("add", help="create an agent and print its token once")
    add.add_argument("name")
    add.add_argument(
        "--role", choices=roles, default=AgentRole.AGENT.value, help="default: agent"
    )
    add.set_defaults(func=cmd_agent_add)
    agent.add_parser("list", help="list agents").set_defaults(func=cmd_agent_list)
    deactivate = agent.add_parser("deactivate", help="revoke an agent's token")
    deactivate.add_argument("name")
    deactivate.set_defaults(func=cmd_agent_deactivate)
    enable = agent.add_parser("enable", help="let a deactivated agent's token work again")
    enable.add_argument("name")
    enable.set_defaults(func=cmd_agent_enable)
    rotate = agent.add_parser(
        "rotate", help="give an agent a new token and print it once (the old one stops working)"
    )
    rotate.add_argument("name")
    rotate.set_defaults(func=cmd_agent_rotate)
    role = agent.add_parser("role", help="make an agent an admin, or a plain agent")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    role.set_defaults(func=cmd_agent_role)

    canned = commands.add_parser("canned", help="canned replies").add_subparsers(
        dest="canned_command", required=True
    )
    languages = [language.value for language in Language]
    canned_list = canned.add_parser("list", help="list canned replies")
    canned_list.add_argument("--language", choices=languages, help="only this language")
    canned_list.set_defaults(func=cmd_canned_list)
    canned_import = canned.add_parser(
        "import",
        help="add a YAML file's replies whose shortcut is missing (never overwrites; "
        f"the service's own file is {DEFAULT_CANNED_REPLIES.name} in its package)",
    )
    canned_import.add_argument(
        "file",
        nargs="?",
        default=str(DEFAULT_CANNED_REPLIES),
        help="the YAML file (default: the replies shipped with the service)",
    )
    canned_import.set_defaults(func=cmd_canned_import)
    canned_remove = canned.add_parser("remove", help="delete a canned reply")
    canned_remove.add_argument("shortcut")
    canned_remove.add_argument("--language", choices=languages, required=True)
    canned_remove.set_defaults(func=cmd_canned_remove)

    mail = commands.add_parser("mail", help="e-mails to users").add_subparsers(
        dest="mail_command", required=True
    )
    mail_list = mail.add_parser(
        "list", help="list the newest e-mails (state, attempts, last error; no address or text)"
    )
    mail_list.add_argument("--state", choices=STATES, help="only e-mails in this state")
    mail_list.add_argument(
        "--limit", type=_limit, default=50, help="how many, newest first (default 50)"
    )
    mail_list.set_defaults(func=cmd_mail_list)

    ticket = commands.add_parser("ticket", help="tickets").add_subparsers(
        dest="ticket_command", required=True
    )
    delete = ticket.add_parser(
        "delete", help="erase a ticket with its transcript and screenshots (cannot be undone)"
    )
    delete.add_argument("ref", help="the reference, e.g. T-000123")
    delete.set_defaults(func=cmd_ticket_delete)

    attachments = commands.add_parser("attachments", help="screenshots").add_subparsers(
        dest="attachments_command", required=True
    )
    attachments.add_parser(
        "expire", help="delete screenshots older than HANDOFF_ATTACHMENT_RETENTION_DAYS now"
    ).set_defaults(func=cmd_attachments_expire)

    serve = commands.add_parser(
        "serve",
        help="run the API; migrates first unless PROFILE=production, which checks instead",
    )
    serve.add_argument("--host", help="overrides HANDOFF_HOST")
    serve.add_argument("--port", type=int, help="overrides HANDOFF_PORT")
    serve.add_argument(
        "--workers", type=_workers, help="server processes (overrides HANDOFF_WORKERS, default 1)"
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``handoff-service`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return int(args.func(settings, args))
