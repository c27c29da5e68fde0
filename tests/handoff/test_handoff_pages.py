"""The pages the service serves beside the API: the agent console and the chat widget."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from handoff_service.app import create_app
from handoff_service.config import ConfigError, Settings, default_widget_dir
from handoff_service.console_config import console_config
from handoff_service.db import upgrade
from tests.handoff.helpers import FakeNotifier, LiveServer, live_server

REPO = Path(__file__).resolve().parents[2]
CONSOLE = REPO / "handoff_service" / "console"


@pytest.fixture
def widget_dir(tmp_path: Path) -> Path:
    """A stand-in widget folder."""
    folder = tmp_path / "widget"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>widget</title>", encoding="utf-8")
    (folder / "widget.js").write_text("// widget", encoding="utf-8")
    (folder / "config.js").write_text("window.WIDGET_CONFIG = {};", encoding="utf-8")
    library = folder / "node_modules" / "@scope" / "lib" / "dist"
    library.mkdir(parents=True)
    (library / "lib.min.js").write_text("// lib", encoding="utf-8")
    (folder / "README.md").write_text("notes", encoding="utf-8")
    (folder / "package.json").write_text("{}", encoding="utf-8")
    (folder / ".env").write_text("SECRET=1", encoding="utf-8")
    (folder / "sub.js").mkdir()
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
    (tmp_path / "outside.js").write_text("// outside", encoding="utf-8")
    (folder / "link.js").symlink_to(tmp_path / "outside.js")
    return folder


def _serve(tmp_path: Path, **settings: object) -> Iterator[LiveServer]:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'handoff.db'}", bot_token="bot", **settings),
        FakeNotifier(),
    )
    upgrade(app.ctx.engine)
    with live_server(app) as server:
        yield server


@pytest.fixture
def server(tmp_path: Path, widget_dir: Path) -> Iterator[LiveServer]:
    """The service with the stand-in widget and a public Rasa URL."""
    yield from _serve(
        tmp_path,
        widget_dir=widget_dir,
        rasa_url="http://127.0.0.1:5005",
        public_rasa_url="https://chat.example.com/rasa",
    )


def _get(server: LiveServer, path: str) -> requests.Response:
    return requests.get(server.url + path, allow_redirects=False, timeout=10)


def test_console_is_served_with_its_assets(server: LiveServer) -> None:
    page = _get(server, "/console/")
    assert page.status_code == 200
    assert 'id="token-input"' in page.text and 'src="console.js"' in page.text
    for asset, kind in (("console.js", "javascript"), ("console.css", "css")):
        response = _get(server, f"/console/{asset}")
        assert response.status_code == 200
        assert kind in response.headers["content-type"]
    assert _get(server, "/console").headers["location"] == "/console/"


def test_console_config_is_generated_from_the_service_lists(server: LiveServer) -> None:
    response = _get(server, "/console/config.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    prefix, _, served = response.text.partition(" = ")
    assert prefix == "window.CONSOLE_CONFIG"
    assert json.loads(served.strip().rstrip(";")) == console_config()
    # Loaded first, so the console's script finds its lists.
    page = _get(server, "/console/").text
    assert page.index('src="config.js"') < page.index('src="console.js"')


def test_console_never_builds_html_from_strings() -> None:
    script = (REPO / "handoff_service" / "console" / "console.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_widget_folder_is_served_with_a_generated_config(server: LiveServer) -> None:
    assert _get(server, "/widget/").text.startswith("<!doctype html>")
    assert _get(server, "/widget/widget.js").text == "// widget"
    assert _get(server, "/widget").headers["location"] == "/widget/"
    config = _get(server, "/widget/config.js")
    assert config.status_code == 200
    assert "javascript" in config.headers["content-type"]
    prefix, _, rest = config.text.partition("=")
    assert prefix.strip() == "window.WIDGET_CONFIG"
    # Merged into what the host page set; the served Rasa URL is the last word.
    merged, _, served = rest.strip().rstrip(";").partition(", ")
    assert merged == "Object.assign(window.WIDGET_CONFIG || {}"
    assert json.loads(served.rstrip(")")) == {"rasaUrl": "https://chat.example.com/rasa"}


def test_widget_config_falls_back_to_the_rasa_url(tmp_path: Path, widget_dir: Path) -> None:
    for server in _serve(tmp_path, widget_dir=widget_dir, rasa_url="http://10.0.0.5:5005"):
        config = _get(server, "/widget/config.js").text
        assert '{"rasaUrl": "http://10.0.0.5:5005"}' in config


@pytest.mark.parametrize(
    "path",
    [
        "/widget/../secret.txt",
        "/widget/%2e%2e/secret.txt",
        "/widget/%2e%2e%2fsecret.txt",
        "/console/../app.py",
        "/console/%2e%2e/app.py",
        "/widget/link.js",
        "/widget/%00.js",
        "/widget/%ff.js",
        "/widget/" + "a" * 600 + ".js",
    ],
)
def test_nothing_outside_the_folders_is_served(server: LiveServer, path: str) -> None:
    response = _get(server, path)
    assert response.status_code == 404
    assert "outside" not in response.text


@pytest.mark.parametrize(
    "path", ["/widget/README.md", "/widget/package.json", "/widget/.env", "/widget/sub.js"]
)
def test_only_page_files_are_served(server: LiveServer, path: str) -> None:
    response = _get(server, path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_nested_library_files_are_served_with_their_type(server: LiveServer) -> None:
    response = _get(server, "/widget/node_modules/@scope/lib/dist/lib.min.js")
    assert response.status_code == 200 and response.text == "// lib"
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    svg = _get(server, "/console/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"


def _policy(response: requests.Response) -> dict[str, str]:
    directives = response.headers["Content-Security-Policy"].split(";")
    return {d.strip().split(" ", 1)[0]: d.strip().split(" ", 1)[1] for d in directives}


COMMON_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "base-uri": "'none'",
    "form-action": "'none'",
    "object-src": "'none'",
}


@pytest.mark.parametrize(
    "path", ["/widget/", "/widget/widget.js", "/widget/config.js", "/widget/nope.js", "/widget"]
)
def test_widget_responses_carry_the_policy(server: LiveServer, path: str) -> None:
    response = _get(server, path)
    assert _policy(response) == {
        **COMMON_POLICY,
        "connect-src": "'self' https://chat.example.com wss://chat.example.com",
        "frame-ancestors": "'self'",
    }
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The widget is meant to be framed by the app's pages (frame-ancestors decides).
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/console/",
        "/console/console.js",
        "/console/config.js",
        "/console/console.css",
        "/console/x.js",
    ],
)
def test_console_responses_carry_the_policy_and_deny_framing(server: LiveServer, path: str) -> None:
    response = _get(server, path)
    assert _policy(response) == {
        **COMMON_POLICY,
        "connect-src": "'self' https://chat.example.com wss://chat.example.com",
        "frame-ancestors": "'none'",
    }
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_api_gets_no_page_policy(server: LiveServer) -> None:
    response = _get(server, "/api/health")
    assert "Content-Security-Policy" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_frame_ancestors_and_plain_http_rasa(tmp_path: Path, widget_dir: Path) -> None:
    for server in _serve(
        tmp_path,
        widget_dir=widget_dir,
        rasa_url="http://10.0.0.5:5005",
        widget_frame_ancestors=("'self'", "https://app.example.com"),
    ):
        policy = _policy(_get(server, "/widget/"))
        assert policy["frame-ancestors"] == "'self' https://app.example.com"
        assert policy["connect-src"] == "'self' http://10.0.0.5:5005 ws://10.0.0.5:5005"
        assert _policy(_get(server, "/console/"))["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    "value",
    ["*", "https://a.example.com; script-src *", "'unsafe-inline'", "javascript:", "'none' 'self'"],
)
def test_frame_ancestors_setting_takes_origins_only(value: str) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env({"WIDGET_FRAME_ANCESTORS": value})


def test_frame_ancestors_setting_is_space_separated() -> None:
    settings = Settings.from_env({"WIDGET_FRAME_ANCESTORS": "https://a.example  http://b:8080"})
    assert settings.widget_frame_ancestors == ("https://a.example", "http://b:8080")
    assert Settings.from_env({}).widget_frame_ancestors == ("'self'",)


class _InlineCodeFinder(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and "src" not in names:
            self.blocked.append("inline <script>")
        if tag == "style":
            self.blocked.append("<style>")
        for name, value in names.items():
            if name.startswith("on") or name == "style":
                self.blocked.append(f"{tag} {name}=")
            if value.strip().lower().startswith("javascript:"):
                self.blocked.append(f"{tag} {name}=javascript:")


@pytest.mark.parametrize("page", [CONSOLE / "index.html", REPO / "widget" / "index.html"])
def test_pages_have_no_inline_code_the_policy_would_block(page: Path) -> None:
    finder = _InlineCodeFinder()
    finder.feed(page.read_text(encoding="utf-8"))
    assert finder.blocked == []


def test_the_console_script_sets_no_inline_styles_or_handlers() -> None:
    script = (CONSOLE / "console.js").read_text(encoding="utf-8")
    for blocked in ('setAttribute("style"', "setAttribute('style'", "cssText", "new Function"):
        assert blocked not in script
    assert not re.search(r"setAttribute\(\s*[\"']on", script)


def test_settings_point_at_the_repository_widget_by_default() -> None:
    assert default_widget_dir() == REPO / "widget"
    assert Settings().widget_dir == REPO / "widget"
    env = Settings.from_env(
        {"PUBLIC_RASA_URL": "https://x.example/rasa/", "HANDOFF_WIDGET_DIR": "/w"}
    )
    assert env.public_rasa_url == "https://x.example/rasa"
    assert env.widget_dir == Path("/w")
    assert Settings.from_env({}).public_rasa_url is None
