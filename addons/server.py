"""The Rasa command line as the project runs its server: ``python -m addons.server run ...``.

Takes exactly the arguments of ``rasa``; it first installs the project's
runtime fixes to Rasa (see :mod:`addons.action_response_validation`).
"""

from __future__ import annotations

from addons import action_response_validation


def main() -> None:
    """Install the fixes, then hand over to Rasa's own entry point."""
    from rasa.__main__ import main as rasa_main

    action_response_validation.install()
    rasa_main()


if __name__ == "__main__":
    main()
