"""Conversations bound to a secret: the session tokens the chat channels issue and check.

A browser proves which conversation is its own with a session token: an HS256
JWT signed with ``CHAT_SESSION_SECRET`` whose subject is the conversation id.
The server chooses the id; a client that knows an id but not its token gets a
new conversation of its own. A wallet app whose user is logged in may instead
pass its own signed JWT (the *user token*): its subject is the app's user id,
the conversation becomes ``u-`` + a digest of it (the same on every device),
and the session token carries the user id so that tickets record it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from support_core.identifiers import is_conversation_id

logger = logging.getLogger(__name__)

# What a wallet app's user id may look like once checked (it is stored on tickets).
_APP_USER_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
SESSION_TYPE = "chat_session"
SESSION_ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 30 * 24 * 3600
# Generous for a token that lives in the browser's storage, short enough to age out.
_MAX_TOKEN_CHARS = 4096
# How many earlier conversations a session remembers.
MAX_PREVIOUS = 3
_APP_ALGORITHMS_HMAC = ["HS256", "HS384", "HS512"]
_APP_ALGORITHMS_PUBLIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


class InvalidToken(ValueError):
    """A session or user token is missing, malformed, expired or signed by someone else."""


@dataclass(frozen=True)
class Session:
    """A verified conversation: its id, its token and, for app users, their id."""

    conversation_id: str
    token: str
    app_user_id: str | None = None
    # Earlier conversations of the same browser that still had an open ticket
    # when the user started this one (newest first): the bot can still tell
    # their status.
    previous: tuple[str, ...] = ()


def new_conversation_id() -> str:
    """A fresh random conversation id (128 bits, hex)."""
    return secrets.token_hex(16)


def app_conversation_id(app_user_id: str) -> str:
    """The conversation of a logged-in app user: the same on every device."""
    return "u-" + hashlib.sha256(app_user_id.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class AppTokenPolicy:
    """How the wallet app signs its users' tokens (``CHAT_APP_JWT_*``)."""

    key: str
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AppTokenPolicy | None:
        """A shared secret (``CHAT_APP_JWT_SECRET``) or a PEM public key, inline or as a
        file path (``CHAT_APP_JWT_PUBLIC_KEY``); ``None`` when neither is configured."""
        env = dict(os.environ if env is None else env)
        issuer = env.get("CHAT_APP_JWT_ISSUER") or None
        audience = env.get("CHAT_APP_JWT_AUDIENCE") or None
        public_key = env.get("CHAT_APP_JWT_PUBLIC_KEY") or ""
        if public_key and "-----BEGIN" not in public_key:
            public_key = Path(public_key).read_text()
        if public_key:
            return cls(public_key, tuple(_APP_ALGORITHMS_PUBLIC), issuer, audience)
        secret = env.get("CHAT_APP_JWT_SECRET") or ""
        if secret:
            return cls(secret, tuple(_APP_ALGORITHMS_HMAC), issuer, audience)
        return None


class SessionIssuer:
    """Issues and verifies session tokens; verifies the wallet app's user tokens."""

    def __init__(
        self, secret: str, *, ttl_seconds: int = DEFAULT_TTL_SECONDS,
        app_tokens: AppTokenPolicy | None = None,
    ) -> None:
        """``secret`` signs session tokens; every replica must share it."""
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 characters")
        self._secret = secret
        self._ttl = ttl_seconds
        self._app_tokens = app_tokens

    @classmethod
    def from_env(cls) -> SessionIssuer:
        """``CHAT_SESSION_SECRET`` (a random one, with a warning, when unset)."""
        secret = os.environ.get("CHAT_SESSION_SECRET") or ""
        if not secret:
            logger.warning(
                "CHAT_SESSION_SECRET is not set: chat sessions will not survive a restart "
                "and replicas will not accept each other's sessions"
            )
            secret = secrets.token_urlsafe(32)
        ttl = int(os.environ.get("CHAT_SESSION_TTL_SECONDS") or DEFAULT_TTL_SECONDS)
        return cls(secret, ttl_seconds=ttl, app_tokens=AppTokenPolicy.from_env())

    def issue(
        self,
        conversation_id: str,
        app_user_id: str | None = None,
        previous: tuple[str, ...] = (),
    ) -> Session:
        """A session token for ``conversation_id`` (only the server calls this).

        ``previous`` links earlier conversations (at most ``MAX_PREVIOUS``); the
        token carries the link, so it survives reconnects and replicas.
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": conversation_id, "typ": SESSION_TYPE, "iat": now, "exp": now + self._ttl,
        }
        if app_user_id:
            claims["uid"] = app_user_id
        linked = tuple(c for c in previous if c != conversation_id)[:MAX_PREVIOUS]
        if linked:
            claims["prev"] = list(linked)
        token = jwt.encode(claims, self._secret, algorithm=SESSION_ALGORITHM)
        return Session(conversation_id, token, app_user_id, linked)

    def new_session(self, previous: Session | None = None) -> Session:
        """A new anonymous conversation, linked to ``previous`` (a verified one) if given."""
        linked = (previous.conversation_id, *previous.previous) if previous is not None else ()
        return self.issue(new_conversation_id(), previous=linked)

    def verify(self, token: object, conversation_id: object = None) -> Session:
        """The session ``token`` proves; it must name ``conversation_id`` when one is given.

        Raises:
            InvalidToken: anything else.
        """
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
            raise InvalidToken("no session token")
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[SESSION_ALGORITHM],
                options={"require": ["sub", "exp", "typ"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"session token refused: {type(error).__name__}") from None
        subject = claims.get("sub")
        if claims.get("typ") != SESSION_TYPE or not is_conversation_id(subject):
            raise InvalidToken("not a chat session token")
        if conversation_id is not None and conversation_id != subject:
            raise InvalidToken("the session token belongs to another conversation")
        uid = claims.get("uid")
        raw_previous = claims.get("prev")
        previous = tuple(
            c for c in (raw_previous if isinstance(raw_previous, list) else [])
            if is_conversation_id(c)
        )[:MAX_PREVIOUS]
        return Session(subject, token, uid if isinstance(uid, str) else None, previous)

    def session_for_app_user(self, user_token: object) -> Session:
        """The conversation of the wallet app's logged-in user named by ``user_token``.

        Raises:
            InvalidToken: no app key is configured, or the token does not verify.
        """
        policy = self._app_tokens
        if policy is None:
            raise InvalidToken("this server does not accept app user tokens")
        if not isinstance(user_token, str) or not user_token or len(user_token) > _MAX_TOKEN_CHARS:
            raise InvalidToken("no user token")
        try:
            claims = jwt.decode(
                user_token, policy.key, algorithms=list(policy.algorithms),
                issuer=policy.issuer, audience=policy.audience,
                options={
                    "require": ["sub", "exp"],
                    "verify_aud": policy.audience is not None,
                },
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(f"user token refused: {type(error).__name__}") from None
        user_id = claims.get("sub")
        if not isinstance(user_id, str) or not _APP_USER_ID.match(user_id):
            raise InvalidToken("the user token's subject is not a usable user id")
        return self.issue(app_conversation_id(user_id), user_id)
