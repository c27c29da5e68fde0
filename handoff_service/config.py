"""Settings of the handoff service, read from the environment into one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///state/handoff.db"
DEFAULT_RASA_URL = "http://localhost:5005"
BOT_TOKEN_FILE_NAME = "handoff_bot_token"


def default_widget_dir() -> Path:
    """The repository's reference chat widget: ``widget/`` beside the package's folder."""
    return Path(__file__).resolve().parent.parent / "widget"


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know about its surroundings.

    Tests build their own instances; the CLI uses :meth:`from_env`.
    """

    database_url: str = DEFAULT_DATABASE_URL
    # The action server's token. ``None`` means no client can create tickets;
    # the CLI's ``serve`` generates one into ``state_dir`` instead.
    bot_token: str | None = None
    rasa_url: str = DEFAULT_RASA_URL
    # The Rasa URL browsers use (the widget's socket.io); ``rasa_url`` when unset.
    public_rasa_url: str | None = None
    rasa_auth_token: str | None = None
    host: str = "0.0.0.0"
    port: int = 8000
    state_dir: Path = Path("state")
    max_body_bytes: int = 64 * 1024
    default_page_size: int = 50
    max_page_size: int = 100
    max_messages_page: int = 500
    notify_timeout_s: float = 3.0
    # Served at /widget/ (with a generated config.js pointing at Rasa).
    widget_dir: Path = field(default_factory=default_widget_dir)

    @property
    def bot_token_file(self) -> Path:
        """Where ``serve`` keeps a generated bot token when none is configured."""
        return self.state_dir / BOT_TOKEN_FILE_NAME

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (the process environment by default).

        Raises:
            ConfigError: a numeric variable is not a number, or out of range.
        """
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("HANDOFF_DATABASE_URL") or DEFAULT_DATABASE_URL,
            bot_token=env.get("HANDOFF_BOT_TOKEN") or None,
            rasa_url=(env.get("RASA_URL") or DEFAULT_RASA_URL).rstrip("/"),
            public_rasa_url=(env.get("PUBLIC_RASA_URL") or "").rstrip("/") or None,
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            host=env.get("HANDOFF_HOST") or "0.0.0.0",
            port=_int(env, "HANDOFF_PORT", 8000, low=1, high=65535),
            state_dir=Path(env.get("HANDOFF_STATE_DIR") or "state"),
            widget_dir=Path(env.get("HANDOFF_WIDGET_DIR") or default_widget_dir()),
            max_body_bytes=_int(env, "HANDOFF_MAX_BODY_BYTES", 64 * 1024, low=1024, high=2**24),
            default_page_size=_int(env, "HANDOFF_DEFAULT_PAGE_SIZE", 50, low=1, high=100),
            max_page_size=_int(env, "HANDOFF_MAX_PAGE_SIZE", 100, low=1, high=100),
        )


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value
