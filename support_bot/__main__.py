"""``python -m support_bot``: the same as the ``support-bot`` console script."""

import sys

from support_bot.cli import main

sys.exit(main())
