"""The pages the service serves beside the API: the agent console and the chat widget."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from handoff_service.app import create_app
from handoff_service.config import Settings, default_widget_dir
from handoff_service.db import upgrade
from tests.handoff.helpers import FakeNotifier, LiveServer, live_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def widget_dir(tmp_path: Path) -> Path:
    """A stand-in widget folder."""
    folder = tmp_path / "widget"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>widget</title>", encoding="utf-8")
    (folder / "widget.js").write_text("// widget", encoding="utf-8")
    (folder / "config.js").write_text("window.WIDGET_CONFIG = {};", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("outside", encoding="utf-8")
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
    assert json.loads(rest.strip().rstrip(";")) == {"rasaUrl": "https://chat.example.com/rasa"}


def test_widget_config_falls_back_to_the_rasa_url(tmp_path: Path, widget_dir: Path) -> None:
    for server in _serve(tmp_path, widget_dir=widget_dir, rasa_url="http://10.0.0.5:5005"):
        config = _get(server, "/widget/config.js").text
        assert '{"rasaUrl": "http://10.0.0.5:5005"}' in config


@pytest.mark.parametrize(
    "path", ["/widget/../secret.txt", "/widget/%2e%2e/secret.txt", "/console/../app.py"]
)
def test_nothing_outside_the_folders_is_served(server: LiveServer, path: str) -> None:
    response = _get(server, path)
    assert response.status_code == 404
    assert "outside" not in response.text


def test_settings_point_at_the_repository_widget_by_default() -> None:
    assert default_widget_dir() == REPO / "widget"
    assert Settings().widget_dir == REPO / "widget"
    env = Settings.from_env(
        {"PUBLIC_RASA_URL": "https://x.example/rasa/", "HANDOFF_WIDGET_DIR": "/w"}
    )
    assert env.public_rasa_url == "https://x.example/rasa"
    assert env.widget_dir == Path("/w")
    assert Settings.from_env({}).public_rasa_url is None
