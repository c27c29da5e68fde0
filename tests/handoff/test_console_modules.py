"""The console's ES modules, read as text: safe sinks only, every string translated.

The console is native ES modules with no build step (``index.html`` loads
``console.js`` with ``type="module"``, which imports the others). These
checks need no browser: the browser tests run the same code for real.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from handoff_service.pages import CONTENT_TYPES
from support_core.patterns import CATEGORIES, ESCALATION_REASONS

CONSOLE = Path(__file__).resolve().parents[2] / "handoff_service" / "console"
MODULES = sorted(CONSOLE.glob("*.js"))
IMPORT = re.compile(r"""^\s*import\s+(?:[^"']*?\s+from\s+)?["'](\.\/[^"']+)["']""", re.M)
T_CALL = re.compile(r"""\bt\(\s*"((?:[^"\\]|\\.)*)\"""")


def _dictionary() -> dict[str, str]:
    """The Chinese dictionary of i18n.js (a JSON-like object literal)."""
    text = (CONSOLE / "i18n.js").read_text(encoding="utf-8")
    body = text.split("const ZH = {", 1)[1].rsplit("};", 1)[0]
    return dict(json.loads("{" + body + "}"))


def _js_strings() -> set[str]:
    found: set[str] = set()
    for module in MODULES:
        for match in T_CALL.finditer(module.read_text(encoding="utf-8")):
            found.add(json.loads('"' + match.group(1) + '"'))
    return found


class _StaticText(HTMLParser):
    """The texts index.html marks for translation (data-i18n, data-i18n-attr)."""

    VOID: ClassVar[set[str]] = {"input", "meta", "link", "br", "img"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[list[str] | None] = []
        self.texts: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attr in (values.get("data-i18n-attr") or "").split():
            if values.get(attr):
                self.texts.add(str(values[attr]))
        if tag in self.VOID:
            return
        self.stack.append([values.get("data-i18n") or "", ""] if "data-i18n" in values else None)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID or not self.stack:
            return
        item = self.stack.pop()
        if item is not None:
            self.texts.add(item[0] or " ".join(item[1].split()))

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] is not None:
            self.stack[-1][1] += data


def test_the_console_is_modules_loaded_after_its_config() -> None:
    page = (CONSOLE / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="console.js"></script>' in page
    assert page.index('src="config.js"') < page.index('src="console.js"')
    assert ".js" in CONTENT_TYPES and "javascript" in CONTENT_TYPES[".js"]


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_every_import_is_a_file_of_the_folder(module: Path) -> None:
    for target in IMPORT.findall(module.read_text(encoding="utf-8")):
        assert (CONSOLE / target[2:]).is_file(), (module.name, target)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_no_module_builds_html_from_strings(module: Path) -> None:
    script = module.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in script, (module.name, sink)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_no_module_hard_codes_a_category_or_reason(module: Path) -> None:
    if module.name == "i18n.js":
        return  # the dictionary translates the service's labels, not its values
    text = module.read_text(encoding="utf-8")
    for value in (*CATEGORIES, *ESCALATION_REASONS):
        assert not re.search(rf"[\"']{value}[\"']|\b{value}\s*:", text), (module.name, value)


def test_every_string_of_the_scripts_has_its_chinese() -> None:
    missing = sorted(_js_strings() - set(_dictionary()))
    assert not missing, missing


def test_every_marked_text_of_the_page_has_its_chinese() -> None:
    parser = _StaticText()
    parser.feed((CONSOLE / "index.html").read_text(encoding="utf-8"))
    missing = sorted(parser.texts - set(_dictionary()))
    assert not missing, missing


def test_placeholders_survive_translation() -> None:
    for english, chinese in _dictionary().items():
        assert set(re.findall(r"\{\w+\}", english)) == set(re.findall(r"\{\w+\}", chinese)), english
