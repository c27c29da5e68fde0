"""Domain and framework exceptions become JSON errors here, and nowhere else.

=====================  ====  ==========================================
exception              HTTP  ``error`` code
=====================  ====  ==========================================
ValidationFailed       422   ``validation_failed`` (with ``field``)
Unauthorized           401   ``unauthorized`` (``WWW-Authenticate``)
RateLimited            429   ``rate_limited`` (``Retry-After``)
Forbidden              403   ``forbidden``
TicketNotFound         404   ``not_found``, or its own code (``no_open_ticket``)
TicketConflict         409   the conflict's own code
RecordNotFound         404   ``not_found``
Conflict               409   the conflict's own code
NothingToUpdate        400   ``nothing_to_update``
BadJson                400   ``bad_json``
ImageRejected          422   ``image_refused`` (with ``kinds``); 415
                             ``unsupported_image``; 413 ``image_too_large``;
                             503 ``screening_failed``
PayloadTooLarge        413   ``body_too_large``
OperationalError       503   ``database_unavailable``
=====================  ====  ==========================================
"""

from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic.exceptions import PayloadTooLarge, SanicException
from sanic.response import HTTPResponse
from sqlalchemy.exc import OperationalError

from handoff_service.api.body import BadJson
from handoff_service.api.responses import error
from handoff_service.errors import (
    Conflict,
    Forbidden,
    ImageRejected,
    NothingToUpdate,
    RateLimited,
    RecordNotFound,
    TicketConflict,
    TicketNotFound,
    Unauthorized,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

_IMAGE_STATUS = {
    "image_refused": 422,
    "unsupported_image": 415,
    "image_too_large": 413,
    "screening_failed": 503,
}


def register_error_handlers(app: Sanic) -> None:
    """Map domain and framework exceptions to JSON error responses."""

    @app.exception(ValidationFailed)
    async def validation_failed(_request: Request, exc: ValidationFailed) -> HTTPResponse:
        return error(422, "validation_failed", exc.detail, exc.field)

    @app.exception(Unauthorized)
    async def unauthorized(_request: Request, exc: Unauthorized) -> HTTPResponse:
        return error(401, "unauthorized", exc.detail, headers={"WWW-Authenticate": "Bearer"})

    @app.exception(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> HTTPResponse:
        return error(
            429,
            "rate_limited",
            exc.detail,
            headers={"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )

    @app.exception(Forbidden)
    async def forbidden(_request: Request, exc: Forbidden) -> HTTPResponse:
        return error(403, "forbidden", exc.detail)

    @app.exception(TicketNotFound)
    async def not_found(_request: Request, exc: TicketNotFound) -> HTTPResponse:
        return error(404, exc.code, exc.detail)

    @app.exception(RecordNotFound)
    async def record_not_found(_request: Request, exc: RecordNotFound) -> HTTPResponse:
        return error(404, "not_found", exc.detail)

    @app.exception(Conflict)
    async def clash(_request: Request, exc: Conflict) -> HTTPResponse:
        return error(409, exc.code, exc.detail)

    @app.exception(NothingToUpdate)
    async def nothing_to_update(_request: Request, exc: NothingToUpdate) -> HTTPResponse:
        return error(400, "nothing_to_update", exc.detail)

    @app.exception(TicketConflict)
    async def conflict(_request: Request, exc: TicketConflict) -> HTTPResponse:
        return error(409, exc.code, exc.detail)

    @app.exception(ImageRejected)
    async def image_rejected(_request: Request, exc: ImageRejected) -> HTTPResponse:
        status = _IMAGE_STATUS.get(exc.code, 422)
        if exc.kinds:
            return error(status, exc.code, exc.detail, kinds=list(exc.kinds))
        return error(status, exc.code, exc.detail)

    @app.exception(BadJson)
    async def bad_json(_request: Request, exc: BadJson) -> HTTPResponse:
        return error(400, "bad_json", str(exc))

    @app.exception(PayloadTooLarge)
    async def too_large(request: Request, _exc: PayloadTooLarge) -> HTTPResponse:
        settings = request.app.ctx.settings
        if request.path.endswith("/attachments"):
            limit = settings.attachment_max_bytes
            return error(413, "image_too_large", f"the image is over {limit} bytes")
        limit = settings.max_body_bytes
        return error(413, "body_too_large", f"the request body is over {limit} bytes")

    @app.exception(OperationalError)
    async def database_down(_request: Request, exc: OperationalError) -> HTTPResponse:
        # The driver's message only; the statement and its parameters (user
        # text) are never logged.
        logger.error("database unavailable: %s", exc.orig)
        return error(503, "database_unavailable", "the ticket database is unavailable; retry")

    @app.exception(SanicException)
    async def http_error(_request: Request, exc: SanicException) -> HTTPResponse:
        status = int(getattr(exc, "status_code", 500) or 500)
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            status, "http_error"
        )
        return error(status, code, str(exc))

    @app.on_response
    async def security_headers(_request: Request, response: HTTPResponse) -> None:
        # API responses are data, never pages: no sniffing, no caching.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
