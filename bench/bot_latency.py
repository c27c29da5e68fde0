"""Latency and throughput of our bot against Rasa's starter bot, both as real servers.

Run with ``python -m bench.bot_latency``. The two bots are started one after the
other (never at the same time, so they do not share the cores) and driven over
the REST channel:

* sequential latency: ``--messages`` messages one at a time, in conversations of
  ``--turns`` turns, after ``--warmup`` warm-up messages (p50 / p95 in ms);
* throughput: ``--concurrency`` clients, each sending ``--per-client`` messages
  back to back, in conversations of ``--turns`` turns (messages per second);
* correctness: the starter bot must answer with the texts of the right ``utter_``
  responses of its own domain; ours must classify every distinct message as the
  expected intent (checked once with ``/model/parse`` before the timed runs) and
  give a non-empty answer to every timed message.

The starter bot is built once with ``rasa init --no-prompt`` in
``state/bench/starter`` and reused on later runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from bench.measure import load_average, machine, percentile
from devtools.stack import (
    BIN,
    DEFAULT_MODEL,
    QUIET_ENV,
    ROOT,
    ProcessFailed,
    free_port,
    running_stack,
    start_process,
    wait_until_ready,
)

STARTER_DIR = ROOT / "state" / "bench" / "starter"
OURS_DIR = ROOT / "state" / "bench" / "ours"
LOG_DIR = ROOT / "state" / "bench" / "logs"

P95_GOAL = 1.2
THROUGHPUT_GOAL = 2.0
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Turn:
    """One user message and what a right answer looks like.

    ``expected_texts`` is the exact list of texts the bot must send back (starter
    bot); ``None`` means any non-empty answer (ours, whose intent is checked
    separately through the parse endpoint).
    """

    message: str
    expected_texts: tuple[str, ...] | None = None
    expected_intent: str | None = None


# Our bot: conversations of four turns, Chinese and English, cycled.
OUR_TURNS: tuple[tuple[str, str], ...] = (
    ("hi there", "greet"),
    ("my deposit hasn't arrived", "deposit_not_received"),
    ("how much is the network fee", "fee_inquiry"),
    ("thanks", "thank"),
    ("你好", "greet"),
    ("USDT提币失败了", "withdrawal_failed"),
    ("打开App就闪退", "app_malfunction"),
    ("转人工", "request_human"),
    ("hello", "greet"),
    ("I forgot my password", "password_reset"),
    ("are you a bot?", "bot_challenge"),
    ("bye", "goodbye"),
    ("您好", "greet"),
    ("交易一直显示pending，好几个小时了", "transaction_pending"),
    ("谢谢", "thank"),
    ("再见", "goodbye"),
)

# Starter bot: its own stories and rules, as (message, response names) turns.
STARTER_SCRIPT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hello", ("utter_greet",)),
    ("amazing", ("utter_happy",)),
    ("are you a bot?", ("utter_iamabot",)),
    ("bye", ("utter_goodbye",)),
    ("hello", ("utter_greet",)),
    ("I am sad", ("utter_cheer_up", "utter_did_that_help")),
    ("are you a bot?", ("utter_iamabot",)),
    ("bye", ("utter_goodbye",)),
)


@dataclass
class Target:
    """A running bot to measure."""

    name: str
    base_url: str
    turns: Sequence[Turn]
    # Ours binds each conversation to a session token (the starter bot takes none).
    session_token: Callable[[str], str] | None = None

    def headers(self, sender: str) -> dict[str, str]:
        """The headers one message of conversation ``sender`` needs."""
        if self.session_token is None:
            return {}
        return {"Authorization": f"Bearer {self.session_token(sender)}"}

    @property
    def webhook(self) -> str:
        """The REST channel's webhook."""
        return f"{self.base_url}/webhooks/rest/webhook"


@dataclass
class Result:
    """The figures measured for one bot."""

    name: str
    latencies_ms: list[float] = field(default_factory=list)
    load_latencies_ms: list[float] = field(default_factory=list)
    messages_per_s: float = 0.0
    wrong: int = 0
    wrong_examples: list[str] = field(default_factory=list)
    load_average: str = ""

    def add_wrong(self, what: str) -> None:
        """Count a wrong answer and keep the first few for the report."""
        self.wrong += 1
        if len(self.wrong_examples) < 10:
            self.wrong_examples.append(what)




def conversation(turns: Sequence[Turn], start: int, length: int) -> list[Turn]:
    """``length`` turns of the cycled ``turns`` list, starting at ``start``."""
    return [turns[(start + i) % len(turns)] for i in range(length)]


def check_answer(turn: Turn, answer: list[dict]) -> str | None:
    """Why ``answer`` is wrong for ``turn``, or ``None`` when it is right."""
    texts = [str(m["text"]) for m in answer if m.get("text")]
    if turn.expected_texts is None:
        return None if texts or answer else f"{turn.message!r}: empty answer"
    if tuple(texts) != turn.expected_texts:
        return f"{turn.message!r}: got {texts!r}, expected {list(turn.expected_texts)!r}"
    return None


def send(
    session: requests.Session, target: Target, sender: str, turn: Turn
) -> tuple[float, str | None]:
    """Send one message; return its latency in ms and the reason it was wrong, if it was."""
    headers = target.headers(sender)
    started = time.perf_counter()
    try:
        response = session.post(
            target.webhook,
            json={"sender": sender, "message": turn.message},
            headers=headers,
            timeout=REQUEST_TIMEOUT,
        )
        elapsed = (time.perf_counter() - started) * 1000.0
        response.raise_for_status()
        return elapsed, check_answer(turn, response.json())
    except (requests.RequestException, ValueError) as exc:
        return (time.perf_counter() - started) * 1000.0, f"{turn.message!r}: {exc}"


def new_sender(prefix: str) -> str:
    """A conversation id nobody used before."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def run_conversations(
    session: requests.Session,
    target: Target,
    prefix: str,
    total: int,
    turns_per_conv: int,
    first: int,
    result: Result | None,
    latencies: list[float] | None,
) -> None:
    """Send ``total`` messages in conversations of ``turns_per_conv`` turns, one at a time."""
    sent, start = 0, first
    while sent < total:
        length = min(turns_per_conv, total - sent)
        sender = new_sender(prefix)
        for turn in conversation(target.turns, start, length):
            latency, wrong = send(session, target, sender, turn)
            if latencies is not None:
                latencies.append(latency)
            if result is not None and wrong:
                result.add_wrong(wrong)
        sent += length
        start += turns_per_conv


def measure(target: Target, args: argparse.Namespace) -> Result:
    """Warm up, then measure sequential latency and concurrent throughput of ``target``."""
    result = Result(target.name)
    with requests.Session() as session:
        run_conversations(session, target, "warmup", args.warmup, args.turns, 0, None, None)
        result.load_average = load_average()
        run_conversations(
            session, target, "seq", args.messages, args.turns, 0, result, result.latencies_ms
        )

    lock = threading.Lock()
    barrier = threading.Barrier(args.concurrency + 1)

    def client(index: int) -> None:
        local = Result(target.name)
        latencies: list[float] = []
        with requests.Session() as client_session:
            barrier.wait()
            run_conversations(
                client_session,
                target,
                f"load{index}",
                args.per_client,
                args.turns,
                index * args.turns,
                local,
                latencies,
            )
        with lock:
            result.load_latencies_ms.extend(latencies)
            result.wrong += local.wrong
            room = max(0, 10 - len(result.wrong_examples))
            result.wrong_examples.extend(local.wrong_examples[:room])

    threads = [
        threading.Thread(target=client, args=(i,), daemon=True) for i in range(args.concurrency)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    result.messages_per_s = args.concurrency * args.per_client / elapsed
    return result


# ------------------------------------------------------------------ the starter bot


def starter_model(folder: Path = STARTER_DIR) -> Path | None:
    """The newest trained model of the starter bot, if there is one."""
    models = sorted((folder / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    return models[-1] if models else None


def build_starter(folder: Path = STARTER_DIR) -> Path:
    """Create and train the starter bot with ``rasa init --no-prompt`` unless it is cached."""
    model = starter_model(folder)
    if model is not None:
        print(f"starter bot: reusing {model.relative_to(ROOT)}")
        return model
    if folder.exists():  # an interrupted earlier build: start again from scratch
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / "starter-init.log"
    print(f"starter bot: rasa init --no-prompt in {folder.relative_to(ROOT)} (about a minute)")
    started = time.monotonic()
    with log_path.open("wb") as log:
        completed = subprocess.run(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(folder)],
            cwd=folder,
            env={**os.environ, **QUIET_ENV},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=1800,
            check=False,
        )
    model = starter_model(folder)
    if completed.returncode != 0 or model is None:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise ProcessFailed(f"rasa init failed (exit {completed.returncode}):\n{tail}")
    print(f"starter bot: trained in {time.monotonic() - started:.0f}s")
    return model


def starter_turns(folder: Path = STARTER_DIR) -> list[Turn]:
    """The starter script with the response texts read from the starter's domain.yml."""
    domain = yaml.safe_load((folder / "domain.yml").read_text())
    responses: dict[str, list[dict]] = domain["responses"]

    def texts(name: str) -> tuple[str, ...]:
        variants = responses[name]
        if len(variants) != 1:
            raise ValueError(f"{name} has {len(variants)} variants; expected exactly one")
        return (str(variants[0]["text"]),)

    return [
        Turn(message, tuple(text for name in names for text in texts(name)))
        for message, names in STARTER_SCRIPT
    ]


@contextmanager
def running_starter(model: Path, folder: Path = STARTER_DIR) -> Iterator[str]:
    """Run the starter bot (REST channel, in-memory tracker store); yield its URL."""
    port = free_port()
    process = start_process(
        "starter-rasa",
        [str(BIN / "rasa"), "run", "--model", str(model), "--port", str(port), "--enable-api"],
        LOG_DIR,
        cwd=folder,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_ready(process, f"{url}/status")
        yield url
    finally:
        process.stop()


# ------------------------------------------------------------------ our bot


def our_turns() -> list[Turn]:
    """Our fixed (message, intent) turns."""
    return [Turn(message, None, intent) for message, intent in OUR_TURNS]


def check_intents(rasa_url: str, token: str, turns: Sequence[Turn], result: Result) -> None:
    """Ask ``/model/parse`` once per distinct message; count each misclassified one as wrong."""
    seen: set[str] = set()
    for turn in turns:
        if turn.message in seen or turn.expected_intent is None:
            continue
        seen.add(turn.message)
        response = requests.post(
            f"{rasa_url}/model/parse",
            params={"token": token},
            json={"text": turn.message},
            timeout=REQUEST_TIMEOUT,
        )
        response.raise_for_status()
        intent = (response.json().get("intent") or {}).get("name")
        if intent != turn.expected_intent:
            result.add_wrong(f"{turn.message!r}: intent {intent}, expected {turn.expected_intent}")


def measure_ours(model: Path, args: argparse.Namespace) -> Result:
    """Start our stack exactly as ``make run`` does and measure it."""
    if OURS_DIR.exists():  # a fresh tracker database on every run
        shutil.rmtree(OURS_DIR)
    print("ours: starting the action server and Rasa ...")
    with running_stack(OURS_DIR, model) as stack:
        turns = our_turns()
        intent_check = Result("ours")
        check_intents(stack.rasa_url, stack.auth_token, turns, intent_check)
        print(f"ours: measuring (load average {load_average()})")
        result = measure(Target("ours", stack.rasa_url, turns, stack.session_token), args)
    result.wrong += intent_check.wrong
    result.wrong_examples = intent_check.wrong_examples + result.wrong_examples
    return result


def measure_starter(args: argparse.Namespace) -> Result:
    """Build (or reuse) the starter bot, run it and measure it."""
    model = build_starter()
    turns = starter_turns()
    print("starter: starting Rasa ...")
    with running_starter(model) as url:
        print(f"starter: measuring (load average {load_average()})")
        return measure(Target("starter", url, turns), args)


# ------------------------------------------------------------------ report



def print_report(results: list[Result], args: argparse.Namespace) -> None:
    """A small table, then one comparable line per bot and the ratios."""
    print()
    print(
        f"sequential: {args.messages} messages after {args.warmup} warm-up, "
        f"{args.turns} turns per conversation; "
        f"throughput: {args.concurrency} clients x {args.per_client} messages"
    )
    header = (
        f"{'bot':<8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'load p50':>9} "
        f"{'load p95':>9} {'msg/s':>7} {'wrong':>6}  load avg at start"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<8} {percentile(r.latencies_ms, 50):8.1f} "
            f"{percentile(r.latencies_ms, 95):8.1f} {max(r.latencies_ms, default=0):8.1f} "
            f"{percentile(r.load_latencies_ms, 50):9.1f} "
            f"{percentile(r.load_latencies_ms, 95):9.1f} {r.messages_per_s:7.1f} {r.wrong:6d}  "
            f"{r.load_average}"
        )
    for r in results:
        for example in r.wrong_examples:
            print(f"  wrong ({r.name}): {example}")
    print()
    print(machine())
    by_name = {r.name: r for r in results}
    for r in results:
        print(
            f"{r.name} p50_ms={percentile(r.latencies_ms, 50):.1f} "
            f"p95_ms={percentile(r.latencies_ms, 95):.1f} msgs_per_s={r.messages_per_s:.1f} "
            f"wrong={r.wrong}"
        )
    ours, starter = by_name.get("ours"), by_name.get("starter")
    if ours and starter:
        p95_ratio = percentile(ours.latencies_ms, 95) / percentile(starter.latencies_ms, 95)
        tp_ratio = ours.messages_per_s / starter.messages_per_s
        print(
            f"ratio p95_ours_over_starter={p95_ratio:.2f} "
            f"throughput_ours_over_starter={tp_ratio:.2f}"
        )
        print(
            f"goal p95_ours_over_starter<={P95_GOAL}: "
            f"{'met' if p95_ratio <= P95_GOAL else 'NOT met'}; "
            f"goal throughput_ours_over_starter>={THROUGHPUT_GOAL}: "
            f"{'met' if tp_ratio >= THROUGHPUT_GOAL else 'NOT met'}"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.bot_latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--messages", type=int, default=200, help="sequential messages (200)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up messages (20)")
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument(
        "--per-client", type=int, default=30, help="messages each concurrent client sends (30)"
    )
    parser.add_argument(
        "--turns", type=int, default=4, help="turns per conversation before a new sender id (4)"
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help="our trained model (models/current.tar.gz)",
    )
    parser.add_argument("--skip-starter", action="store_true", help="measure only our bot")
    args = parser.parse_args(argv)
    for name in ("messages", "concurrency", "per_client", "turns"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure both bots and print the report; 2 when our model is missing."""
    args = parse_args(argv)
    model = args.model if args.model.is_absolute() else (Path.cwd() / args.model)
    if not model.exists():
        print(f"no model at {args.model}: run make train first", file=sys.stderr)
        return 2
    print(machine())
    results = [measure_ours(model.resolve(), args)]
    if not args.skip_starter:
        results.append(measure_starter(args))
    print_report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
