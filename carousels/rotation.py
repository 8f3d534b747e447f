"""``python -m carousels.rotation INPUT.json``: the carousel engine's command line.

The engine lives in ``carousels.workshops.engine``; this entry point keeps the documented command.
"""

import sys

from carousels.workshops.engine import main

if __name__ == "__main__":
    sys.exit(main())
