"""The reason written into a dead letter's headers and the logs carries no row data."""

from __future__ import annotations

import sqlalchemy as sa

from shared.messaging.consumer import describe_error


class UniqueViolation(Exception):
    sqlstate = "23505"


def test_database_error_keeps_class_and_sqlstate_but_no_parameters() -> None:
    error = sa.exc.IntegrityError("INSERT INTO t (member_id) VALUES ($1)", ("SYN-MEMBER-42",), UniqueViolation("dup"))
    reason = describe_error(error)
    assert reason == "IntegrityError: UniqueViolation (SQLSTATE 23505)"
    assert "SYN-MEMBER-42" not in reason


def test_other_errors_keep_their_message() -> None:
    assert (
        describe_error(ValueError("no handler for event type 'x.v9'")) == "ValueError: no handler for event type 'x.v9'"
    )
