"""``python -m carousels.cafe INPUT.json``: the World Cafe engine's command line."""

import sys

from carousels.cafe.engine import main

sys.exit(main())
