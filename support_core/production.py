"""The production profile: which processes refuse to start, and the rules they share.

``PROFILE=production`` asks every server to check, before it does any work,
that nothing in its configuration would quietly split data between replicas
(a local SQLite file, counters in one process's memory, a generated secret
each replica makes up for itself). Any other value, or none, is the
development profile: no checks, the laptop defaults of today.

Each process has its own rules (:mod:`handoff_service.production_checks`,
:mod:`addons.production_checks`, :mod:`actions.production_checks`); they are
pure functions of the environment (and, for Rasa, the endpoints file) that
return :class:`Problem` lists, so the rules are tested without starting anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

PROFILE_ENV = "PROFILE"
PRODUCTION = "production"
RATE_LIMIT_STORAGE_ENV = "RATE_LIMIT_STORAGE_URL"
SESSION_SECRET_ENV = "CHAT_SESSION_SECRET"
BOT_TOKEN_ENV = "HANDOFF_BOT_TOKEN"
HANDOFF_URL_ENV = "HANDOFF_URL"
# The exit status of a server that refused its configuration (argparse's usage error).
EXIT_REFUSED = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a production configuration.

    ``variable`` names the setting to change (an environment variable, or an
    entry of the endpoints file); ``message`` is the sentence an operator reads,
    and names that setting too.
    """

    variable: str
    message: str

    def __str__(self) -> str:
        """The message, as printed after ``error:`` or ``warning:``."""
        return self.message


def is_production(env: Mapping[str, str]) -> bool:
    """Whether ``env`` selects the production profile (``PROFILE=production``)."""
    return (env.get(PROFILE_ENV) or "").strip().lower() == PRODUCTION


def unset(env: Mapping[str, str], name: str) -> bool:
    """Whether ``name`` is missing or blank in ``env``."""
    return not (env.get(name) or "").strip()


def rate_limit_storage_problem(env: Mapping[str, str]) -> Problem | None:
    """Counting in memory: each replica would allow the full rate, N replicas N times it."""
    url = (env.get(RATE_LIMIT_STORAGE_ENV) or "").strip()
    if url and urlsplit(url).scheme != "memory":
        return None
    shown = "unset (memory)" if not url else url
    return Problem(
        RATE_LIMIT_STORAGE_ENV,
        f"{RATE_LIMIT_STORAGE_ENV} is {shown}: every replica would count its own limits; "
        "set it to a shared Redis, e.g. redis://redis:6379/2",
    )


def required(env: Mapping[str, str], name: str, why: str) -> Problem | None:
    """A problem when ``name`` is unset; ``why`` says what goes wrong without it."""
    if unset(env, name):
        return Problem(name, f"{name} is not set: {why}")
    return None


def collect(*found: Problem | None) -> list[Problem]:
    """The problems among ``found``, in order (``None`` means that rule passed)."""
    return [problem for problem in found if problem is not None]


def report(
    problems: Iterable[Problem], warnings: Iterable[Problem], stream: TextIO
) -> None:
    """One ``warning: ...`` line per warning, then one ``error: ...`` line per problem."""
    for warning in warnings:
        print(f"warning: {warning}", file=stream)
    for problem in problems:
        print(f"error: {problem}", file=stream)
    stream.flush()
