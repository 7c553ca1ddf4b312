"""Sandbox clearinghouse and payer for local runs and tests; never imported by services/.

Start it with ``python -m sandbox.clearinghouse --folder DIR`` (see ``sandbox.clearinghouse``);
adjudication rules are in ``sandbox.rules``.
"""
