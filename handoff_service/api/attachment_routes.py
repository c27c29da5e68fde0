"""Screenshot routes: the bot uploads and fetches a chat's images, agents view and send them.

The request body of an upload is the image itself (any ``Content-Type``: the
bytes decide what it is). Images go back with their own content type, shown
inline, never sniffed, and with a policy that lets the browser run nothing.
"""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw

from handoff_service.api.auth import require_agent, require_bot
from handoff_service.api.context import service, unit_of_work
from handoff_service.api.responses import reply
from handoff_service.api.serializers import attachment_json
from handoff_service.errors import ImageRejected, TicketNotFound
from handoff_service.models import Attachment, ticket_ref

SUPPORTED_TYPES = ("image/png", "image/jpeg", "image/webp")
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def _image_bytes(request: Request) -> bytes:
    data = request.body or b""
    if not data:
        raise ImageRejected("unsupported_image", "the request body is empty; send the image")
    return data


def _thumbnail_wanted(request: Request) -> bool:
    return request.args.get("size") == "thumb"


def _image_response(request: Request, attachment: Attachment, filename_prefix: str) -> HTTPResponse:
    thumbnail = _thumbnail_wanted(request)
    data = request.app.ctx.attachment_store.get(request.ctx.session, attachment.id, thumbnail)
    if data is None:
        raise TicketNotFound("the image is no longer kept")
    mime = attachment.thumbnail_mime if thumbnail else attachment.mime
    extension = _EXTENSIONS.get(mime, "img")
    suffix = "-thumb" if thumbnail else ""
    return raw(
        data,
        content_type=mime,
        headers={
            "Content-Disposition": (
                f'inline; filename="{filename_prefix}{attachment.id}{suffix}.{extension}"'
            ),
            # Never kept on disk by a browser or a proxy, and never run as anything.
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def chat_attachment_json(attachment: Attachment) -> dict[str, object]:
    """An image as the chat channel needs it: no agents' URLs."""
    return {
        "id": attachment.id,
        "mime": attachment.mime,
        "width": attachment.width,
        "height": attachment.height,
        "text": attachment.text,
    }


def add_attachment_routes(bp: Blueprint) -> None:
    """Add the screenshot routes of the bot and of agents to ``bp``."""

    @bp.post("/conversations/<conversation_id:str>/attachments")
    @unit_of_work
    def upload_user_image(request: Request, conversation_id: str) -> HTTPResponse:
        require_bot(request)
        settings = request.app.ctx.settings
        attachment, created = service(request).upload_user_image(
            conversation_id,
            _image_bytes(request),
            request.headers.get("x-message-id"),
            screen=request.app.ctx.screener.screen,
            store=request.app.ctx.attachment_store,
            per_day=settings.attachments_per_day,
        )
        return reply({"attachment": chat_attachment_json(attachment)}, 201 if created else 200)

    @bp.get("/conversations/<conversation_id:str>/attachments/<attachment_id:str>")
    @unit_of_work
    def chat_image(request: Request, conversation_id: str, attachment_id: str) -> HTTPResponse:
        require_bot(request)
        attachment = service(request).conversation_attachment(conversation_id, attachment_id)
        return _image_response(request, attachment, "")

    @bp.get("/attachments/limits")
    @unit_of_work
    def limits(request: Request) -> HTTPResponse:
        require_agent(request)
        return reply(
            {
                "max_bytes": request.app.ctx.settings.attachment_max_bytes,
                "types": list(SUPPORTED_TYPES),
            }
        )

    @bp.get("/attachments/<attachment_id:str>")
    @unit_of_work
    def agent_image(request: Request, attachment_id: str) -> HTTPResponse:
        require_agent(request)
        attachment = service(request).agent_attachment(attachment_id)
        return _image_response(request, attachment, f"{ticket_ref(attachment.ticket_id)}-")

    @bp.post("/tickets/<ref:str>/attachments")
    @unit_of_work
    def upload_agent_image(request: Request, ref: str) -> HTTPResponse:
        agent = require_agent(request)
        attachment = service(request).upload_agent_image(
            ref,
            agent,
            _image_bytes(request),
            screen=request.app.ctx.screener.screen,
            store=request.app.ctx.attachment_store,
        )
        return reply({"attachment": attachment_json(attachment)}, 201)
