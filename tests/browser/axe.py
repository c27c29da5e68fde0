"""axe-core in the browser tests: the accessibility checks of the widget and the console.

axe-core comes from the npm registry as a test-only package (``tests/browser/package.json``,
installed by ``scripts/bootstrap.sh``); it is never served with the widget or the console.
The pages' Content-Security-Policy allows no injected script: axe's source is evaluated
over the DevTools protocol (``evaluate``), which the policy does not govern, in the page or
in one of its frames.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Frame, Page

AXE_SCRIPT = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Findings that fail a test; a colour-contrast finding fails whatever its impact.
FAILING_IMPACTS = {"serious", "critical"}
ALWAYS_FAILING_RULES = {"color-contrast"}

_RUN = """async ([tags, selector, iframes]) => {
  const context = selector ? { include: [[selector]] } : document;
  const result = await window.axe.run(context, {
    runOnly: { type: "tag", values: tags },
    iframes,
    resultTypes: ["violations"],
  });
  return result.violations.map((rule) => ({
    id: rule.id,
    impact: rule.impact,
    help: rule.help,
    helpUrl: rule.helpUrl,
    nodes: rule.nodes.map((node) => ({
      target: node.target.map((part) => Array.isArray(part) ? part.join(" >>> ") : part),
      impact: node.impact,
      summary: node.failureSummary,
    })),
  }));
}"""


def _source() -> str:
    if not AXE_SCRIPT.is_file():
        raise FileNotFoundError(
            f"{AXE_SCRIPT} is missing: run scripts/bootstrap.sh (or npm ci in tests/browser/)"
        )
    return AXE_SCRIPT.read_text(encoding="utf-8")


def inject(target: Page | Frame) -> None:
    """Load axe-core into ``target`` (a page or a frame) unless it is there already."""
    if not target.evaluate("typeof window.axe === 'object' && !!window.axe.run"):
        target.evaluate(_source())


def violations(
    target: Page | Frame, selector: str | None = None, *, iframes: bool = False
) -> list[dict[str, Any]]:
    """axe's WCAG 2.x A/AA violations in ``target`` (or only under ``selector``).

    Frames are checked on their own (``iframes=False``): an embedding page and the chat in
    its frame come from different origins.
    """
    inject(target)
    return list(target.evaluate(_RUN, [WCAG_TAGS, selector, iframes]))


def failing(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings a test must not have: serious or critical ones, and any contrast one."""
    return [
        rule for rule in found
        if rule["impact"] in FAILING_IMPACTS or rule["id"] in ALWAYS_FAILING_RULES
    ]


def report(found: list[dict[str, Any]]) -> str:
    """One line per element and rule: impact, rule, target selectors, help (and why)."""
    lines = []
    for rule in found:
        for node in rule["nodes"]:
            why = re.sub(r"\s+", " ", node.get("summary") or "").strip()
            lines.append(
                f"[{node.get('impact') or rule['impact']}] {rule['id']}: "
                f"{', '.join(node['target'])} -- {rule['help']} ({rule['helpUrl']})"
                + (f"\n      {why}" if why else "")
            )
    return "\n".join(lines)


def assert_accessible(
    target: Page | Frame, where: str, selector: str | None = None
) -> list[dict[str, Any]]:
    """Fail listing every serious or critical finding (and any contrast one) of ``target``.

    Returns all findings (the minor and moderate ones included) for the caller to look at.
    """
    found = violations(target, selector)
    bad = failing(found)
    assert not bad, f"accessibility findings in {where}:\n{report(bad)}"
    return found


# ------------------------------------------------------------- visible focus

_FOCUS_STYLE = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const parentOf = (node) => node.parentElement || (node.getRootNode() || {}).host || null;
  let node = parentOf(el);
  let background = "rgb(255, 255, 255)";
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && bg !== "transparent" && !/^rgba\\(.*,\\s*0\\)$/.test(bg)) { background = bg; break; }
    node = parentOf(node);
  }
  return {
    element: el.id ? "#" + el.id : el.tagName.toLowerCase() + (el.className ? "." +
      String(el.className).trim().split(/\\s+/).join(".") : ""),
    focusVisible: el.matches(":focus-visible"),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth) || 0,
    outlineColor: style.outlineColor,
    boxShadow: style.boxShadow,
    background,
  };
}"""


def _channels(color: str) -> tuple[float, float, float, float]:
    """r, g, b (0-255) and alpha (0-1) of a computed ``rgb()``/``rgba()`` colour."""
    numbers = [float(v) for v in re.findall(r"[\d.]+", color)]
    alpha = numbers[3] if len(numbers) > 3 else 1.0
    return numbers[0], numbers[1], numbers[2], alpha


def _over(color: str, background: str) -> str:
    """``color`` drawn over the opaque ``background``, as ``rgb()``."""
    r, g, b, alpha = _channels(color)
    br, bg, bb, _ = _channels(background)
    mixed = [round(c * alpha + d * (1 - alpha)) for c, d in ((r, br), (g, bg), (b, bb))]
    return f"rgb({mixed[0]}, {mixed[1]}, {mixed[2]})"


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two computed colours (a translucent one over the other)."""

    def luminance(color: str) -> float:
        channels = [c / 255 for c in _channels(color)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted(
        (luminance(_over(foreground, background)), luminance(background)), reverse=True
    )
    return (high + 0.05) / (low + 0.05)


# The colour of the first box-shadow with a spread or blur ("rgb(...) 0px 0px 0px 3px").
_SHADOW = re.compile(r"(rgba?\([^)]*\))\s+(-?[\d.]+)px\s+(-?[\d.]+)px\s+([\d.]+)px\s*([\d.]+)?px?")


def focus_ring(target: Page | Frame) -> dict[str, Any]:
    """The focused element's indicator: its outline or box-shadow, and their contrast ratio
    against the background behind the element. ``ratio`` is 0 when there is none."""
    style = target.evaluate(_FOCUS_STYLE)
    assert style is not None, "nothing has the focus"
    ratio = 0.0
    if style["outlineStyle"] != "none" and style["outlineWidth"] >= 1:
        ratio = contrast(style["outlineColor"], style["background"])
    for match in _SHADOW.finditer(style["boxShadow"] or ""):
        color, _x, _y, blur, spread = match.groups()
        if float(blur) > 0 or float(spread or 0) > 0:
            ratio = max(ratio, contrast(color, style["background"]))
    return {**style, "ratio": round(ratio, 2)}


def assert_focus_visible(target: Page | Frame, where: str) -> dict[str, Any]:
    """The focused element shows an outline or a box-shadow with contrast >= 3:1."""
    ring = focus_ring(target)
    assert ring["ratio"] >= 3, f"no visible focus indicator on {ring['element']} in {where}: {ring}"
    return ring
