"""The time window a command looks at, in UTC, given as dates or date-times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from support_bot.common.errors import UsageError


@dataclass(frozen=True)
class Window:
    """``start`` inclusive, ``end`` exclusive, both aware UTC datetimes."""

    start: datetime
    end: datetime

    @property
    def start_ts(self) -> float:
        """``start`` as a Unix timestamp (Rasa stores event times that way)."""
        return self.start.timestamp()

    @property
    def end_ts(self) -> float:
        """``end`` as a Unix timestamp."""
        return self.end.timestamp()

    def contains(self, moment: datetime) -> bool:
        """Whether the aware datetime ``moment`` falls inside the window."""
        return self.start <= moment < self.end

    def describe(self) -> str:
        """The window as a maintainer reads it."""
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC (end excluded)"


def _parse(value: str, option: str) -> tuple[datetime, bool]:
    """The moment ``value`` names and whether it was a bare date."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return datetime.combine(day, time.min, tzinfo=timezone.utc), True
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} must be a date (2026-11-01) or a date-time (2026-11-01T08:00), got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc), False


def make_window(since: str, until: str | None, now: datetime | None = None) -> Window:
    """The window from ``since`` to ``until``.

    A bare ``until`` date is included whole (``--until 2026-11-30`` ends at
    2026-12-01 00:00 UTC); without ``until`` the window ends now.

    Raises:
        UsageError: a value is not a date, or the window is empty.
    """
    start, _ = _parse(since, "--since")
    if until is None:
        end = now or datetime.now(timezone.utc)
    else:
        end, bare = _parse(until, "--until")
        if bare:
            end += timedelta(days=1)
    if end <= start:
        raise UsageError(f"the window is empty: {start:%Y-%m-%d %H:%M} is not before {end}")
    return Window(start, end)
