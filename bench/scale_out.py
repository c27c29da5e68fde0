"""Chat throughput of the production topology with one and with two replicas of each process.

Run with ``python -m bench.scale_out``. For each replica count the topology
(:mod:`devtools.topology`: nginx, Rasa servers, action servers, handoff
services, PostgreSQL, Redis) is started on fresh databases, then
``--concurrency`` chats open websockets through nginx (which spreads them over
the Rasa replicas) and each sends ``--per-client`` messages one after the other,
waiting for the bot's answer each time. Printed: messages per second for each
count, their ratio, and whether every message got its answer.

On a 2-core machine the replicas share the same two cores, so the ratio shows
what a second replica costs or gains here, not what it gains on more cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.measure import load_average, machine
from devtools.chat_client import SocketChatUser
from devtools.processes import DEFAULT_MODEL
from devtools.production_stack import RunningTopology, running_topology

# A support chat as users have it: a greeting, a problem, its follow-up, thanks.
SCRIPT = ("你好", "我的USDT提币一直没到账", "没有解决", "谢谢", "my deposit hasn't arrived",
          "ok thanks")
QUOTAS = {
    "CHAT_MESSAGES_PER_CONVERSATION": "100000/minute",
    "CHAT_MESSAGES_PER_ADDRESS": "100000/minute",
    "CHAT_SESSIONS_PER_ADDRESS": "100000/hour",
}


def drive(topology: RunningTopology, concurrency: int, per_client: int) -> tuple[float, int, int]:
    """``concurrency`` websocket chats through nginx; (messages per second, sent, answered)."""
    users = [SocketChatUser(topology.public_url, transport="websocket").connect()
             for _ in range(concurrency)]
    answered = [0] * concurrency
    start = threading.Barrier(concurrency + 1)

    def chat(index: int) -> None:
        user = users[index]
        start.wait()
        for turn in range(per_client):
            mark = user.say(SCRIPT[turn % len(SCRIPT)], timeout=120)
            user.wait_for(lambda r: bool(r.text), mark, timeout=120)
            answered[index] += 1

    threads = [threading.Thread(target=chat, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    for user in users:
        user.close()
    done = sum(answered)
    return done / took, concurrency * per_client, done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_out", description=__doc__)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2, help="messages per chat, untimed")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"no trained model at {args.model}: run `make train`", file=sys.stderr)
        return 2
    print(f"# machine: {machine()}", flush=True)
    rates: dict[int, float] = {}
    intact = True
    for replicas in (1, 2):
        with tempfile.TemporaryDirectory(prefix="scale-out-") as folder, running_topology(
            Path(folder), replicas=replicas, model=args.model, env=QUOTAS
        ) as topology:
            print(f"# {replicas} replica(s) up; load average {load_average()}", flush=True)
            drive(topology, args.concurrency, args.warmup)
            rate, sent, answered = drive(topology, args.concurrency, args.per_client)
            intact = intact and sent == answered
            rates[replicas] = rate
            print(f"scale_out replicas={replicas} messages_per_s={rate:.1f} "
                  f"(concurrency={args.concurrency}, {answered}/{sent} answered)", flush=True)
    print(f"scale_out ratio_2_over_1={rates[2] / rates[1]:.2f}", flush=True)
    print(f"scale_out every_message_answered={'yes' if intact else 'NO'}", flush=True)
    return 0 if intact else 1


if __name__ == "__main__":
    sys.exit(main())
