"""Every third-party package the project imports is declared in pyproject.toml.

A package that only arrives as one of Rasa's dependencies can change or vanish
with Rasa's next release; declared, its version is the project's own decision.
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = {"actions", "addons", "bench", "devtools", "handoff_service", "support_bot",
                    "support_core", "tests"}
FOLDERS = ("actions", "addons", "bench", "devtools", "handoff_service", "support_bot",
           "support_core", "tests")
_REQUIREMENT = re.compile(r'^\s*"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(?:[=<>!~]|")', re.M)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """The distributions pyproject.toml names (dependencies and the dev extra)."""
    text = (ROOT / "pyproject.toml").read_text()
    blocks = re.findall(r"^(?:dependencies|dev) = \[(.*?)^\]", text, re.S | re.M)
    return {_normalise(m) for block in blocks for m in _REQUIREMENT.findall(block)}


def imported_modules() -> set[str]:
    """Top-level names of every module the project's code imports (at any depth)."""
    names: set[str] = set()
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - PROJECT_PACKAGES - set(sys.stdlib_module_names) - {"__future__"}


def test_every_imported_package_is_declared() -> None:
    distributions = packages_distributions()
    wanted = declared()
    undeclared = {}
    for module in sorted(imported_modules()):
        owners = {_normalise(d) for d in distributions.get(module, [])}
        if not owners:
            # Wheels without top_level.txt: the distribution carries the module's name.
            try:
                owners = {_normalise(distribution(module).metadata["Name"])}
            except PackageNotFoundError:
                pass
        assert owners, f"{module} is imported but not installed"
        if not owners & wanted:
            undeclared[module] = sorted(owners)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_declaration_parser_sees_the_known_pins() -> None:
    names = declared()
    assert {"rasa", "sqlalchemy", "sanic", "pyyaml", "pytest", "aiosmtpd"} <= names
