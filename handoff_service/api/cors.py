"""Cross-origin calls to the API from pages of configured origins (never ``*``)."""

from __future__ import annotations

from sanic import Request, Sanic
from sanic.response import HTTPResponse

from handoff_service.api.responses import error

API_PREFIX = "/api/"
CORS_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
CORS_MAX_AGE_S = 600


def register_cors(app: Sanic, origins: tuple[str, ...]) -> None:
    """Let pages of ``origins`` (exact matches, never ``*``) call the API from a browser.

    With no origins, browsers allow same-origin calls only (the console
    served here). Credentials are bearer tokens in a header, never cookies,
    so no Access-Control-Allow-Credentials.
    """
    allowed = frozenset(origins)

    def grant(origin: str | None) -> dict[str, str]:
        if origin is None or origin not in allowed:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "Retry-After",
        }

    @app.on_request
    async def cors_preflight(request: Request) -> HTTPResponse | None:
        # Also reached when routing refused OPTIONS: Sanic runs request
        # middleware before it turns that 405 into a response.
        if request.method != "OPTIONS" or not request.path.startswith(API_PREFIX):
            return None
        origin = request.headers.get("origin")
        if origin is None:
            return None
        if origin not in allowed:
            return error(403, "origin_not_allowed", "this origin may not call the API", "Origin")
        return HTTPResponse(
            status=204,
            headers={
                **grant(origin),
                "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            },
        )

    @app.on_response
    async def cors_headers(request: Request, response: HTTPResponse) -> None:
        if not request.path.startswith(API_PREFIX):
            return
        if allowed:
            # Caches must not hand one origin's answer to another.
            response.headers["Vary"] = "Origin"
        for key, value in grant(request.headers.get("origin")).items():
            response.headers[key] = value
