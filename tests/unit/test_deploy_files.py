"""Deployment files checked without Docker or Kubernetes: Dockerfile, docker-compose.yml, deploy/.

The files are parsed (PyYAML) and their properties asserted against the code they deploy:
the services under services/, the topics of shared.messaging.topics, the packages of pyproject.toml.
When a `docker compose` client is installed, `docker compose config` validates the compose file too.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from cli.stack.postgres import WRITE_LOAD_SETTINGS
from shared.messaging.principals import PRINCIPALS, acl_script_lines
from shared.messaging.topics import all_topic_names

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE_FILE = ROOT / "docker-compose.yml"
OTEL_CONFIG = ROOT / "deploy" / "otel-collector.yaml"
K8S_DIR = ROOT / "deploy" / "kubernetes"
SECRET_TEMPLATE = K8S_DIR / "secret.template.yaml"

SERVICES = sorted(path.parent.name for path in (ROOT / "services").glob("*/app.py"))
EXPECTED_TOPICS = dict(all_topic_names())
SERVICE_COMMAND = "uvicorn services.{name}.app:app --host 0.0.0.0 --port 8000"

TOPIC_LINE = re.compile(r"^\s*create\s+(\S+)\s+(\d+)\s*$", re.MULTILINE)
ACL_LINE = re.compile(r"^\s*(allow \S+ \".*)$", re.MULTILINE)
ENV_PLACEHOLDER = re.compile(r"^\$\{[A-Z][A-Z0-9_]*\}$")
COMPOSE_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"password|passwd|secret|token|api[_-]?key|private[_-]?key|credential", re.IGNORECASE)
URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:(?P<password>[^@\s]+)@")
SECRET_SHAPES = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\."),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "API key": re.compile(r"\bsk-[A-Za-z0-9]{20,}"),
}
DEV_DEFAULT_PREFIX = "dev-only-"


# --- loading ------------------------------------------------------------------------------


def _load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def compose_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())


@pytest.fixture(scope="module")
def manifests(kustomization: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object `kubectl apply -k deploy/kubernetes` would apply."""
    documents: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        documents.extend(_load_yaml_documents(K8S_DIR / resource))
    return documents


def _objects(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    found = [doc for doc in manifests if doc["kind"] == kind]
    names = [doc["metadata"]["name"] for doc in found]
    assert len(names) == len(set(names)), f"duplicate {kind} names: {names}"
    return {doc["metadata"]["name"]: doc for doc in found}


def _pod_templates(manifests: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]
        for doc in manifests
        if doc["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet")
    }


def _command_line(command: Any) -> str:
    return command if isinstance(command, str) else shlex.join(command)


def _topics_created_by(script: str) -> dict[str, int]:
    assert "/opt/kafka/bin/kafka-topics.sh" in script
    assert "--create" in script and "--if-not-exists" in script
    pairs = TOPIC_LINE.findall(script)
    created = {name: int(partitions) for name, partitions in pairs}
    assert len(created) == len(pairs), f"a topic is created twice: {pairs}"
    return created


def _cpu(quantity: str | int | float) -> float:
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def _memory(quantity: str | int) -> int:
    text = str(quantity)
    for suffix, factor in _MEMORY_UNITS.items():
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * factor)
    return int(text)


# --- the code being deployed ----------------------------------------------------------------


def test_services_are_discovered_and_match_the_cli() -> None:
    from cli.services import SERVICE_NAMES

    assert len(SERVICES) >= 5
    assert set(SERVICES) == set(SERVICE_NAMES)


# --- Dockerfile -----------------------------------------------------------------------------


def test_dockerfile_builds_the_locked_runtime_set_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    arguments = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    bases = [arguments.get(base.strip("${}"), base) for base in re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)]
    assert len(bases) >= 2, "multi-stage build expected"
    assert all(base.startswith("python:3.11-slim") for base in bases), bases
    assert re.search(r"pip install \"?uv==0\.13\.9\"?", text)
    assert "uv sync --frozen --no-dev" in text
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users, "the image must not run as root"
    final_user = users[-1].split(":")[0]
    assert final_user not in ("root", "0")
    last_stage = text.rsplit("\nFROM ", 1)[1]
    assert "USER" in last_stage, "USER must be set in the runtime stage"


def test_dockerfile_copies_every_wheel_package_and_dockerignore_lets_them_in() -> None:
    text = DOCKERFILE.read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = {
        source.rstrip("/")
        for line in re.findall(r"^COPY\s+(?!--from)(.+)$", text, flags=re.MULTILINE)
        for source in line.split()[:-1]
    }
    assert set(packages) <= copied, f"packages missing from the image: {set(packages) - copied}"
    assert {"pyproject.toml", "uv.lock", pyproject["project"]["readme"]} <= copied

    rules = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", ".dockerignore is an allow-list"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert copied <= allowed, f"COPY sources excluded by .dockerignore: {copied - allowed}"
    assert not allowed & {".env", ".venv", ".git", ".local", "tests"}
    for path in copied:
        assert (ROOT / path).exists(), path


# --- docker-compose.yml ---------------------------------------------------------------------


def _gateway_ports(compose_services: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Service -> the host port the compose gateway publishes for it (its nginx `listen` in front of
    `proxy_pass http://<service>:8000`)."""
    gateway = compose_services["gateway"]
    (mount,) = gateway["volumes"]
    source, target, mode = mount.split(":")
    assert target == "/etc/nginx/nginx.conf" and mode == "ro"
    config = (ROOT / source).read_text()
    servers = re.findall(
        r"listen (\d+);\s*location / \{\s*set \$service (\w+);\s*proxy_pass http://\$service:8000;", config
    )
    published = {}
    for port in gateway["ports"]:
        host_ip, host_port, container_port = str(port).split(":")
        assert host_ip == "127.0.0.1" and host_port == container_port
        published[int(host_port)] = True
    ports = {name: int(port) for port, name in servers}
    assert len(ports) == len(servers) and set(ports.values()) == set(published)
    return ports


def test_compose_runs_every_service_from_the_dockerfile(compose_services: dict[str, dict[str, Any]]) -> None:
    gateway_ports = _gateway_ports(compose_services)
    assert set(gateway_ports) == set(SERVICES)
    host_ports = []
    for name in SERVICES:
        assert name in compose_services, f"no compose service for {name}"
        service = compose_services[name]
        assert service["build"]["context"] == "."
        assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
        assert _command_line(service["command"]) == SERVICE_COMMAND.format(name=name)
        assert str(service.get("user", "")).split(":")[0] not in ("", "0", "root")
        assert service.get("read_only") is True
        assert "ports" not in service, f"{name}: its replicas cannot share a host port; the gateway publishes it"
        assert [str(port) for port in service["expose"]] == ["8000"]
        host_ports.append(gateway_ports[name])
        assert "/readyz" in _command_line(service["healthcheck"]["test"])
        depends_on = service["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy"
        assert depends_on["kafka"]["condition"] == "service_healthy"
        assert depends_on["provision"]["condition"] == "service_completed_successfully"
        assert depends_on["topics"]["condition"] == "service_completed_successfully"
    assert sorted(host_ports) == list(range(8001, 8001 + len(SERVICES)))


def test_compose_runs_replicas_of_every_service_claims_two_by_default(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    """`deploy.replicas` per service from CLAIMFLOW_<SERVICE>_REPLICAS, as `claimflow up --replicas` takes them,
    within the partitions of the topics they consume."""
    partitions = min(
        EXPECTED_TOPICS[name] for name in EXPECTED_TOPICS if not name.endswith(".dlt") and EXPECTED_TOPICS[name] > 1
    )
    defaults = {}
    for name in SERVICES:
        replicas = COMPOSE_INTERPOLATION.fullmatch(str(compose_services[name]["deploy"]["replicas"]))
        assert replicas is not None and replicas["name"] == f"CLAIMFLOW_{name.upper()}_REPLICAS"
        assert replicas["op"] == ":-"
        defaults[name] = int(replicas["arg"])
        assert 1 <= defaults[name] <= partitions
    assert defaults["claims"] == 2
    assert compose_services["gateway"]["read_only"] is True
    assert set(compose_services["gateway"]["depends_on"]) == set(SERVICES)


def test_compose_services_connect_as_their_own_role_with_the_provisioned_password(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    provision = compose_services["provision"]
    assert _command_line(provision["command"]) == "claimflow db provision"
    assert provision["depends_on"]["postgres"]["condition"] == "service_healthy"
    provision_env = provision["environment"]
    assert urlsplit(provision_env["CLAIMFLOW_ADMIN_DATABASE_URL"]).scheme == "postgresql"
    auth_secrets = set()
    for name in SERVICES:
        env = compose_services[name]["environment"]
        url = urlsplit(env["CLAIMFLOW_DATABASE_URL"])
        assert url.scheme == "postgresql+asyncpg"
        assert url.username == name, "each service connects as the role named like it"
        assert (url.hostname, url.port, url.path) == ("postgres", 5432, "/claimflow")
        assert url.password == provision_env[f"CLAIMFLOW_{name.upper()}_DB_PASSWORD"]
        assert env["CLAIMFLOW_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["CLAIMFLOW_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
        assert env["CLAIMFLOW_KAFKA_SASL_USERNAME"] == name, "each service is its own Kafka principal"
        kafka_env = compose_services["kafka"]["environment"]
        assert env["CLAIMFLOW_KAFKA_SASL_PASSWORD"] == kafka_env[f"KAFKA_{name.upper()}_PASSWORD"]
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        auth_secrets.add(env["CLAIMFLOW_AUTH_SECRET"])
    assert len(auth_secrets) == 1, "all services share one signing secret"
    default = COMPOSE_INTERPOLATION.fullmatch(auth_secrets.pop())
    assert default and default["op"] == ":-" and len(default["arg"]) >= 32


def test_compose_kafka_is_a_single_kraft_node_of_kafka_4(compose_services: dict[str, dict[str, Any]]) -> None:
    kafka = compose_services["kafka"]
    repository, tag = kafka["image"].rsplit(":", 1)
    assert repository == "apache/kafka"
    assert int(tag.split(".")[0]) == 4
    env = {key: str(value) for key, value in kafka["environment"].items()}
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert "BROKER://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # no anonymous listener: SASL everywhere, SCRAM for clients, ACLs checked, nothing allowed without one
    assert set(re.findall(r":(\w+)", env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"])) == {"SASL_PLAINTEXT"}
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    script = _command_line(kafka["command"])
    for principal in ("admin", *(p.name for p in PRINCIPALS)):
        assert f'--add-scram "SCRAM-SHA-512=[name={principal},' in script, f"no SCRAM user {principal}"
        assert f"KAFKA_{principal.upper()}_PASSWORD" in env
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key
    assert kafka["healthcheck"]["test"]


def test_compose_postgres_18_with_a_healthcheck(compose_services: dict[str, dict[str, Any]]) -> None:
    postgres = compose_services["postgres"]
    assert postgres["image"] == "postgres:18"
    assert "pg_isready" in _command_line(postgres["healthcheck"]["test"])
    # Postgres 18 images refuse a volume at the pre-18 path /var/lib/postgresql/data.
    assert any(str(volume).endswith(":/var/lib/postgresql") for volume in postgres["volumes"])


def _postgres_settings(lines: list[str]) -> dict[str, str]:
    return {key.strip(): value.strip().strip("'") for key, _, value in (line.partition("=") for line in lines)}


def test_postgres_runs_with_the_write_load_settings_and_durability_on(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    """Compose and the local stack give Postgres room for claimflow's WAL (no forced checkpoints in a 100k run,
    the remaining full-page images compressed) and never trade durability for it."""
    command = [str(part) for part in compose_services["postgres"]["command"]]
    assert command[0] == "postgres"
    compose = _postgres_settings([part for part in command[1:] if part != "-c"])
    stack_lines = [line.split("#")[0] for line in WRITE_LOAD_SETTINGS.splitlines() if line.split("#")[0].strip()]
    stack = _postgres_settings(stack_lines)
    for settings in (compose, stack):
        assert settings["max_wal_size"] == "4GB"
        assert settings["checkpoint_timeout"] == "15min"
        assert settings["shared_buffers"] == "512MB"
        assert settings["wal_compression"] in {"lz4", "on"}
        assert not {"fsync", "synchronous_commit", "full_page_writes"} & set(settings)


def test_compose_otel_collector_is_pinned_and_exports_to_debug(compose_services: dict[str, dict[str, Any]]) -> None:
    collector = compose_services["otel-collector"]
    repository, tag = collector["image"].rsplit(":", 1)
    assert repository.startswith("otel/opentelemetry-collector")
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), "pin the collector version"
    assert any(str(volume).startswith("./deploy/otel-collector.yaml:") for volume in collector["volumes"])

    config = yaml.safe_load(OTEL_CONFIG.read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert "debug" in config["exporters"]
    pipelines = config["service"]["pipelines"]
    assert "traces" in pipelines
    for pipeline in pipelines.values():
        assert pipeline["receivers"] == ["otlp"]
        assert "debug" in pipeline["exporters"]
        assert set(pipeline.get("processors", [])) <= set(config.get("processors", {}))


def test_compose_topics_one_shot_creates_exactly_the_topics(compose_services: dict[str, dict[str, Any]]) -> None:
    topics = compose_services["topics"]
    assert topics["image"] == compose_services["kafka"]["image"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert _topics_created_by(_command_line(topics["command"])) == EXPECTED_TOPICS


def test_compose_topics_one_shot_grants_exactly_the_principals_acls(
    compose_services: dict[str, dict[str, Any]],
) -> None:
    script = _command_line(compose_services["topics"]["command"])
    assert "kafka-acls.sh" in script and "--command-config" in script
    assert ACL_LINE.findall(script) == acl_script_lines()


# --- Kubernetes -----------------------------------------------------------------------------


def test_kustomization_applies_every_manifest_but_the_secret_template(kustomization: dict[str, Any]) -> None:
    files = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    resources = set(kustomization["resources"])
    assert SECRET_TEMPLATE.name not in resources, "the template must never be applied as is"
    assert resources == files - {SECRET_TEMPLATE.name}
    assert kustomization["namespace"] == "claimflow"


def test_kubernetes_topics_job_creates_exactly_the_topics(manifests: list[dict[str, Any]]) -> None:
    jobs = _objects(manifests, "Job")
    topic_jobs = [
        job
        for job in jobs.values()
        if any(
            "kafka-topics.sh" in _command_line(c.get("args", [])) for c in job["spec"]["template"]["spec"]["containers"]
        )
    ]
    assert len(topic_jobs) == 1
    (container,) = topic_jobs[0]["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("apache/kafka:4.")
    assert _topics_created_by(_command_line(container["args"])) == EXPECTED_TOPICS


def test_kubernetes_topics_job_creates_the_principals_and_their_acls(manifests: list[dict[str, Any]]) -> None:
    (job,) = [j for j in _objects(manifests, "Job").values() if "topics" in j["metadata"]["name"]]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    script = _command_line(container["args"])
    assert ACL_LINE.findall(script) == acl_script_lines()
    users = re.findall(r"^\s*user (\S+) ", script, re.MULTILINE)
    assert users == [p.name for p in PRINCIPALS]
    env = {e["name"]: e for e in container["env"]}
    for name in ("admin", *users):
        assert env[f"KAFKA_{name.upper()}_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == (
            f"CLAIMFLOW_KAFKA_{name.upper()}_PASSWORD"
        )


def test_kubernetes_services_are_their_own_kafka_principals(manifests: list[dict[str, Any]]) -> None:
    (config,) = _objects(manifests, "ConfigMap").values()
    assert config["data"]["CLAIMFLOW_KAFKA_SECURITY_PROTOCOL"] in ("SASL_SSL", "SASL_PLAINTEXT")
    assert config["data"]["CLAIMFLOW_ENVIRONMENT"] == "production"
    assert config["data"]["CLAIMFLOW_OIDC_JWKS_URL"].startswith("https://"), "production takes OIDC tokens only"
    deployments = _objects(manifests, "Deployment")
    for name in SERVICES:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e for e in container["env"]}
        assert env["CLAIMFLOW_KAFKA_SASL_USERNAME"]["value"] == name
        assert env["CLAIMFLOW_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == (
            f"CLAIMFLOW_KAFKA_{name.upper()}_PASSWORD"
        )


def test_kubernetes_provision_job_gets_every_service_password(manifests: list[dict[str, Any]]) -> None:
    jobs = _objects(manifests, "Job")
    provision = [
        job
        for job in jobs.values()
        if _command_line(job["spec"]["template"]["spec"]["containers"][0].get("command", []))
        == "claimflow db provision"
    ]
    assert len(provision) == 1
    env = {item["name"]: item for item in provision[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    for name in SERVICES:
        assert env[f"CLAIMFLOW_{name.upper()}_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "claimflow-secrets"
    assert "secretKeyRef" in env["CLAIMFLOW_ADMIN_DATABASE_URL"]["valueFrom"]


def test_every_service_has_a_deployment_service_and_disruption_budget(manifests: list[dict[str, Any]]) -> None:
    deployments = _objects(manifests, "Deployment")
    services = _objects(manifests, "Service")
    budgets = _objects(manifests, "PodDisruptionBudget")
    for name in SERVICES:
        assert name in deployments, f"no Deployment for {name}"
        deployment = deployments[name]
        template = deployment["spec"]["template"]
        pod_labels = template["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        assert deployment["spec"]["replicas"] >= 1

        (container,) = template["spec"]["containers"]
        assert container["image"] == "claimflow"
        assert _command_line(container["command"]) == SERVICE_COMMAND.format(name=name)
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
            http = container[probe]["httpGet"]
            assert http["path"] == path, f"{name} {probe}"
            assert ports.get(http["port"], http["port"]) == 8000, f"{name} {probe} port"

        env = {item["name"]: item for item in container["env"]}
        url = urlsplit(env["CLAIMFLOW_DATABASE_URL"]["value"])
        assert url.scheme == "postgresql+asyncpg" and url.username == name
        assert url.password == "$(DB_PASSWORD)"
        password_ref = env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password_ref == {"name": "claimflow-secrets", "key": f"CLAIMFLOW_{name.upper()}_DB_PASSWORD"}
        assert env["CLAIMFLOW_AUTH_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "claimflow-secrets"
        assert env["CLAIMFLOW_PHI_KEKS"]["valueFrom"]["secretKeyRef"] == {
            "name": "claimflow-secrets",
            "key": "CLAIMFLOW_PHI_KEKS",
        }, f"{name} refuses to start outside development without its PHI keys"
        names = [item["name"] for item in container["env"]]
        assert names.index("DB_PASSWORD") < names.index("CLAIMFLOW_DATABASE_URL"), "$(VAR) needs VAR defined first"

        service = services[name]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= set(ports) | set(ports.values())

        budget = budgets[name]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        if deployment["spec"]["replicas"] == 1:
            assert "minAvailable" not in budget["spec"], "minAvailable on one replica blocks every node drain"


def test_consumers_never_get_more_replicas_than_partitions(manifests: list[dict[str, Any]]) -> None:
    import importlib

    deployments = _objects(manifests, "Deployment")
    autoscalers = {
        hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in _objects(manifests, "HorizontalPodAutoscaler").values()
    }
    for name in SERVICES:
        subscriptions = importlib.import_module(f"services.{name}.handlers").SUBSCRIPTIONS
        topics = {topic for subscription in subscriptions for topic in subscription.topics}
        if not topics:
            continue
        partitions = min(EXPECTED_TOPICS[topic] for topic in topics)
        most = (
            autoscalers[name]["spec"]["maxReplicas"] if name in autoscalers else deployments[name]["spec"]["replicas"]
        )
        assert most <= partitions, f"{name}: {most} replicas for {partitions} partitions"


def test_claims_scales_with_a_horizontal_pod_autoscaler(manifests: list[dict[str, Any]]) -> None:
    deployments = _objects(manifests, "Deployment")
    (hpa,) = [
        hpa
        for hpa in _objects(manifests, "HorizontalPodAutoscaler").values()
        if hpa["spec"]["scaleTargetRef"]["name"] == "claims"
    ]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert hpa["spec"]["minReplicas"] == deployments["claims"]["spec"]["replicas"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    assert hpa["spec"]["metrics"], "scale on a metric"


def test_every_pod_runs_non_root_read_only_with_resource_limits(manifests: list[dict[str, Any]]) -> None:
    templates = _pod_templates(manifests)
    assert len(templates) >= len(SERVICES) + 2
    for where, template in templates.items():
        pod = template["spec"]
        pod_security = pod.get("securityContext", {})
        assert pod.get("automountServiceAccountToken") is False, where
        for container in pod.get("initContainers", []) + pod["containers"]:
            security = {**pod_security, **container.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, where
            assert security.get("runAsUser", 1) != 0, where
            assert security.get("readOnlyRootFilesystem") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            assert "ALL" in security.get("capabilities", {}).get("drop", []), where
            assert security.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
            resources = container["resources"]
            for kind in ("cpu", "memory"):
                assert kind in resources["requests"] and kind in resources["limits"], f"{where} {kind}"
            assert _cpu(resources["requests"]["cpu"]) <= _cpu(resources["limits"]["cpu"]), where
            assert _memory(resources["requests"]["memory"]) <= _memory(resources["limits"]["memory"]), where


def test_service_pods_request_and_limit_as_planned(manifests: list[dict[str, Any]]) -> None:
    for name in SERVICES:
        (container,) = _objects(manifests, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
        resources = container["resources"]
        assert _cpu(resources["requests"]["cpu"]) == 0.1
        assert _memory(resources["requests"]["memory"]) == 256 * 2**20
        assert _cpu(resources["limits"]["cpu"]) == 1
        assert _memory(resources["limits"]["memory"]) == 512 * 2**20


def test_secret_template_has_placeholders_only_and_every_referenced_key(manifests: list[dict[str, Any]]) -> None:
    (secret,) = _load_yaml_documents(SECRET_TEMPLATE)
    assert secret["kind"] == "Secret"
    assert "data" not in secret, "base64 data would hide real values"
    values = secret["stringData"]
    for key, value in values.items():
        assert ENV_PLACEHOLDER.fullmatch(str(value)) and value == f"${{{key}}}", f"{key} must be a placeholder"
    assert "create it from the environment" in SECRET_TEMPLATE.read_text().lower() or "envsubst" in (
        SECRET_TEMPLATE.read_text()
    )

    referenced = set()

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if isinstance(ref, dict) and ref.get("name") == secret["metadata"]["name"]:
                referenced.add(ref["key"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(manifests)
    assert referenced, "the manifests read their secrets from the Secret"
    assert referenced <= set(values), f"keys missing from the template: {referenced - set(values)}"
    assert not any(doc["kind"] == "Secret" for doc in manifests), "no Secret is applied from the repository"


# --- no secrets -----------------------------------------------------------------------------


def _deploy_files() -> list[Path]:
    files = [DOCKERFILE, DOCKERIGNORE, COMPOSE_FILE, *sorted((ROOT / "deploy").rglob("*"))]
    return [path for path in files if path.is_file() and path.suffix not in (".jar",)]


def _allowed_secret_value(value: str) -> bool:
    """An interpolation of the environment: ${VAR}, ${VAR:?msg}, ${VAR:-dev-only-...}, or k8s $(VAR)."""
    if re.fullmatch(r"\$\([A-Z][A-Z0-9_]*\)", value):
        return True
    match = COMPOSE_INTERPOLATION.fullmatch(value)
    if not match:
        return False
    return match["op"] in (None, "?", ":?") or match["arg"].startswith(DEV_DEFAULT_PREFIX)


def _secret_like_values(node: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        # Kubernetes env entries: {name: SOME_SECRET, value: ...}
        if (
            isinstance(node.get("name"), str)
            and SECRET_NAME.search(node["name"])
            and isinstance(node.get("value"), str)
        ):
            found.append((f"{path}.{node['name']}", node["value"]))
        for key, value in node.items():
            if (
                isinstance(key, str)
                and SECRET_NAME.search(key)
                and isinstance(value, str | int)
                and not isinstance(value, bool)
            ):
                found.append((f"{path}.{key}", str(value)))
            found.extend(_secret_like_values(value, f"{path}.{key}"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_secret_like_values(value, f"{path}[{index}]"))
    return found


@pytest.mark.parametrize("path", _deploy_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_file_contains_a_real_secret(path: Path) -> None:
    text = path.read_text()
    for shape, pattern in SECRET_SHAPES.items():
        assert not pattern.search(text), f"{shape} in {path.name}"
    for match in URL_CREDENTIALS.finditer(text):
        assert _allowed_secret_value(match["password"]), f"password in a URL in {path.name}: {match.group(0)}"
    for match in COMPOSE_INTERPOLATION.finditer(text):
        if SECRET_NAME.search(match["name"]) and match["op"] in ("-", ":-"):
            assert match["arg"].startswith(DEV_DEFAULT_PREFIX), f"default of {match['name']} must be dev-only"
    if path.suffix in (".yaml", ".yml"):
        for where, value in _secret_like_values(_load_yaml_documents(path)):
            assert _allowed_secret_value(value), f"{path.name}{where} holds a literal secret"
    if path == DOCKERFILE:
        for name in re.findall(r"^(?:ENV|ARG)\s+(\w+)", text, flags=re.MULTILINE):
            assert not SECRET_NAME.search(name), f"no secret belongs in the image: {name}"


# --- docker compose, when a client is installed ---------------------------------------------


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60).returncode == 0:
        return [docker, "compose"]
    return None


def _compose_environment() -> dict[str, str]:
    """The caller's environment without anything that would fill the compose file's variables."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CLAIMFLOW_", "POSTGRES_", "COMPOSE_", "OTEL_"))
    }


def test_docker_compose_config_validates_without_env_file() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no `docker compose` client installed")
    base = [*client, "--project-directory", str(ROOT), "--env-file", os.devnull, "-f", str(COMPOSE_FILE)]
    env = _compose_environment()
    quiet = subprocess.run([*base, "config", "-q"], capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 0, quiet.stderr

    rendered = subprocess.run(
        [*base, "config", "--format", "json"], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    services = json.loads(rendered.stdout)["services"]
    provision = services["provision"]["environment"]
    for name in SERVICES:
        env_of = services[name]["environment"]
        assert len(env_of["CLAIMFLOW_AUTH_SECRET"]) >= 32, "the services refuse a shorter signing secret"
        url = urlsplit(env_of["CLAIMFLOW_DATABASE_URL"])
        assert url.password == provision[f"CLAIMFLOW_{name.upper()}_DB_PASSWORD"]
        assert url.password.startswith(DEV_DEFAULT_PREFIX)


# --- Grafana dashboard and Prometheus alert rules --------------------------------------------

GRAFANA_DASHBOARD = ROOT / "deploy" / "grafana" / "claimflow-pipeline.json"
PROMETHEUS_ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
METRIC_NAME = re.compile(r"\b(claimflow_[a-z0-9_]+|up)\b")
MONITORED = {
    "throughput per topic": "claimflow_events_published_total",
    "consumer lag": "claimflow_consumer_lag",
    "outbox backlog": "claimflow_outbox_backlog",
    "outbox age": "claimflow_outbox_oldest_age_seconds",
    "dead letters": "claimflow_dead_letters_total",
    "claims by state": "claimflow_claims_by_state",
    "error rates": "claimflow_http_request_duration_seconds_count",
}


def _exported_metric_names() -> set[str]:
    """Every sample name the services can expose, from the metric objects the code registers."""
    import prometheus_client

    import services.claims.metrics
    import shared.periodic
    import shared.telemetry.metrics  # registers the shared metrics

    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}
    names = {"up"}
    for family in prometheus_client.REGISTRY.collect():
        if family.name.startswith("claimflow_"):
            names.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    assert services.claims.metrics.CLAIMS_BY_STATE and shared.periodic.PERIODIC_RUNS
    return names


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_grafana_dashboard_queries_only_exported_metrics_and_covers_the_pipeline() -> None:
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))
    exprs = _dashboard_exprs()
    referenced = {name for expr in exprs for name in METRIC_NAME.findall(expr)}
    assert referenced <= _exported_metric_names(), referenced - _exported_metric_names()
    missing = {what for what, metric in MONITORED.items() if metric not in referenced}
    assert not missing, f"the dashboard shows nothing for {missing}"
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}" and panel["targets"], panel["title"]


def test_prometheus_alert_rules_are_well_formed_and_use_exported_metrics() -> None:
    rules = yaml.safe_load(PROMETHEUS_ALERTS.read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    names = [alert["alert"] for alert in alerts]
    assert len(names) == len(set(names))
    exported = _exported_metric_names()
    referenced: set[str] = set()
    for alert in alerts:
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}, alert["alert"]
        assert alert["labels"]["severity"] in {"page", "warning", "ticket"}
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
        assert re.fullmatch(r"\d+[smh]", alert.get("for", "0s")), alert["alert"]
        assert alert["expr"].count("(") == alert["expr"].count(")"), alert["alert"]
        referenced.update(METRIC_NAME.findall(alert["expr"]))
    assert referenced <= exported, referenced - exported
    covered = {what for what, metric in MONITORED.items() if metric in referenced}
    assert covered >= {"consumer lag", "outbox age", "dead letters", "error rates", "claims by state"}
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert config["rule_files"] == ["alerts.yaml"]
    (job,) = config["scrape_configs"]
    targets = job["static_configs"][0]["targets"]
    assert sorted(target.split(":")[0] for target in targets) == SERVICES
