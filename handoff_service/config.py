"""Settings of the handoff service, read from the environment into one object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "sqlite:///state/handoff.db"
DEFAULT_RASA_URL = "http://localhost:5005"
DEFAULT_OUTPUT_CHANNEL = "socketio"
BOT_TOKEN_FILE_NAME = "handoff_bot_token"
# More server processes than this on one machine only adds database connections.
MAX_WORKERS = 64
# The ``limits`` storages the service can count in.
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")

# scheme://host[:port] and nothing else: what a CSP source or a CORS origin may be.
_ORIGIN_RE = re.compile(
    r"^https?://([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$", re.ASCII
)
_CHANNEL_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$", re.ASCII)
_FRAME_KEYWORDS = ("'self'", "'none'")

# E-mail to users (handoff_service/mail, docs/email.md).
SMTP_SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_SMTP_PORT = 587
# Implicit TLS has its own well-known port; STARTTLS and plain SMTP use 587.
DEFAULT_SMTPS_PORT = 465
DEFAULT_MAIL_FROM = "support@localhost"
DEFAULT_EMAIL_REPLY_DELAY_S = 600
MAIL_DIR_NAME = "mail"
_SMTP_ONLY_VARIABLES = ("SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SECURITY")
# A host name, IPv4 or bare IPv6 address: no scheme, no port, no spaces.
_SMTP_HOST_RE = re.compile(r"^[A-Za-z0-9._:-]{1,253}$", re.ASCII)
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")

# First-reply targets (minutes) per priority. Configuration, not a promise made
# in code: HANDOFF_SLA_FIRST_REPLY_MINUTES overrides any of them.
SLA_PRIORITIES = ("urgent", "high", "normal")
DEFAULT_SLA_FIRST_REPLY_MINUTES = {"urgent": 5, "high": 15, "normal": 60}
SLA_MAX_MINUTES = 7 * 24 * 60


def default_widget_dir() -> Path:
    """The repository's reference chat widget: ``widget/`` beside the package's folder."""
    return Path(__file__).resolve().parent.parent / "widget"


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class MailSettings:
    """How e-mails reach users: an SMTP server, or ``.eml`` files in a folder.

    With no ``smtp_host`` nothing is sent: each e-mail is written to the
    outbox folder instead, so a laptop needs no mail server.
    """

    smtp_host: str | None = None
    smtp_port: int = DEFAULT_SMTP_PORT
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_security: str = "starttls"
    # "Name <address>" or a bare address; checked by :func:`parse_mail_from`.
    mail_from: str = DEFAULT_MAIL_FROM
    # ``None``: ``<state_dir>/mail``.
    outbox_dir: Path | None = None
    # How long an agent reply may stay unseen in the widget before it is e-mailed.
    reply_delay_s: float = DEFAULT_EMAIL_REPLY_DELAY_S
    # The link back to the chat in e-mails; ``None``: the widget this service serves.
    chat_url: str | None = None


@dataclass(frozen=True)
class SlaTargets:
    """How soon each priority's ticket should get its first agent reply, in minutes."""

    urgent: int = DEFAULT_SLA_FIRST_REPLY_MINUTES["urgent"]
    high: int = DEFAULT_SLA_FIRST_REPLY_MINUTES["high"]
    normal: int = DEFAULT_SLA_FIRST_REPLY_MINUTES["normal"]

    def minutes(self, priority: str) -> int:
        """The target of ``priority`` (a priority's value); an unknown one gets ``normal``'s."""
        return int(getattr(self, priority)) if priority in SLA_PRIORITIES else self.normal

    def as_seconds(self) -> dict[str, int]:
        """``{priority: seconds}`` for every priority, as the console reads them."""
        return {priority: self.minutes(priority) * 60 for priority in SLA_PRIORITIES}


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
    # Server processes ``serve`` forks; more than one needs PostgreSQL.
    workers: int = 1
    state_dir: Path = Path("state")
    max_body_bytes: int = 64 * 1024
    default_page_size: int = 50
    max_page_size: int = 100
    max_messages_page: int = 500
    # Generous: a notification that times out was usually handled anyway, and is
    # then tried again (the bot shows it once); each waits in its own thread.
    notify_timeout_s: float = 10.0
    # How often a dispatcher looks for notifications other processes queued,
    # and the longest pause between two tries while Rasa is unreachable.
    notify_poll_s: float = 1.0
    notify_max_backoff_s: float = 5.0
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
    # First-reply target per priority: the console's SLA display and ``sla_due_at``.
    sla: SlaTargets = field(default_factory=SlaTargets)
    mail: MailSettings = field(default_factory=MailSettings)
    # Screenshots: where accepted bytes live (``files`` under ``state_dir``, or
    # ``database`` for several replicas), how big one may be, how many one
    # conversation may send a day, and how long they are kept.
    attachment_store: str = "files"
    attachment_max_bytes: int = 5 * 1024 * 1024
    attachments_per_day: int = 20
    attachment_retention_days: int = 90

    @property
    def bot_token_file(self) -> Path:
        """Where ``serve`` keeps a generated bot token when none is configured."""
        return self.state_dir / BOT_TOKEN_FILE_NAME

    @property
    def browser_rasa_url(self) -> str:
        """The Rasa URL the widget in a browser talks to."""
        return self.public_rasa_url or self.rasa_url

    @property
    def mail_outbox_dir(self) -> Path:
        """Where e-mails are written as files when no SMTP server is configured."""
        return self.mail.outbox_dir or self.state_dir / MAIL_DIR_NAME

    @property
    def chat_public_url(self) -> str:
        """The chat link e-mails give users: the configured one, else this service's widget."""
        return self.mail.chat_url or default_chat_url(self.host, self.port)

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
            workers=_int(env, "HANDOFF_WORKERS", 1, low=1, high=MAX_WORKERS),
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
            notify_poll_s=_int(env, "HANDOFF_NOTIFY_POLL_MS", 1000, low=50, high=60_000) / 1000,
            notify_max_backoff_s=float(
                _int(env, "HANDOFF_NOTIFY_MAX_BACKOFF_S", 5, low=1, high=3600)
            ),
            sla=sla_targets(env.get("HANDOFF_SLA_FIRST_REPLY_MINUTES") or ""),
            mail=mail_settings(env),
            attachment_store=attachment_store(env.get("HANDOFF_ATTACHMENT_STORE") or "files"),
            attachment_max_bytes=_int(
                env, "ATTACHMENT_MAX_BYTES", 5 * 1024 * 1024, low=1024, high=50 * 1024 * 1024
            ),
            attachments_per_day=_int(env, "ATTACHMENT_MAX_PER_CONVERSATION", 20, low=1, high=1000),
            attachment_retention_days=_int(
                env, "HANDOFF_ATTACHMENT_RETENTION_DAYS", 90, low=1, high=3650
            ),
        )


ATTACHMENT_STORES = ("files", "database")


def attachment_store(raw: str) -> str:
    """``HANDOFF_ATTACHMENT_STORE``: ``files`` or ``database``.

    Raises:
        ConfigError: any other value.
    """
    value = raw.strip().lower()
    if value not in ATTACHMENT_STORES:
        raise ConfigError(
            f"HANDOFF_ATTACHMENT_STORE must be one of {', '.join(ATTACHMENT_STORES)}, not {raw!r}"
        )
    return value


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


def sla_targets(raw: str) -> SlaTargets:
    """First-reply targets from ``urgent=5,high=15,normal=60`` (minutes; any subset).

    A priority left out keeps its default.

    Raises:
        ConfigError: an unknown priority, a repeated one, or minutes outside 1 to one week.
    """
    name = "HANDOFF_SLA_FIRST_REPLY_MINUTES"
    targets = dict(DEFAULT_SLA_FIRST_REPLY_MINUTES)
    given: set[str] = set()
    for part in (piece.strip() for piece in raw.split(",")):
        if not part:
            continue
        priority, sep, minutes = (item.strip() for item in part.partition("="))
        if not sep or priority not in SLA_PRIORITIES:
            raise ConfigError(
                f"{name} takes priority=minutes pairs such as urgent=5,high=15,normal=60 "
                f"(priorities: {', '.join(SLA_PRIORITIES)}), got {part!r}"
            )
        if priority in given:
            raise ConfigError(f"{name} gives {priority} twice")
        if not minutes.isascii() or not minutes.isdigit():
            raise ConfigError(f"{name}: {priority} must be whole minutes, got {minutes!r}")
        value = int(minutes)
        if not 1 <= value <= SLA_MAX_MINUTES:
            raise ConfigError(
                f"{name}: {priority} must be between 1 and {SLA_MAX_MINUTES} minutes, got {value}"
            )
        given.add(priority)
        targets[priority] = value
    return SlaTargets(**targets)


def mail_settings(env: Mapping[str, str]) -> MailSettings:
    """The e-mail settings of ``env`` (``SMTP_*``, ``MAIL_*``, ``EMAIL_*``, ``CHAT_PUBLIC_URL``).

    Raises:
        ConfigError: a value is unusable, an SMTP setting is given without
            ``SMTP_HOST``, or credentials would travel unencrypted.
    """
    host = env.get("SMTP_HOST") or None
    if host is None:
        stray = [name for name in _SMTP_ONLY_VARIABLES if env.get(name)]
        if stray:
            # Otherwise mail would quietly go to files while the operator expects SMTP.
            raise ConfigError(f"{', '.join(stray)} set but SMTP_HOST is not")
    elif not _SMTP_HOST_RE.match(host) or host.count(":") == 1:
        raise ConfigError(
            "SMTP_HOST must be a host name or IP address such as smtp.example.com "
            f"(no scheme; the port goes in SMTP_PORT), got {host!r}"
        )
    security = env.get("SMTP_SECURITY") or "starttls"
    if security not in SMTP_SECURITY_MODES:
        raise ConfigError(
            f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_MODES)}, got {security!r}"
        )
    username = env.get("SMTP_USERNAME") or None
    password = env.get("SMTP_PASSWORD") or None
    if (username is None) != (password is None):
        raise ConfigError("SMTP_USERNAME and SMTP_PASSWORD must be set together")
    if username is not None and security == "none":
        raise ConfigError(
            "SMTP_USERNAME with SMTP_SECURITY=none would send the password unencrypted; "
            "use starttls or tls"
        )
    default_port = DEFAULT_SMTPS_PORT if security == "tls" else DEFAULT_SMTP_PORT
    mail_from = env.get("MAIL_FROM") or DEFAULT_MAIL_FROM
    parse_mail_from(mail_from)
    outbox = env.get("MAIL_OUTBOX_DIR")
    chat = env.get("CHAT_PUBLIC_URL") or None
    return MailSettings(
        smtp_host=host,
        smtp_port=_int(env, "SMTP_PORT", default_port, low=1, high=65535),
        smtp_username=username,
        smtp_password=password,
        smtp_security=security,
        mail_from=mail_from,
        outbox_dir=Path(outbox) if outbox else None,
        reply_delay_s=float(
            _int(env, "EMAIL_REPLY_DELAY_S", DEFAULT_EMAIL_REPLY_DELAY_S, low=10, high=7 * 86400)
        ),
        chat_url=chat_link(chat) if chat is not None else None,
    )


def parse_mail_from(raw: str) -> Address:
    """The sender of e-mails: ``support@example.com`` or ``Wallet Support <support@example.com>``.

    Raises:
        ConfigError: not exactly one address, or a line break (which would add a header).
    """
    refused = ConfigError(
        f"MAIL_FROM must be an address such as support@example.com or "
        f"'Wallet Support <support@example.com>', got {raw!r}"
    )
    if not raw.isprintable():
        raise refused
    found = getaddresses([raw])
    if len(found) != 1 or "@" not in found[0][1]:
        raise refused
    name, addr = found[0]
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, HeaderParseError):
        raise refused from None


def chat_link(url: str) -> str:
    """An http(s) URL for e-mails to link to (kept exactly as given).

    Raises:
        ConfigError: another scheme, no host, or spaces and control characters.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not url.isprintable():
        raise ConfigError(f"CHAT_PUBLIC_URL must be an http:// or https:// URL, got {url!r}")
    if " " in url:
        raise ConfigError("CHAT_PUBLIC_URL must not contain spaces")
    return url


def default_chat_url(host: str, port: int) -> str:
    """The widget this service serves, as a user on this machine reaches it."""
    if host in _WILDCARD_HOSTS:
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/widget/"
