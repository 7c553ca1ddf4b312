"""`python -m cli ...`: the claimflow command without its console script (how `claimflow up` starts the sink)."""

import sys

from cli.launcher import main

sys.exit(main())
