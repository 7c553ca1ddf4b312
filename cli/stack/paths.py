"""Where the local stack keeps its files: everything under the ignored `<repo>/.local/`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.1.1"
SCALA_VERSION = "2.13"

DEV_STACK_DIR = Path(".local") / "stack"
TEST_STACK_DIR = Path(".local") / "test-stack"


def find_repo_root(start: Path | None = None) -> Path:
    """The claimflow checkout: the nearest folder holding `deploy/kafka/pom.xml` and `pyproject.toml`.

    Searched upwards from `start` (default: the working directory), then from this package's own
    location, so the command works from any subfolder and from outside the repo alike.
    """
    candidates = [(start or Path.cwd()).resolve(), Path(__file__).resolve().parent]
    for origin in candidates:
        for folder in (origin, *origin.parents):
            if (folder / "pyproject.toml").is_file() and (folder / "deploy" / "kafka" / "pom.xml").is_file():
                return folder
    raise FileNotFoundError(
        "cannot find the claimflow repository (a folder with pyproject.toml and deploy/kafka/pom.xml) "
        f"above {candidates[0]}"
    )


@dataclass(frozen=True, slots=True)
class StackPaths:
    """Files of one stack instance (`stack_dir`) and of the jar cache shared by all instances."""

    root: Path
    stack_dir: Path

    @classmethod
    def for_root(cls, root: Path, stack_dir: Path | None = None) -> StackPaths:
        root = root.resolve()
        folder = stack_dir if stack_dir is not None else DEV_STACK_DIR
        return cls(root=root, stack_dir=(root / folder).resolve())

    # --- shared jar cache -------------------------------------------------------------------------
    @property
    def kafka_pom(self) -> Path:
        return self.root / "deploy" / "kafka" / "pom.xml"

    @property
    def kafka_log4j_config(self) -> Path:
        return self.root / "deploy" / "kafka" / "log4j2.xml"

    @property
    def kafka_cache(self) -> Path:
        return self.root / ".local" / "cache" / f"kafka-{KAFKA_VERSION}"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_cache / "libs"

    @property
    def kafka_fetch_marker(self) -> Path:
        return self.kafka_cache / "fetched.json"

    @property
    def kafka_fetch_log(self) -> Path:
        return self.kafka_cache / "fetch.log"

    # --- one stack instance -----------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.stack_dir / "stack.json"

    @property
    def lock_file(self) -> Path:
        return self.stack_dir / ".lock"

    @property
    def postgres_dir(self) -> Path:
        return self.stack_dir / "postgres"

    @property
    def postgres_data(self) -> Path:
        return self.postgres_dir / "data"

    @property
    def postgres_log(self) -> Path:
        return self.postgres_dir / "postgres.log"

    @property
    def postgres_password_file(self) -> Path:
        return self.postgres_dir / "superuser-password"

    @property
    def kafka_dir(self) -> Path:
        return self.stack_dir / "kafka"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def kafka_logs(self) -> Path:
        return self.kafka_dir / "logs"

    @property
    def kafka_properties(self) -> Path:
        return self.kafka_dir / "server.properties"

    @property
    def kafka_server_log(self) -> Path:
        return self.kafka_logs / "server.log"

    @property
    def kafka_stdout_log(self) -> Path:
        return self.kafka_logs / "stdout.log"
