"""``python -m tlhelpers``: see :mod:`tlhelpers.cli`."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:
    # Ctrl-C while Python is still importing: say so in one line, not a traceback from
    # inside an import (main() handles it from here on, with the same words).
    print("\nStopped by SIGINT: nothing was done.", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
