"""Settings of the handoff service, read from the environment into one object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///state/handoff.db"
DEFAULT_RASA_URL = "http://localhost:5005"
DEFAULT_OUTPUT_CHANNEL = "socketio"
BOT_TOKEN_FILE_NAME = "handoff_bot_token"
# The ``limits`` storages the service can count in.
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")

# scheme://host[:port] and nothing else: what a CSP source or a CORS origin may be.
_ORIGIN_RE = re.compile(
    r"^https?://([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$", re.ASCII
)
_CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$", re.ASCII)
_FRAME_KEYWORDS = ("'self'", "'none'")


def default_widget_dir() -> Path:
    """The repository's reference chat widget: ``widget/`` beside the package's folder."""
    return Path(__file__).resolve().parent.parent / "widget"


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know about its surroundings.

    Tests build their own instances; the CLI uses :meth:`from_env`, which
    checks every value. Values given to the constructor are checked where
    they are used (an unusable one fails at start-up, not on a request).
    """

    database_url: str = DEFAULT_DATABASE_URL
    # The action server's token. ``None`` means no client can create tickets;
    # the CLI's ``serve`` generates one into ``state_dir`` instead.
    bot_token: str | None = None
    rasa_url: str = DEFAULT_RASA_URL
    # The Rasa URL browsers use (the widget's socket.io); ``rasa_url`` when unset.
    public_rasa_url: str | None = None
    rasa_auth_token: str | None = None
    # The channel whose output the bot's answers to triggered intents go to.
    rasa_output_channel: str = DEFAULT_OUTPUT_CHANNEL
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
    # Origins allowed to frame the widget (CSP frame-ancestors).
    widget_frame_ancestors: tuple[str, ...] = ("'self'",)
    # Origins whose pages may call the API from a browser (CORS); none: same origin only.
    cors_origins: tuple[str, ...] = ()
    # ``limits`` storage; ``None`` counts in this process's memory.
    rate_limit_storage_url: str | None = None
    tickets_per_hour: int = 5
    agent_calls_per_minute: int = 600
    anon_calls_per_minute: int = 60

    @property
    def bot_token_file(self) -> Path:
        """Where ``serve`` keeps a generated bot token when none is configured."""
        return self.state_dir / BOT_TOKEN_FILE_NAME

    @property
    def browser_rasa_url(self) -> str:
        """The Rasa URL the widget in a browser talks to."""
        return self.public_rasa_url or self.rasa_url

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (the process environment by default).

        Raises:
            ConfigError: a variable holds a value the service cannot use.
        """
        env = os.environ if environ is None else environ
        rasa_url = _http_url(env, "RASA_URL", DEFAULT_RASA_URL)
        public = _http_url(env, "PUBLIC_RASA_URL", "") or None
        return cls(
            database_url=env.get("HANDOFF_DATABASE_URL") or DEFAULT_DATABASE_URL,
            bot_token=env.get("HANDOFF_BOT_TOKEN") or None,
            rasa_url=rasa_url,
            public_rasa_url=public,
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            rasa_output_channel=output_channel(
                env.get("RASA_OUTPUT_CHANNEL") or DEFAULT_OUTPUT_CHANNEL
            ),
            host=env.get("HANDOFF_HOST") or "0.0.0.0",
            port=_int(env, "HANDOFF_PORT", 8000, low=1, high=65535),
            state_dir=Path(env.get("HANDOFF_STATE_DIR") or "state"),
            widget_dir=Path(env.get("HANDOFF_WIDGET_DIR") or default_widget_dir()),
            max_body_bytes=_int(env, "HANDOFF_MAX_BODY_BYTES", 64 * 1024, low=1024, high=2**24),
            default_page_size=_int(env, "HANDOFF_DEFAULT_PAGE_SIZE", 50, low=1, high=100),
            max_page_size=_int(env, "HANDOFF_MAX_PAGE_SIZE", 100, low=1, high=100),
            widget_frame_ancestors=frame_ancestors(env.get("WIDGET_FRAME_ANCESTORS") or "'self'"),
            cors_origins=cors_origins(env.get("HANDOFF_CORS_ORIGINS") or ""),
            rate_limit_storage_url=rate_limit_storage(env.get("RATE_LIMIT_STORAGE_URL") or None),
            tickets_per_hour=_int(env, "HANDOFF_TICKETS_PER_HOUR", 5, low=1, high=10**6),
            agent_calls_per_minute=_int(
                env, "HANDOFF_AGENT_CALLS_PER_MINUTE", 600, low=1, high=10**6
            ),
            anon_calls_per_minute=_int(env, "HANDOFF_ANON_CALLS_PER_MINUTE", 60, low=1, high=10**6),
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


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    url = (env.get(name) or default).rstrip("/")
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {url!r}")
    return url


def is_origin(text: str) -> bool:
    """Whether ``text`` is exactly ``http(s)://host[:port]`` (a CSP source, a CORS origin)."""
    return _ORIGIN_RE.match(text) is not None


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL (what CSP and CORS compare)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def output_channel(name: str) -> str:
    """A Rasa output channel name for ``trigger_intent``.

    Raises:
        ConfigError: ``latest`` (it would answer on whichever channel the user
            last wrote from, which the user chooses) or not a channel name.
    """
    if name == "latest" or not _CHANNEL_RE.match(name):
        raise ConfigError(f"RASA_OUTPUT_CHANNEL must name one channel (not 'latest'), got {name!r}")
    return name


def frame_ancestors(raw: str) -> tuple[str, ...]:
    """Space-separated origins (or ``'self'`` / ``'none'``) allowed to frame the widget.

    Raises:
        ConfigError: anything else, e.g. a ``;`` that would add a CSP directive.
    """
    sources = tuple(raw.split())
    for source in sources:
        if source not in _FRAME_KEYWORDS and not _ORIGIN_RE.match(source):
            raise ConfigError(
                f"WIDGET_FRAME_ANCESTORS takes 'self', 'none' or origins such as "
                f"https://app.example.com, got {source!r}"
            )
    if not sources:
        raise ConfigError("WIDGET_FRAME_ANCESTORS is empty")
    if "'none'" in sources and len(sources) > 1:
        raise ConfigError("WIDGET_FRAME_ANCESTORS: 'none' cannot be combined with other sources")
    return sources


def cors_origins(raw: str) -> tuple[str, ...]:
    """Comma-separated origins allowed to call the API from a browser.

    Raises:
        ConfigError: ``*`` or anything that is not ``scheme://host[:port]``.
    """
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if not _ORIGIN_RE.match(origin):
            raise ConfigError(
                f"HANDOFF_CORS_ORIGINS takes origins such as https://app.example.com "
                f"(never '*'), got {origin!r}"
            )
    return origins


def rate_limit_storage(url: str | None) -> str | None:
    """A ``limits`` storage URL (memory or Redis), or ``None`` for memory.

    Raises:
        ConfigError: a scheme the service does not support.
    """
    if url is None:
        return None
    scheme = urlsplit(url).scheme
    if scheme not in RATE_LIMIT_SCHEMES:
        raise ConfigError(
            f"RATE_LIMIT_STORAGE_URL must start with one of "
            f"{', '.join(s + '://' for s in RATE_LIMIT_SCHEMES)}"
        )
    return url
