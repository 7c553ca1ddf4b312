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


def test_a_lost_database_connection_retries_in_place_whichever_layer_raises_it() -> None:
    """The inbox insert runs on the asyncpg connection itself, so its connection errors arrive unwrapped: they are
    retried in place as SQLAlchemy's wrapped ones are, never counted towards the dead-letter topic."""
    import asyncpg

    from shared.messaging.consumer import TRANSIENT_ERRORS

    for error in (
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
        sa.exc.InterfaceError("SELECT 1", (), Exception("closed")),
    ):
        assert isinstance(error, TRANSIENT_ERRORS)
    assert not isinstance(asyncpg.exceptions.UndefinedColumnError("no such column"), TRANSIENT_ERRORS)
