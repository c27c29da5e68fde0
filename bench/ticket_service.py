"""Handoff service: ticket creation throughput and queue listing latency, SQLite vs PostgreSQL.

Run with ``python -m bench.ticket_service``. For each database:

* ``create_tickets_per_s``: tickets created through the service layer
  (``HandoffService.create_ticket``) with a real session, one session and one
  commit per ticket as in a request, each with a 4-line transcript and a summary,
  all redacted by the secret guard, one after the other;
* ``create_tickets_per_s_<n>_clients``: the same with ``--clients`` threads
  creating at once (the server runs concurrent requests in threads; PostgreSQL
  then shares commit flushes between them);
* the table is then filled to ``--tickets`` rows (core ``INSERT`` executemany);
* ``list_p50_ms`` / ``list_p95_ms``: ``GET /api/tickets`` (first page, 50
  tickets, filtered) over HTTP against a real ``handoff-service serve``
  process, ``--requests`` requests after a warm-up, one at a time.

Goals: at least 500 tickets/s (the better of the two creation figures) and a
list p95 of at most 20 ms, on both databases. Figures depend on what else the
machine is running; compare runs made under the same conditions.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from devtools.databases import temporary_postgres_database
from devtools.stack import ROOT, ProcessFailed, free_port, start_process, wait_until_ready
from handoff_service.config import Settings
from handoff_service.db import is_sqlite, make_engine, make_session_factory, upgrade
from handoff_service.models import (
    Category,
    EscalationReason,
    Language,
    Priority,
    Ticket,
    TicketStatus,
    utc_now,
)
from handoff_service.services import HandoffService, priority_for

CREATE_GOAL = 500.0
P95_GOAL_MS = 20.0
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# First pages an agent's console asks for, cycled.
LIST_QUERIES: tuple[dict[str, str], ...] = (
    {"status": "open"},
    {"status": "open", "category": "assets"},
    {"status": "open", "language": "zh"},
    {"status": "open", "priority": "urgent"},
    {"status": "assigned"},
)


def _payload(index: int, tag: str) -> dict[str, Any]:
    category = list(Category)[index % len(Category)].value
    return {
        "conversation_id": f"bench-{tag}-{index}",
        "category": category,
        "title": f"USDT withdrawal #{index} not received",
        "description": "我昨天晚上九点从交易所提了 120 USDT 到我的钱包 (TRON)，到现在还没到账。"
        " The explorer shows the transaction as confirmed.",
        "language": "zh" if index % 2 else "en",
        "escalation_reason": "self_help_failed",
        "contact_email": "user@example.com",
        "chain": "tron",
        "occurred_at_text": "昨天晚上9点",
        "summary": {"assets": ["USDT"], "amounts": ["120"], "networks": ["TRON"]},
        "transcript": [
            {"author": "user", "text": "我的USDT提币一直没到账"},
            {"author": "bot", "text": "请确认提币地址和网络是否一致。"},
            {"author": "user", "text": "地址是对的，网络也是TRC20"},
            {"author": "bot", "text": "好的，我为您创建工单。"},
        ],
    }


def bench_create(settings: Settings, count: int, clients: int = 1) -> float:
    """Tickets per second through the service layer, one unit of work per ticket.

    ``clients`` threads create at the same time, each with its own sessions,
    as concurrent requests do in the server (which runs them in threads).
    """
    engine = make_engine(settings)
    sessions = make_session_factory(engine)
    tag = uuid.uuid4().hex[:6]
    payloads = [_payload(i, tag) for i in range(count)]
    errors: list[BaseException] = []

    def create(share: Sequence[dict[str, Any]]) -> None:
        try:
            for payload in share:
                with sessions() as session:
                    HandoffService(session).create_ticket(payload, payload["conversation_id"])
        except BaseException as exc:
            # Reported after the run; a silent thread would inflate the rate.
            errors.append(exc)
            raise

    try:
        with sessions() as session:  # warm-up: connections, caches, word lists
            HandoffService(session).create_ticket(_payload(count, tag + "w"), None)
        threads = [
            threading.Thread(target=create, args=(payloads[k::clients],)) for k in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        engine.dispose()
    if errors:
        raise RuntimeError(f"{len(errors)} creating threads failed") from errors[0]
    return count / elapsed


def bulk_fill(settings: Settings, total: int, seed: int = 7) -> int:
    """Fill the tickets table up to ``total`` rows with core executemany; returns the row count."""
    rng = random.Random(seed)
    engine = make_engine(settings)
    table = Ticket.__table__
    now = utc_now()
    statuses = [TicketStatus.OPEN] * 2 + [TicketStatus.ASSIGNED] + [TicketStatus.RESOLVED] * 3
    statuses += [TicketStatus.CLOSED] * 4
    try:
        with engine.begin() as conn:
            start = int(
                conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
            )
        batch: list[dict[str, Any]] = []
        with engine.begin() as conn:
            for ticket_id in range(start + 1, total + 1):
                category = rng.choice(list(Category))
                status = rng.choice(statuses)
                priority: Priority = priority_for(category)
                created = now - timedelta(seconds=rng.randrange(90 * 24 * 3600))
                batch.append(
                    {
                        "id": ticket_id,
                        "conversation_id": f"bulk-{ticket_id}",
                        "category": category,
                        "priority": priority,
                        "priority_rank": priority.rank,
                        "status": status,
                        "title": f"Problem number {ticket_id}",
                        "description": "A withdrawal that did not arrive.",
                        "language": rng.choice(list(Language)),
                        "escalation_reason": EscalationReason.SELF_HELP_FAILED,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                if len(batch) == 10_000:
                    conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                conn.execute(table.insert(), batch)
            if not is_sqlite(settings.database_url):
                # Explicit ids leave the sequence behind; later INSERTs need it ahead.
                conn.execute(
                    sa.text("SELECT setval('tickets_id_seq', (SELECT max(id) FROM tickets))")
                )
                # What autovacuum would do shortly after such a load.
                conn.execute(sa.text("ANALYZE tickets"))
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def _agent_token(settings: Settings) -> str:
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            return HandoffService(session).add_agent(f"bench-{uuid.uuid4().hex[:8]}")[1]
    finally:
        engine.dispose()


def wait_for_emails_sent(settings: Settings, timeout: float) -> None:
    """Block until no e-mail waits in the service's outbox (or raise after ``timeout``)."""
    engine = make_engine(settings)
    pending = sa.text(
        "SELECT count(*) FROM outgoing_emails WHERE sent_at IS NULL AND failed_at IS NULL"
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                if conn.execute(pending).scalar_one() == 0:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the confirmation e-mails were not sent in time")
            time.sleep(0.5)
    finally:
        engine.dispose()


def bench_list(settings: Settings, requests_count: int, workdir: Path) -> tuple[float, float]:
    """p50 and p95 (ms) of ``GET /api/tickets`` first pages against a real serve process."""
    token = _agent_token(settings)
    port = free_port()
    process = start_process(
        f"handoff-{uuid.uuid4().hex[:6]}",
        [
            sys.executable,
            "-m",
            "handoff_service",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        workdir,
        env={
            "HANDOFF_DATABASE_URL": settings.database_url,
            "HANDOFF_BOT_TOKEN": "bench-bot",
            "HANDOFF_STATE_DIR": str(workdir / "state"),
            "RASA_URL": "http://127.0.0.1:9",
            # One agent reads the queue far faster than a person clicks.
            "HANDOFF_AGENT_CALLS_PER_MINUTE": "1000000",
            "PYTHONPATH": str(ROOT),
        },
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, url + "/api/health", timeout=60)
        # The tickets created above queued their confirmation e-mails; the server
        # sends them first. The figure is the queue's latency, not that burst's.
        wait_for_emails_sent(settings, timeout=300)
        headers = {"Authorization": f"Bearer {token}"}
        timings: list[float] = []
        with requests.Session() as http:
            for index in range(requests_count + 20):
                params = {**LIST_QUERIES[index % len(LIST_QUERIES)], "limit": "50"}
                started = time.perf_counter()
                response = http.get(
                    url + "/api/tickets", params=params, headers=headers, timeout=10
                )
                elapsed = time.perf_counter() - started
                response.raise_for_status()
                if len(response.json()["tickets"]) != 50:
                    raise RuntimeError(f"expected a full page for {params}")
                if index >= 20:
                    timings.append(elapsed * 1000)
    finally:
        process.stop()
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    return statistics.median(timings), p95


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    """A fresh SQLite file."""
    yield f"sqlite:///{workdir / 'bench-handoff.db'}"


def postgres_database(admin_url: str) -> AbstractContextManager[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    return temporary_postgres_database("bench_handoff", admin_url)


def run_backend(name: str, url: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    """Every figure for one database, as ``"<backend> <figure>=<value>"`` lines."""
    settings = Settings(database_url=url)
    engine = make_engine(settings)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    rate = bench_create(settings, args.creates)
    rate_concurrent = bench_create(settings, args.creates, args.clients)
    rows = bulk_fill(settings, args.tickets)
    p50, p95 = bench_list(settings, args.requests, workdir)
    return [
        f"{name} create_tickets_per_s={rate:.1f}",
        f"{name} create_tickets_per_s_{args.clients}_clients={rate_concurrent:.1f}",
        f"{name} tickets_in_db={rows}",
        f"{name} list_p50_ms={p50:.2f}",
        f"{name} list_p95_ms={p95:.2f}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark on the chosen databases; exit 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=2000, help="tickets created one by one")
    parser.add_argument("--clients", type=int, default=4, help="concurrent creators")
    parser.add_argument("--tickets", type=int, default=100_000, help="rows in the table to list")
    parser.add_argument("--requests", type=int, default=200, help="timed list requests")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--postgres-admin-url", default=POSTGRES_ADMIN_URL)
    args = parser.parse_args(argv)

    print(
        "# create: service layer, real session, one commit per ticket; "
        f"list: HTTP GET /api/tickets (first page of 50, filtered) on a real serve process, "
        f"{args.requests} requests, {args.tickets} tickets in the table",
        flush=True,
    )
    missed = False
    with tempfile.TemporaryDirectory(prefix="bench-handoff-") as tmp:
        workdir = Path(tmp)
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "sqlite":
                database = sqlite_database(workdir)
            elif backend == "postgresql":
                database = postgres_database(args.postgres_admin_url)
            else:
                parser.error(f"unknown backend {backend!r}")
            try:
                with database as url:
                    lines = run_backend(backend, url, args, workdir)
            except (OperationalError, ProcessFailed) as exc:
                print(f"{backend} skipped: {exc}", flush=True)
                missed = True
                continue
            for line in lines:
                print(line, flush=True)
            figures = {k: float(v) for k, v in (ln.split(" ", 1)[1].split("=") for ln in lines)}
            best_create = max(v for k, v in figures.items() if k.startswith("create_"))
            if best_create < CREATE_GOAL or figures["list_p95_ms"] > P95_GOAL_MS:
                missed = True
    print(
        f"# goals: create >= {CREATE_GOAL:.0f}/s, list p95 <= {P95_GOAL_MS:.0f} ms: "
        + ("missed" if missed else "met")
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
