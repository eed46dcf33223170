"""``python -m vibsentry`` is the ``vibsentry`` command."""

import sys

from vibsentry.cli import main

sys.exit(main())
