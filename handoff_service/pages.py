"""The browser pages served beside the API: the agent console and the chat widget.

Both are folders of static files behind a strict Content-Security-Policy: no
inline script or style, nothing loaded from elsewhere, the widget talks only
to this service and the public Rasa server. Files are served from an
allow-list of types with their real content type; anything else is a 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sanic import Request, Sanic
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse, file, raw, redirect

from handoff_service.config import ConfigError, Settings, is_origin, origin_of
from handoff_service.console_config import console_config_js

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

# The only file types a page needs; a README, a package.json or a stray .env
# in a served folder stays private.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
# One path segment: no dot files, no "..", no empty segments.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_@][A-Za-z0-9._@-]{0,127}", re.ASCII)
PATH_MAX_CHARS = 512

CONSOLE_PREFIX = "/console"
WIDGET_PREFIX = "/widget"


def rasa_sources(url: str) -> list[str]:
    """The CSP sources for a browser talking to Rasa at ``url``: its origin over HTTP and WS.

    Raises:
        ConfigError: an http(s) URL whose origin is not plain ``scheme://host[:port]``.
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        return []
    origin = origin_of(url)
    if not is_origin(origin):
        raise ConfigError(f"the public Rasa URL has an unusable origin: {origin!r}")
    socket_scheme = "wss" if scheme == "https" else "ws"
    return [origin, socket_scheme + origin[len(scheme) :]]


def content_security_policy(connect_to: Iterable[str], frame_ancestors: Iterable[str]) -> str:
    """The pages' policy: everything from this origin, no inline code, no plug-ins."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            # Screenshots are fetched with a token and shown from blob: URLs.
            "img-src 'self' data: blob:",
            "connect-src " + " ".join(["'self'", *connect_to]),
            "frame-ancestors " + " ".join(frame_ancestors),
            "base-uri 'none'",
            "form-action 'none'",
            "object-src 'none'",
        ]
    )


def page_headers(settings: Settings) -> dict[str, dict[str, str]]:
    """Security headers of each page's responses, by path prefix.

    Raises:
        ConfigError: the public Rasa URL cannot be put into a policy.
    """
    rasa = rasa_sources(settings.browser_rasa_url)
    common = {"Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}
    return {
        CONSOLE_PREFIX: {
            **common,
            "Content-Security-Policy": content_security_policy(rasa, ["'none'"]),
            "X-Frame-Options": "DENY",
        },
        WIDGET_PREFIX: {
            **common,
            "Content-Security-Policy": content_security_policy(
                rasa, settings.widget_frame_ancestors
            ),
        },
    }


def folder_file(folder: Path, requested: str) -> Path | None:
    """The regular file ``requested`` (a URL path, still percent-encoded) names inside ``folder``.

    ``None`` for anything else: a path outside the folder (also through a
    symbolic link), a dot file, a folder, a missing file, a type not in
    :data:`CONTENT_TYPES`.
    """
    if len(requested) > PATH_MAX_CHARS:
        return None
    try:
        relative = unquote(requested, errors="strict")
    except UnicodeDecodeError:
        return None
    parts = relative.split("/")
    if not all(_SEGMENT_RE.fullmatch(part) for part in parts):
        return None
    if Path(parts[-1]).suffix.lower() not in CONTENT_TYPES:
        return None
    root = folder.resolve()
    try:
        path = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


async def _serve(folder: Path, requested: str) -> HTTPResponse:
    path = folder_file(folder, requested)
    if path is None:
        raise NotFound("no such file")
    return await file(path, mime_type=CONTENT_TYPES[path.suffix.lower()])


def add_page_routes(app: Sanic, settings: Settings) -> None:
    """The agent console at ``/console/`` and the chat widget at ``/widget/``.

    ``/widget/config.js`` is generated, so that the widget served here talks
    to this deployment's Rasa server; a ``config.js`` in the widget folder is
    never served. ``/console/config.js`` is generated too: the categories and
    escalation reasons the console shows are the service's own
    (:mod:`handoff_service.console_config`).
    """
    widget_dir = settings.widget_dir.resolve()
    # Merged into what the host page set (a user token, say); the server's Rasa URL wins.
    served = json.dumps({"rasaUrl": settings.browser_rasa_url})
    widget_config = (
        f"window.WIDGET_CONFIG = Object.assign(window.WIDGET_CONFIG || {{}}, {served});\n"
    ).encode()
    console_config = console_config_js(settings.sla)
    headers = page_headers(settings)

    @app.get(CONSOLE_PREFIX, strict_slashes=True)
    async def console_bare(_request: Request) -> HTTPResponse:
        return redirect(CONSOLE_PREFIX + "/")

    @app.route(CONSOLE_PREFIX + "/", methods=["GET", "HEAD"], strict_slashes=True)
    async def console_index(_request: Request) -> HTTPResponse:
        return await _serve(CONSOLE_DIR, "index.html")

    @app.route(CONSOLE_PREFIX + "/config.js", methods=["GET", "HEAD"])
    async def console_config_file(_request: Request) -> HTTPResponse:
        return raw(console_config, content_type=CONTENT_TYPES[".js"])

    @app.route(CONSOLE_PREFIX + "/<name:path>", methods=["GET", "HEAD"])
    async def console_files(_request: Request, name: str) -> HTTPResponse:
        return await _serve(CONSOLE_DIR, name)

    @app.get(WIDGET_PREFIX, strict_slashes=True)
    async def widget_bare(_request: Request) -> HTTPResponse:
        return redirect(WIDGET_PREFIX + "/")

    @app.route(WIDGET_PREFIX + "/", methods=["GET", "HEAD"], strict_slashes=True)
    async def widget_index(_request: Request) -> HTTPResponse:
        return await _serve(widget_dir, "index.html")

    @app.route(WIDGET_PREFIX + "/config.js", methods=["GET", "HEAD"])
    async def widget_config_js(_request: Request) -> HTTPResponse:
        return raw(widget_config, content_type=CONTENT_TYPES[".js"])

    @app.route(WIDGET_PREFIX + "/<name:path>", methods=["GET", "HEAD"])
    async def widget_files(_request: Request, name: str) -> HTTPResponse:
        return await _serve(widget_dir, name)

    @app.on_response
    async def page_security_headers(request: Request, response: HTTPResponse) -> None:
        for prefix, values in headers.items():
            if request.path == prefix or request.path.startswith(prefix + "/"):
                for key, value in values.items():
                    response.headers[key] = value
