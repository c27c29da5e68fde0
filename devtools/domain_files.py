"""The assistant's domain: the folder ``domain/``, one file per topic plus ``core.yml``.

Rasa reads every file of the folder and merges them (``rasa train --domain domain``).
Whatever needs the domain loads it here, through Rasa's own loader, so it sees exactly
what training sees: YAML 1.2 as Rasa reads it (a bare ``No`` stays a string), the
``&zh``/``*zh`` anchors resolved, the files merged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from devtools.processes import ROOT

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain

DOMAIN_DIR = ROOT / "domain"


def load_domain_object(folder: Path = DOMAIN_DIR) -> Domain:
    """The merged domain as Rasa builds it."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(folder))


def load_domain(folder: Path = DOMAIN_DIR) -> dict[str, Any]:
    """The merged domain as plain data: ``Domain.as_dict()``, what the action server gets."""
    return load_domain_object(folder).as_dict()
