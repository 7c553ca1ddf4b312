"""Apache Kafka for the local stack: the broker's Maven Central jars run on the local JDK.

One combined broker+controller node in KRaft mode on two loopback ports. The jars are fetched once
with Maven (`deploy/kafka/pom.xml`) into `<repo>/.local/cache/kafka-<version>/libs/`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.stack.paths import KAFKA_VERSION, SCALA_VERSION, StackPaths
from cli.stack.process import StackError, file_lock, process_matches, run_logged, tail, terminate
from shared.messaging.kafka_access import KafkaAccess
from shared.messaging.principals import ADMIN_PRINCIPAL, PRINCIPALS, AclBinding

MIN_JAVA = 17
DEFAULT_HEAP_OPTS = "-Xms768m -Xmx768m"  # small heaps fail in the log cleaner
JVM_OPTS = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
    # C1 only: a broker started for a test run or a benchmark spends most of its CPU in the C2 compiler (half its
    # CPU per event over a 30,000-event bench/messaging run, 35.7 of 72.3 µs), for code no faster here (its request
    # handler threads: 25.3 µs per event with C2, 25.0 µs with C1 alone).
    "-XX:TieredStopAtLevel=1",
]
INSTALL_HINT = (
    "install a JDK 17+ and Maven 3.8+ (Debian/Ubuntu: `apt-get install openjdk-17-jdk-headless maven`; "
    "macOS: `brew install openjdk@17 maven`), or set JAVA_HOME, or point KAFKA_BOOTSTRAP_SERVERS "
    "at a running broker"
)

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    return None


# --- tools --------------------------------------------------------------------------------------------


def find_java() -> Path:
    """The `java` of JAVA_HOME or PATH, checked to be version 17 or later."""
    java_home = os.environ.get("JAVA_HOME")
    candidate: str | None = None
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        candidate = str(Path(java_home) / "bin" / "java")
    else:
        candidate = shutil.which("java")
    if candidate is None:
        raise StackError(f"`java` not found: {INSTALL_HINT}")
    try:
        out = subprocess.run([candidate, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise StackError(f"`{candidate} -version` failed ({err}): {INSTALL_HINT}") from err
    text = out.stderr + out.stdout
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if not match:
        raise StackError(f"cannot read the Java version from `{candidate} -version`:\n{text}\n{INSTALL_HINT}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_x" style
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise StackError(
            f"Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+, found Java {major} ({candidate}): {INSTALL_HINT}"
        )
    _JAVA_VERSIONS[candidate] = text
    return Path(candidate)


_JAVA_VERSIONS: dict[str, str] = {}


def java_fingerprint(java: Path) -> str:
    """Short id of one JVM build (its real path and `-version` text): a class archive fits only that."""
    text = _JAVA_VERSIONS.get(str(java)) or ""
    return hashlib.sha256(f"{os.path.realpath(java)}\n{text}".encode()).hexdigest()[:12]


def find_maven() -> Path:
    candidate = shutil.which("mvn")
    if candidate is None:
        raise StackError(f"`mvn` (Apache Maven) not found; it fetches the Kafka jars once: {INSTALL_HINT}")
    return Path(candidate)


# --- fetching the jars ------------------------------------------------------------------------------


def _pom_digest(paths: StackPaths) -> str:
    return hashlib.sha256(paths.kafka_pom.read_bytes()).hexdigest()


def kafka_jars_ready(paths: StackPaths) -> bool:
    """Whether the jar cache is complete and was made from the current pom."""
    try:
        marker = json.loads(paths.kafka_fetch_marker.read_text())
    except (OSError, ValueError):
        return False
    broker_jar = paths.kafka_libs / f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar"
    return marker.get("pom_sha256") == _pom_digest(paths) and broker_jar.is_file()


def fetch_kafka(paths: StackPaths, progress: Progress = _quiet, *, force: bool = False) -> Path:
    """Copy the broker's jars from Maven Central into the cache once; returns the libs folder."""
    if kafka_jars_ready(paths) and not force:
        return paths.kafka_libs
    with file_lock(paths.kafka_cache / ".fetch.lock"):  # the dev and test stacks share the cache
        if kafka_jars_ready(paths) and not force:
            return paths.kafka_libs
        return _fetch_locked(paths, progress)


def _fetch_locked(paths: StackPaths, progress: Progress) -> Path:
    mvn = find_maven()
    find_java()
    cache = paths.kafka_cache
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f"libs.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"fetching Kafka {KAFKA_VERSION} jars from Maven Central (once) into {cache}")
    paths.kafka_fetch_log.write_text("")
    started = time.monotonic()
    try:
        run_logged(
            [
                str(mvn),
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(paths.kafka_pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
            ],
            timeout=1800,
            log=paths.kafka_fetch_log,
            cwd=paths.kafka_pom.parent,
        )
    except StackError as err:
        shutil.rmtree(staging, ignore_errors=True)
        raise StackError(f"fetching the Kafka jars with Maven failed (log: {paths.kafka_fetch_log}):\n{err}") from err
    if not (staging / f"kafka_{SCALA_VERSION}-{KAFKA_VERSION}.jar").is_file():
        raise StackError(f"Maven finished but the broker jar is missing in {staging}")
    shutil.rmtree(paths.kafka_libs, ignore_errors=True)
    shutil.rmtree(paths.kafka_cache / "cds", ignore_errors=True)  # class archives of the old jars
    staging.rename(paths.kafka_libs)
    jars = sorted(p.name for p in paths.kafka_libs.glob("*.jar"))
    paths.kafka_fetch_marker.write_text(
        json.dumps(
            {
                "kafka_version": KAFKA_VERSION,
                "pom_sha256": _pom_digest(paths),
                "seconds": round(time.monotonic() - started, 1),
                "jars": jars,
            },
            indent=2,
        )
    )
    progress(f"fetched {len(jars)} jars in {time.monotonic() - started:.1f}s")
    return paths.kafka_libs


# --- the broker process -----------------------------------------------------------------------------


def new_cluster_id() -> str:
    """A Kafka cluster id: a random UUID, URL-safe base64 without padding (as `random-uuid` prints)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


SCRAM_MECHANISM = "SCRAM-SHA-512"
CONTROLLER_PRINCIPAL = "controller"


@dataclass(frozen=True, slots=True)
class KafkaCredentials:
    """The SCRAM passwords of the stack's principals (admin, one per service, analytics) and the
    controller's PLAIN password, generated once per stack and kept in `<stack>/kafka/credentials.json`."""

    passwords: tuple[tuple[str, str], ...]
    controller_password: str = field(repr=False)

    @staticmethod
    def principals() -> list[str]:
        return [ADMIN_PRINCIPAL, *(p.name for p in PRINCIPALS)]

    @classmethod
    def complete(cls, path: Path) -> bool:
        """Whether `path` holds a password for every principal of this version (else: users are missing)."""
        with contextlib.suppress(OSError, ValueError):
            users = json.loads(path.read_text()).get("users") or {}
            return all(name in users for name in cls.principals())
        return False

    @classmethod
    def load_or_create(cls, path: Path) -> KafkaCredentials:
        wanted = cls.principals()
        stored: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            stored = json.loads(path.read_text())
        users: dict[str, str] = dict(stored.get("users") or {})
        controller = str(stored.get("controller") or secrets.token_hex(24))
        if all(name in users for name in wanted) and stored.get("controller"):
            return cls(tuple(users.items()), controller)
        users.update({name: secrets.token_hex(24) for name in wanted if name not in users})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"mechanism": SCRAM_MECHANISM, "users": users, "controller": controller}, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
        return cls(tuple(users.items()), controller)

    def password(self, principal: str) -> str:
        return dict(self.passwords)[principal]

    def access(self, bootstrap_servers: str, principal: str = ADMIN_PRINCIPAL) -> KafkaAccess:
        return KafkaAccess(bootstrap_servers).as_principal(principal, self.password(principal))

    def scram_arguments(self) -> list[str]:
        """`--add-scram` arguments of `kafka-storage format`: the users exist before the broker first starts."""
        return [
            arg
            for name, password in self.passwords
            for arg in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]")
        ]


def broker_properties(paths: StackPaths, broker_port: int, controller_port: int, credentials: KafkaCredentials) -> str:
    """SASL on every listener: clients and the broker itself authenticate with SCRAM, the controller
    listener with PLAIN (SCRAM users live in the metadata the controller serves); ACLs decide the rest."""
    host = "127.0.0.1"
    admin = credentials.password(ADMIN_PRINCIPAL)
    controller = credentials.controller_password
    return "\n".join(
        [
            "# Written by `claimflow stack up` on every start: one combined KRaft node on loopback.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={host}:{controller_port}",
            f"listeners=SASL_PLAINTEXT://{host}:{broker_port},CONTROLLER://{host}:{controller_port}",
            f"advertised.listeners=SASL_PLAINTEXT://{host}:{broker_port},CONTROLLER://{host}:{controller_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=SASL_PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
            f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
            f"sasl.mechanism.inter.broker.protocol={SCRAM_MECHANISM}",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            "listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule"
            f' required username="{CONTROLLER_PRINCIPAL}" password="{controller}"'
            f' user_{CONTROLLER_PRINCIPAL}="{controller}";',
            f"listener.name.sasl_plaintext.{SCRAM_MECHANISM.lower()}.sasl.jaas.config="
            f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN_PRINCIPAL}"'
            f' password="{admin}";',
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            f"super.users=User:{ADMIN_PRINCIPAL};User:{CONTROLLER_PRINCIPAL}",
            "allow.everyone.if.no.acl.found=false",
            f"log.dirs={paths.kafka_data}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "share.coordinator.state.topic.num.partitions=1",
            "group.initial.rebalance.delay.ms=0",
            # Threads for a machine of a few cores (Kafka's defaults, 3 network and 8 request handler threads, are
            # sized for a server of its own).
            "num.network.threads=2",
            "num.io.threads=2",
            "auto.create.topics.enable=false",
            "",
        ]
    )


@dataclass(frozen=True, slots=True)
class KafkaRun:
    pid: int
    broker_port: int
    controller_port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.broker_port}"


class LocalKafka:
    """One broker whose data and logs live under `<stack>/kafka/`."""

    # Popen handles of brokers started by this process, so they are reaped (no zombies) when stopped.
    _children: dict[int, subprocess.Popen[bytes]] = {}

    def __init__(self, paths: StackPaths, progress: Progress | None = None) -> None:
        self.paths = paths
        self._progress = progress or _quiet

    @property
    def formatted(self) -> bool:
        return (self.paths.kafka_data / "meta.properties").is_file()

    def is_ours(self, pid: int | None) -> bool:
        """Whether `pid` is a broker of this stack (not a reused pid)."""
        return process_matches(pid, "kafka.Kafka", str(self.paths.kafka_properties))

    def alive(self, pid: int | None) -> bool:
        if pid is not None and pid in self._children:
            return self._children[pid].poll() is None
        return self.is_ours(pid)

    def configured_ports(self) -> tuple[int, int] | None:
        """(broker, controller) ports from the properties file the running broker was started with."""
        try:
            text = self.paths.kafka_properties.read_text()
        except OSError:
            return None
        broker = re.search(r"^listeners=.*SASL_PLAINTEXT://[^:,]+:(\d+)", text, re.M)
        controller = re.search(r"^listeners=.*CONTROLLER://[^:,]+:(\d+)", text, re.M)
        if broker is None or controller is None:
            return None
        return int(broker.group(1)), int(controller.group(1))

    def _java_command(self, java: Path, *main: str) -> list[str]:
        heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP_OPTS).split()
        performance = os.environ.get("KAFKA_JVM_PERFORMANCE_OPTS")  # as Kafka's own start scripts read it
        return [
            str(java),
            *heap,
            *(JVM_OPTS if performance is None else performance.split()),
            f"-Dkafka.logs.dir={self.paths.kafka_logs}",
            f"-Dlog4j2.configurationFile={self.paths.kafka_log4j_config}",
            "-cp",
            str(self.paths.kafka_libs / "*"),
            *main,
        ]

    @property
    def credentials_path(self) -> Path:
        return self.paths.kafka_dir / "credentials.json"

    def credentials(self) -> KafkaCredentials | None:
        """The principals' passwords, once this stack's storage has been formatted with them."""
        if not self.credentials_path.is_file():
            return None
        return KafkaCredentials.load_or_create(self.credentials_path)

    def running_with_sasl(self) -> bool:
        """Whether the properties the running broker was started with turn SASL on (not a pre-SASL broker)."""
        with contextlib.suppress(OSError):
            return "SASL_PLAINTEXT://" in self.paths.kafka_properties.read_text()
        return False

    def start(self, broker_port: int, controller_port: int) -> KafkaRun:
        """Write the properties, format the storage on first use, and launch the broker (no waiting)."""
        java = find_java()
        fetch_kafka(self.paths, self._progress)
        if self.formatted and not KafkaCredentials.complete(self.credentials_path):
            # formatted before SASL (or before a principal existed): SCRAM users are added at format time only
            self._progress("Kafka storage lacks SCRAM users: formatting it again (its topics are recreated)")
            shutil.rmtree(self.paths.kafka_data, ignore_errors=True)
            self.credentials_path.unlink(missing_ok=True)
        for folder in (self.paths.kafka_data, self.paths.kafka_logs):
            folder.mkdir(parents=True, exist_ok=True)
        credentials = KafkaCredentials.load_or_create(self.credentials_path)
        self.paths.kafka_properties.write_text(broker_properties(self.paths, broker_port, controller_port, credentials))
        self.paths.kafka_properties.chmod(0o600)  # holds the admin's and the controller's passwords
        if not self.formatted:
            self._progress("formatting Kafka storage (KRaft, standalone controller)")
            heapless = [arg for arg in self._java_command(java) if not arg.startswith("-Xm")]
            run_logged(
                [
                    *heapless,
                    "-Xmx256m",
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    new_cluster_id(),
                    "-c",
                    str(self.paths.kafka_properties),
                    *credentials.scram_arguments(),
                ],
                timeout=180,
                log=self.paths.kafka_logs / "format.log",
            )
        self._progress(f"starting Kafka {KAFKA_VERSION} on 127.0.0.1:{broker_port} (controller :{controller_port})")
        with self.paths.kafka_stdout_log.open("ab") as out:
            out.write(f"\n=== starting broker {time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
            out.flush()
            command = self._java_command(
                java, *self._class_archive_args(java), "kafka.Kafka", str(self.paths.kafka_properties)
            )
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.paths.kafka_dir,
                start_new_session=True,  # survives the CLI exiting and Ctrl-C in its terminal
            )
        self._children[proc.pid] = proc
        return KafkaRun(proc.pid, broker_port, controller_port)

    # AppCDS: the first broker of a JVM build dumps the classes it loaded when it exits (`down`); later
    # starts map that archive and boot about twice as fast. Each stack dumps to its own pending file,
    # adopted into the shared cache once its broker has exited. CLAIMFLOW_KAFKA_CDS=0 turns it off.
    def _class_archive_args(self, java: Path) -> list[str]:
        if os.environ.get("CLAIMFLOW_KAFKA_CDS", "1") in ("0", "false", "no"):
            return []
        java_home = Path(os.path.realpath(java)).parent.parent
        if not (java_home / "lib" / "server" / "classes.jsa").is_file():
            return []  # a dynamic archive needs the JDK's base archive
        quiet = "-Xlog:cds=off,cds+dynamic=off"
        archive = self.paths.kafka_cache / "cds" / f"kafka-{java_fingerprint(java)}.jsa"
        self._adopt_class_archive()
        if archive.is_file():
            return [f"-XX:SharedArchiveFile={archive}", quiet]
        archive.parent.mkdir(parents=True, exist_ok=True)
        self._pending_marker.write_text(f"{archive}\n")
        return [f"-XX:ArchiveClassesAtExit={self._pending_dump}", quiet]

    @property
    def _pending_marker(self) -> Path:
        """Holds the shared archive path that this stack's broker dump is meant for."""
        return self.paths.kafka_dir / "class-archive.pending"

    @property
    def _pending_dump(self) -> Path:
        return self.paths.kafka_dir / "class-archive.jsa"

    def _adopt_class_archive(self) -> None:
        """Move the dump left by this stack's exited broker into the shared cache."""
        try:
            target = Path(self._pending_marker.read_text().strip())
        except OSError:
            return
        dump = self._pending_dump
        with contextlib.suppress(OSError):
            if dump.is_file() and dump.stat().st_size > 0 and not target.exists():
                os.replace(dump, target)
        dump.unlink(missing_ok=True)
        self._pending_marker.unlink(missing_ok=True)

    def stop(self, pid: int | None, grace: float = 30.0) -> bool:
        """SIGTERM (controlled shutdown), then SIGKILL after `grace` seconds. True when one was running."""
        popen = self._children.pop(pid, None) if pid is not None else None
        if pid is None or not (self.is_ours(pid) or (popen is not None and popen.poll() is None)):
            if popen is not None:
                popen.poll()
            return False
        dumping = " (it writes its class archive once, for faster starts)" if self._pending_marker.exists() else ""
        self._progress(f"stopping Kafka (pid {pid}){dumping}")
        clean = terminate(pid, grace=grace, popen=popen)
        if not clean:
            self._progress(f"Kafka did not stop within {grace:.0f}s and was killed")
        self._adopt_class_archive()
        return True

    def log_tail(self, lines: int = 40) -> str:
        """The broker's first error lines and the tail of its logs, for error messages."""
        parts = []
        log_lines = tail(self.paths.kafka_server_log, 2000).splitlines()
        firsts = [i for i, line in enumerate(log_lines) if " ERROR " in line or " FATAL " in line][:3]
        if firsts:
            excerpt = [line for i in firsts for line in log_lines[i : i + 3]]  # each with its cause
            parts.append("--- first errors in the broker log ---\n" + "\n".join(excerpt))
        for log in (self.paths.kafka_server_log, self.paths.kafka_stdout_log):
            text = tail(log, lines)
            if text.strip():
                parts.append(f"--- tail of {log} ---\n{text}")
        return "\n".join(parts) or f"(no broker log in {self.paths.kafka_logs})"


# --- admin calls --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet_aiokafka() -> Iterator[None]:
    """aiokafka logs every refused connection at ERROR while the broker boots; hush it meanwhile."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def describe_cluster(kafka: KafkaAccess, seconds: float = 5.0) -> dict[str, object]:
    """One real admin round trip (Metadata request); raises when the broker does not answer."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        **kafka.client_options(),
        request_timeout_ms=int(seconds * 1000),
        client_id="claimflow-stack",
    )
    try:
        async with asyncio.timeout(seconds + 1):
            await admin.start()
            info: dict[str, object] = await admin.describe_cluster()
        if not info.get("brokers"):
            raise StackError("the broker answered but lists no brokers yet")
        return info
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await admin.close()


async def wait_for_kafka(
    kafka: KafkaAccess,
    seconds: float,
    alive: Callable[[], bool] | None = None,
    log_tail: Callable[[], str] | None = None,
) -> dict[str, object]:
    """Retry `describe_cluster` until the broker answers or `seconds` pass.

    `alive` lets a local broker's early death fail fast; the error shows `log_tail()`.
    """
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    with _quiet_aiokafka():
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise StackError(f"the Kafka broker exited while starting\n{log_tail() if log_tail else ''}".rstrip())
            try:
                return await describe_cluster(kafka, seconds=min(5.0, max(1.0, deadline - time.monotonic())))
            except Exception as err:  # connection refused, timeouts, not-ready errors
                last = err
            await asyncio.sleep(0.3)
    message = f"Kafka at {kafka.bootstrap_servers} did not answer an admin call within {seconds:.0f}s: {last!r}"
    if log_tail is not None:
        message += "\n" + log_tail()
    raise StackError(message)


async def ensure_topics(kafka: KafkaAccess, topics: Iterable[tuple[str, int]], seconds: float = 60.0) -> dict[str, int]:
    """Create missing topics with their partition counts; grow existing ones that have fewer.

    Idempotent. Returns {topic: partitions} as the broker reports it after the call.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    wanted = dict(topics)
    deadline = time.monotonic() + seconds
    last: BaseException | None = None
    with _quiet_aiokafka():
        while time.monotonic() < deadline:
            admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=10000, client_id="claimflow-stack")
            try:
                async with asyncio.timeout(max(1.0, deadline - time.monotonic())):
                    await admin.start()
                    brokers = (await admin.describe_cluster()).get("brokers") or []
                    replication = max(1, min(3, len(brokers)))
                    existing = set(await admin.list_topics())
                    missing = [
                        NewTopic(name, partitions, replication)
                        for name, partitions in wanted.items()
                        if name not in existing
                    ]
                    if missing:
                        response = await admin.create_topics(missing, timeout_ms=10000)
                        for error in response.topic_errors:
                            name, code = error[0], error[1]
                            if code and for_code(code) is not TopicAlreadyExistsError:
                                detail = error[2] if len(error) > 2 else ""
                                raise for_code(code)(f"creating topic {name}: {detail}")
                    actual = await _partition_counts(admin, list(wanted))
                    grow = {
                        name: NewPartitions(total_count=count)
                        for name, count in wanted.items()
                        if 0 < actual.get(name, 0) < count
                    }
                    if grow:
                        await admin.create_partitions(grow, timeout_ms=10000)
                        actual = await _partition_counts(admin, list(wanted))
                    if all(actual.get(name, 0) >= count for name, count in wanted.items()):
                        return actual
                    last = StackError(f"topics not ready yet: {actual}")
            except Exception as err:  # the controller may still be settling right after start
                last = err
            finally:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await admin.close()
            await asyncio.sleep(0.5)
    raise StackError(f"could not create the topics on {kafka.bootstrap_servers} within {seconds:.0f}s: {last!r}")


async def _partition_counts(admin: object, names: list[str]) -> dict[str, int]:
    described = await admin.describe_topics(names)  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    for topic in described:
        partitions = topic.get("partitions") or []
        if topic.get("error_code", 0) == 0 and all(p.get("leader", -1) >= 0 for p in partitions):
            counts[topic["topic"]] = len(partitions)
    return counts


async def ensure_acls(kafka: KafkaAccess, bindings: Iterable[AclBinding], seconds: float = 30.0) -> int:
    """Create ALLOW ACLs (one CreateAcls request; an existing identical ACL is kept). Returns how many were sent.

    `kafka` must be a super user. aiokafka has no ACL call of its own, so its protocol struct is sent as is.
    """
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import for_code

    creations = [
        (int(b.resource_type), b.resource_name, int(b.pattern), b.kafka_principal, "*", int(b.operation), ALLOW)
        for b in dict.fromkeys(bindings)
    ]
    if not creations:
        return 0
    admin = AIOKafkaAdminClient(**kafka.client_options(), request_timeout_ms=10000, client_id="claimflow-acls")
    try:
        async with asyncio.timeout(seconds):
            await admin.start()
            response = await admin._send_request(_create_acls_request(creations))
        for code, message in response.creation_responses:
            if code:
                raise for_code(code)(f"creating ACLs: {message}")
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await admin.close()
    return len(creations)


ALLOW = 3  # AclPermissionType.ALLOW on the wire


def _create_acls_request(creations: list[tuple[int, str, int, str, str, int, int]]) -> Any:
    """All `creations` in one CreateAcls v1 request (aiokafka's own request carries one)."""
    from aiokafka.protocol.admin import CreateAclsRequest_v1
    from aiokafka.protocol.api import Request

    class CreateMany(Request[CreateAclsRequest_v1]):  # type: ignore[misc]  # aiokafka is untyped here
        API_KEY = 30

        def build(self, request_struct_class: type[CreateAclsRequest_v1]) -> CreateAclsRequest_v1:
            return request_struct_class(creations)

    return CreateMany()
