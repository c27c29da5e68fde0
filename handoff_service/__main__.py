"""``python -m handoff_service`` is the ``handoff-service`` command."""

from handoff_service.cli import main

raise SystemExit(main())
