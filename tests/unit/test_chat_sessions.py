"""Session tokens: a conversation is reachable only with the token the server issued."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from addons.channels.sessions import (
    AppTokenPolicy,
    InvalidToken,
    SessionIssuer,
    app_conversation_id,
)
from support_core.identifiers import is_conversation_id

SECRET = "s" * 32
APP_SECRET = "app-secret-" + "0123456789" * 3


def test_a_new_session_verifies_for_its_own_conversation_only() -> None:
    issuer = SessionIssuer(SECRET)
    session = issuer.new_session()
    assert is_conversation_id(session.conversation_id)
    assert issuer.verify(session.token, session.conversation_id) == session
    other = issuer.new_session()
    with pytest.raises(InvalidToken):
        issuer.verify(session.token, other.conversation_id)


@pytest.mark.parametrize(
    "token", [None, "", 42, "not.a.jwt", "x" * 5000, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."]
)
def test_garbage_tokens_are_refused(token: object) -> None:
    with pytest.raises(InvalidToken):
        SessionIssuer(SECRET).verify(token)


def test_a_token_signed_with_another_secret_or_algorithm_is_refused() -> None:
    forged = SessionIssuer("t" * 32).new_session()
    with pytest.raises(InvalidToken):
        SessionIssuer(SECRET).verify(forged.token)
    unsigned = jwt.encode({"sub": "abc", "typ": "chat_session", "exp": time.time() + 60},
                          key=None, algorithm="none")
    with pytest.raises(InvalidToken):
        SessionIssuer(SECRET).verify(unsigned)


def test_expired_tokens_and_unsafe_subjects_are_refused() -> None:
    expired = jwt.encode({"sub": "abc", "typ": "chat_session", "exp": 1}, SECRET, "HS256")
    with pytest.raises(InvalidToken):
        SessionIssuer(SECRET).verify(expired)
    unsafe = jwt.encode(
        {"sub": "x/../../tickets/T-000001?", "typ": "chat_session", "exp": time.time() + 60},
        SECRET, "HS256",
    )
    with pytest.raises(InvalidToken):
        SessionIssuer(SECRET).verify(unsafe)


@pytest.mark.parametrize(
    "value", ["", "a" * 65, "x/../y", "a b", "é", "a?b", "a%2Fb", "\x00", None, 5]
)
def test_unsafe_conversation_ids(value: object) -> None:
    assert not is_conversation_id(value)


def test_an_app_user_token_signed_with_the_shared_secret() -> None:
    policy = AppTokenPolicy(APP_SECRET, ("HS256",), issuer="wallet-app")
    issuer = SessionIssuer(SECRET, app_tokens=policy)
    user_token = jwt.encode(
        {"sub": "user-42", "iss": "wallet-app", "exp": time.time() + 300},
        APP_SECRET, "HS256",
    )
    session = issuer.session_for_app_user(user_token)
    assert session.conversation_id == app_conversation_id("user-42")
    assert session.app_user_id == "user-42"
    # The session token carries the user id, so later messages still know it.
    assert issuer.verify(session.token).app_user_id == "user-42"
    wrong_issuer = jwt.encode(
        {"sub": "user-42", "iss": "someone", "exp": time.time() + 300},
        APP_SECRET, "HS256",
    )
    with pytest.raises(InvalidToken):
        issuer.session_for_app_user(wrong_issuer)
    no_expiry = jwt.encode({"sub": "user-42", "iss": "wallet-app"}, APP_SECRET)
    with pytest.raises(InvalidToken):
        issuer.session_for_app_user(no_expiry)


def test_an_app_user_token_signed_with_a_private_key() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    policy = AppTokenPolicy.from_env({"CHAT_APP_JWT_PUBLIC_KEY": public_pem})
    assert policy is not None
    issuer = SessionIssuer(SECRET, app_tokens=policy)
    token = jwt.encode({"sub": "u-7", "exp": time.time() + 60}, private, "ES256")
    assert issuer.session_for_app_user(token).app_user_id == "u-7"
    # An HMAC token "signed" with the public key as secret must not pass.
    confused = jwt.encode({"sub": "u-7", "exp": time.time() + 60}, "x" * 32, "HS256")
    with pytest.raises(InvalidToken):
        issuer.session_for_app_user(confused)


def test_no_app_tokens_unless_configured() -> None:
    assert AppTokenPolicy.from_env({}) is None
    with pytest.raises(InvalidToken):
        SessionIssuer(SECRET).session_for_app_user("anything")
