"""`python -m cli ...`: the claimflow command without its console script (how `claimflow up` starts the sink)."""

from cli.main import app

app()
