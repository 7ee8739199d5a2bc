"""``python -m tlhelpers``: see :mod:`tlhelpers.cli`."""

import sys

from .cli import main

sys.exit(main())
