"""The widget's screenshot routes on the socket.io channel.

``POST /webhooks/socketio/attachments`` takes the image as the request body
with the conversation's session (``Authorization: Bearer <session token>``,
``X-Session-Id``). The service screens it; the outcome then becomes a turn of
the conversation, so the bot answers in the chat as for a typed message:

- kept: the user's turn is the ``share_screenshot`` intent with the image's id,
  and the server-only metadata carries what was read from it (a hash in it
  can fill the ticket form);
- refused because it shows a secret: the user's turn is the secret's
  placeholder (as for a typed phrase), so the bot gives the same warning and
  the agent sees that an image was refused and why, never the image.

``GET …/attachments/<id>`` gives the conversation's own images back to the
widget (thumbnails in the chat, an agent's image); ``GET …/attachments/limits``
tells the widget what it may send.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from addons.channels.flood import ChatFloodGuard
from addons.channels.guard import ATTACHMENT_METADATA_KEY, SECRET_METADATA_KEY
from addons.channels.history import CLIENT_MESSAGE_ID
from addons.channels.images import ChatUploadLimits, ImageRefused, ImageRelay, ImagesUnavailable
from addons.channels.sessions import InvalidToken, Session, SessionIssuer
from support_core.rate_limits import client_address
from support_core.secret_guard import KEY_PLACEHOLDER, SEED_PLACEHOLDER, SEED_PLACEHOLDER_ZH

logger = logging.getLogger(__name__)

SHARE_SCREENSHOT_INTENT = "share_screenshot"
ATTACHMENT_ENTITY = "attachment_id"
_ATTACHMENT_ID = re.compile(r"^att_[A-Za-z0-9_-]{16,36}$")

MESSAGES = {
    "image_refused_seed_phrase": {
        "en": "This image shows a recovery phrase. We did not keep it. Never show your "
        "recovery phrase to anyone: real support never asks for it.",
        "zh": "这张图片里有助记词，我们没有保存。请不要把助记词给任何人看，真正的客服绝不会索要。",
    },
    "image_refused_private_key": {
        "en": "This image shows a private key. We did not keep it. Never show your "
        "private key to anyone: real support never asks for it.",
        "zh": "这张图片里有私钥，我们没有保存。请不要把私钥给任何人看，真正的客服绝不会索要。",
    },
    "unsupported_image": {
        "en": "Only PNG, JPEG or WebP screenshots can be sent.",
        "zh": "只能发送 PNG、JPEG 或 WebP 格式的截图。",
    },
    "image_too_large": {
        "en": "This image is too large. Please send a smaller screenshot.",
        "zh": "图片太大了，请发送小一点的截图。",
    },
    "too_many_images": {
        "en": "You have sent as many screenshots as one chat can take today.",
        "zh": "这个对话今天能发送的截图已经达到上限。",
    },
    "rate_limited": {
        "en": "You are sending too fast. Please wait a moment and try again.",
        "zh": "发送太频繁了，请稍等片刻再试。",
    },
    "unavailable": {
        "en": "We could not receive the image just now. Please try again in a moment.",
        "zh": "暂时无法接收图片，请稍后再试。",
    },
    "invalid_session": {
        "en": "This chat has expired. Please reload the page.",
        "zh": "对话已过期，请刷新页面。",
    },
}
_STATUS = {
    "unsupported_image": 415,
    "image_too_large": 413,
    "too_many_images": 409,
    "rate_limited": 429,
    "unavailable": 503,
    "invalid_session": 401,
}


def text_for(code: str, language: str) -> str:
    """The widget's message for ``code`` in ``language`` (English when unknown)."""
    texts = MESSAGES.get(code, MESSAGES["unavailable"])
    return texts.get(language, texts["en"])


def refused_turn_text(kinds: tuple[str, ...], language: str) -> str:
    """The user's turn for a refused image: the secret's placeholder, as for a typed one."""
    if "seed_phrase" in kinds or not kinds:
        placeholder = SEED_PLACEHOLDER_ZH if language == "zh" else SEED_PLACEHOLDER
    else:
        placeholder = KEY_PLACEHOLDER
    label = "[图片未保存]" if language == "zh" else "[image not kept]"
    return f"{label} {placeholder}"


def screenshot_payload(attachment_id: str) -> str:
    """The user's turn for a kept image: the intent with the image's id."""
    return f"/{SHARE_SCREENSHOT_INTENT}" + json.dumps({ATTACHMENT_ENTITY: attachment_id})


def _failure(code: str, language: str, **extra: Any) -> HTTPResponse:
    headers = {"Retry-After": str(extra["retry_after"])} if extra.get("retry_after") else None
    return response.json(
        {"ok": False, "error": code, "message": text_for(code, language), **extra},
        status=_STATUS.get(code, 422),
        headers=headers,
    )


def _text(attachment: dict[str, Any]) -> str:
    # What the service read from the image (secrets already redacted there).
    text = attachment.get("text")
    return text if isinstance(text, str) else ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def add_attachment_routes(
    webhook: Blueprint,
    *,
    channel_name: str,
    issuer: SessionIssuer,
    flood: ChatFloodGuard,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    output: Callable[[], OutputChannel],
    tracker_store: Callable[[], Any],
) -> None:
    """Add the upload, download and limits routes to the channel's ``webhook``."""
    relay = ImageRelay.from_env()
    limits = ChatUploadLimits.from_env()

    def session_of(request: Request) -> Session | None:
        try:
            return issuer.verify(_bearer(request), request.headers.get("x-session-id"))
        except InvalidToken:
            return None

    async def language_of(conversation_id: str) -> str:
        store = tracker_store()
        tracker = await store.retrieve(conversation_id) if store is not None else None
        language = tracker.get_slot("language") if tracker is not None else None
        return language if language in ("zh", "en") else "en"

    @webhook.route("/attachments/limits", methods=["GET"])
    async def attachment_limits(_: Request) -> HTTPResponse:
        return response.json(limits.as_json())

    @webhook.route("/attachments", methods=["POST"])
    async def upload(request: Request) -> HTTPResponse:
        session = session_of(request)
        if session is None:
            return _failure("invalid_session", "en")
        cid = session.conversation_id
        language = await language_of(cid)
        decision = flood.message(cid, client_address(request))
        if not decision.allowed:
            return _failure("rate_limited", language, retry_after=decision.retry_after)
        data = request.body or b""
        if len(data) > limits.max_bytes:
            return _failure("image_too_large", language)
        if not data:
            return _failure("unsupported_image", language)
        if relay is None:
            return _failure("unavailable", language)
        claimed = request.headers.get("x-message-id") or ""
        message_id = claimed if CLIENT_MESSAGE_ID.match(claimed) else uuid.uuid4().hex
        try:
            attachment = await relay.upload(cid, data, message_id)
        except ImagesUnavailable:
            return _failure("unavailable", language)
        except ImageRefused as refused:
            if refused.code != "image_refused":
                extra = {"retry_after": refused.retry_after} if refused.retry_after else {}
                code = refused.code if refused.code in _STATUS else "unsupported_image"
                return _failure(code, language, **extra)
            await on_new_message(
                UserMessage(
                    refused_turn_text(refused.kinds, language),
                    output(),
                    cid,
                    input_channel=channel_name,
                    message_id=message_id,
                    metadata={
                        SECRET_METADATA_KEY: list(refused.kinds) or ["seed_phrase"],
                        ATTACHMENT_METADATA_KEY: {"refused": list(refused.kinds)},
                    },
                )
            )
            kind = "private_key" if refused.kinds == ("private_key",) else "seed_phrase"
            return response.json(
                {
                    "ok": False,
                    "error": "image_refused",
                    "kinds": list(refused.kinds),
                    "message": text_for(f"image_refused_{kind}", language),
                },
                status=422,
            )
        attachment_id = attachment.get("id")
        if not isinstance(attachment_id, str) or not _ATTACHMENT_ID.match(attachment_id):
            return _failure("unavailable", language)
        kept = {
            "id": attachment_id,
            "mime": attachment.get("mime"),
            "width": attachment.get("width"),
            "height": attachment.get("height"),
        }
        await on_new_message(
            UserMessage(
                screenshot_payload(attachment_id),
                output(),
                cid,
                input_channel=channel_name,
                message_id=message_id,
                metadata={ATTACHMENT_METADATA_KEY: {**kept, "text": _text(attachment)}},
            )
        )
        url = f"/webhooks/{channel_name}/attachments/{attachment_id}"
        return response.json(
            {
                "ok": True,
                "message_id": message_id,
                "attachment": {**kept, "url": url, "thumbnail_url": url + "?size=thumb"},
            },
            status=201,
        )

    @webhook.route("/attachments/<attachment_id:str>", methods=["GET"])
    async def download(request: Request, attachment_id: str) -> HTTPResponse:
        session = session_of(request)
        if session is None:
            return _failure("invalid_session", "en")
        if not _ATTACHMENT_ID.match(attachment_id):
            return response.json({"ok": False, "error": "not_found"}, status=404)
        if relay is None:
            return _failure("unavailable", "en")
        try:
            found = await relay.fetch(
                session.conversation_id, attachment_id, request.args.get("size") == "thumb"
            )
        except ImagesUnavailable:
            return _failure("unavailable", "en")
        if found is None:
            return response.json({"ok": False, "error": "not_found"}, status=404)
        data, mime = found
        return response.raw(
            data,
            content_type=mime,
            headers={
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Content-Disposition": f'inline; filename="{attachment_id}"',
            },
        )
