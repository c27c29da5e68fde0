"""How long after a Rasa restart the agents' replies sent meanwhile reach the conversations.

Run with ``python -m bench.backlog_recovery``. Starts the real stack
(``devtools.stack.running_stack(handoff=True)``) with the service's default
retry settings, escalates ``--conversations`` chats in Chinese over socket.io
and has an agent claim each ticket. Then it stops Rasa, has the agent send
``--replies`` replies to every ticket (each answered 201 at once and kept in
the service's notification table), keeps Rasa down for ``--down`` seconds
(``--down 600`` is the ten-minute outage), and starts Rasa again.

Printed: the seconds from the moment the restarted Rasa answers ``/status``
until every reply is in its conversation (read back from Rasa's tracker API),
and the replies delivered per second over that time. The run fails (exit 1)
if any reply is missing, duplicated or out of order, or if the backlog takes
longer than the goal.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.measure import load_average, machine
from devtools.agent_client import AgentClient
from devtools.chat_client import SUBMIT, TICKET_CREATED_ZH, SocketChatUser, fill_ticket_form
from devtools.stack import DEFAULT_MODEL, ROOT, Stack, running_stack

GOAL_S = 10.0
WORKDIR = ROOT / "state" / "bench" / "backlog_recovery"
REF = re.compile(r"T-\d{6,}")


def escalate(stack: Stack, agent: AgentClient) -> tuple[str, str]:
    """A claimed ticket in a new conversation; returns (conversation id, ticket ref)."""
    with SocketChatUser(stack.rasa_url) as user:
        fill_ticket_form(user)
        created = user.ask(SUBMIT, TICKET_CREATED_ZH)
        found = REF.search(created.text)
        if found is None:
            raise RuntimeError(f"no ticket reference in {created.text!r}")
        agent.claim(found.group()).raise_for_status()
        assert user.session_id is not None
        return user.session_id, found.group()


def agent_texts(stack: Stack, conversation_id: str) -> list[str]:
    """The agent replies shown in a conversation, in order, as Rasa's tracker holds them."""
    texts = []
    for event in stack.tracker(conversation_id)["events"]:
        custom = ((event.get("data") or {}).get("custom") or {}).get("data") or {}
        if event.get("event") == "bot" and custom.get("type") == "agent":
            texts.append(custom["text"])
    return texts


def run(stack: Stack, args: argparse.Namespace) -> tuple[float, float, int, bool]:
    """Seconds until the first and the last reply arrived, how many, and whether all are intact."""
    assert stack.handoff_url is not None
    agent = AgentClient(stack.handoff_url, stack.add_agent("Backlog"))
    try:
        chats = [escalate(stack, agent) for _ in range(args.conversations)]
        stack.process("rasa").stop()
        expected: dict[str, list[str]] = {}
        for conversation_id, ref in chats:
            expected[conversation_id] = []
            for n in range(args.replies):
                text = f"{ref} reply {n}"
                agent.reply(ref, text).raise_for_status()
                expected[conversation_id].append(text)
        time.sleep(args.down)
        stack.restart("rasa")
        ready = time.monotonic()
        deadline = ready + args.timeout
        pending = dict(expected)
        first: float | None = None
        while pending and time.monotonic() < deadline:
            for conversation_id in list(pending):
                shown = agent_texts(stack, conversation_id)
                if shown and first is None:
                    first = time.monotonic() - ready
                if len(shown) >= len(pending[conversation_id]):
                    del pending[conversation_id]
            time.sleep(0.05)
        took = time.monotonic() - ready
        time.sleep(2)  # a late duplicate would show now
        intact = all(agent_texts(stack, c) == texts for c, texts in expected.items())
        count = sum(len(t) for t in expected.values())
        return (first if first is not None else took), took, count, intact and not pending
    finally:
        agent.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; exit 1 if replies were lost, doubled or late."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--replies", type=int, default=5, help="replies per conversation")
    parser.add_argument("--down", type=float, default=30.0, help="seconds Rasa stays down")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"no trained model at {args.model}: run `make train`", file=sys.stderr)
        return 2
    print(f"# machine: {machine()}", flush=True)
    print(
        f"# {args.conversations} conversations x {args.replies} replies sent while Rasa is "
        f"down for {args.down:.0f} s; service defaults for retries",
        flush=True,
    )
    print(f"# load average before: {load_average()}", flush=True)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    # The service's own default retry cap, not the test stack's shorter one.
    defaults = {"HANDOFF_NOTIFY_MAX_BACKOFF_S": "5"}
    with running_stack(WORKDIR, args.model, handoff=True, env=defaults) as stack:
        first, took, count, intact = run(stack, args)
    print(f"# load average after: {load_average()}", flush=True)
    print(f"backlog first_reply_after_rasa_ready_s={first:.2f}", flush=True)
    print(f"backlog delivered_after_rasa_ready_s={took:.2f} (n={count})", flush=True)
    print(f"backlog replies_per_s={count / took if took else float('inf'):.1f}", flush=True)
    print(f"backlog every_reply_once_in_order={'yes' if intact else 'NO'}", flush=True)
    met = intact and took <= GOAL_S
    print(f"# goal: all replies once, in order, within {GOAL_S:.0f} s: "
          + ("met" if met else "missed"))
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
