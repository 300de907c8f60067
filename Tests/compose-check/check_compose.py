#!/usr/bin/env python3
"""Checks compose/compose.yaml without Docker.

1. Validates it against the official Compose Specification JSON schema (compose-spec.json beside
   this file, vendored unmodified; see NOTICE), with jsonschema and PyYAML.
2. Checks what the schema cannot see:
   - every depends_on target, network, named volume and secret a service uses is declared;
   - every PixEcom service sets the environment variables its executable needs (the list in
     docs/OPERATIONS.md), listens on all interfaces, uses its own certificate, and names peers as
     <compose service>:<that service's RPC port>;
   - *_FILE variables point at a secret the service mounts;
   - services with replicas publish no fixed host port and set no container_name;
   - every long-running PixEcom service has a healthcheck on its admin port;
   - ${VAR} interpolations have defaults; build contexts, Dockerfiles, bind-mounted folders and
     scripts exist.

Usage: python3 Tests/compose-check/check_compose.py [path/to/compose.yaml]
Prints "compose ok" and exits 0 when everything holds; otherwise lists the problems, exits 1.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

try:
    import jsonschema
    import yaml
except ImportError as error:  # pragma: no cover - environment problem
    sys.exit(f"check_compose.py needs PyYAML and jsonschema ({error}); pip install pyyaml jsonschema")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_COMPOSE = ROOT / "compose" / "compose.yaml"
SCHEMA = HERE / "compose-spec.json"

# The executables and the identity (certificate name) of each.
IDENTITY = {
    "AuthService": "auth",
    "CampaignService": "campaign",
    "StatsService": "stats",
    "OrderService": "orders",
    "Edge": "edge",
}

COMMON = ["PIXECOM_TLS_CA", "PIXECOM_TLS_CERT", "PIXECOM_TLS_KEY", "PIXECOM_ADMIN_PORT"]
RPC_SERVER = ["PIXECOM_RPC_HOST", "PIXECOM_RPC_PORT", "PIXECOM_DATABASE_URL"]
# Required variables per executable; a tuple means "one of these".
REQUIRED: dict[str, list] = {
    "AuthService": COMMON + RPC_SERVER + [("PIXECOM_AUTH_TOKEN_HASH_KEY", "PIXECOM_AUTH_TOKEN_HASH_KEY_FILE")],
    "CampaignService": COMMON + RPC_SERVER + ["PIXECOM_AUTH_ADDRESSES", ("PIXECOM_PLATFORM_TOKEN_KEYS", "PIXECOM_PLATFORM_TOKEN_KEYS_FILE")],
    "StatsService": COMMON + RPC_SERVER + ["PIXECOM_AUTH_ADDRESSES", "PIXECOM_CAMPAIGN_ADDRESSES"],
    "OrderService": COMMON + RPC_SERVER + ["PIXECOM_AUTH_ADDRESSES", "PIXECOM_STATS_ADDRESSES"],
    "Edge": COMMON
    + [
        "PIXECOM_HTTP_HOST",
        "PIXECOM_HTTP_PORT",
        "PIXECOM_HTTP_TLS_CERT",
        "PIXECOM_HTTP_TLS_KEY",
        "PIXECOM_AUTH_ADDRESSES",
        "PIXECOM_CAMPAIGN_ADDRESSES",
        "PIXECOM_STATS_ADDRESSES",
        "PIXECOM_ORDERS_ADDRESSES",
    ],
}
# Which executable each peer-address variable must point at.
PEER_VARIABLES = {
    "PIXECOM_AUTH_ADDRESSES": "AuthService",
    "PIXECOM_CAMPAIGN_ADDRESSES": "CampaignService",
    "PIXECOM_STATS_ADDRESSES": "StatsService",
    "PIXECOM_ORDERS_ADDRESSES": "OrderService",
}
ANY_HOST = {"0.0.0.0", "::", "[::]"}


class StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys, as Docker Compose does (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def environment_of(service: dict) -> dict[str, str]:
    """The service's environment as a dict (both the mapping and the list form)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        result = {}
        for item in env:
            key, _, value = str(item).partition("=")
            result[key] = value
        return result
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def names_of(entries) -> list[str]:
    """Names from a short-or-long list (secrets, networks) or a mapping."""
    if entries is None:
        return []
    if isinstance(entries, dict):
        return list(entries)
    return [e if isinstance(e, str) else e.get("source", "") for e in entries]


def executable_of(service: dict) -> str | None:
    command = service.get("command")
    if isinstance(command, str):
        command = command.split()
    if not command:
        return None
    name = os.path.basename(str(command[0]))
    return name if name in IDENTITY else None


def strip_default(value: str) -> str:
    """${VAR:-default} -> default, for values checked below."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)


def validate_schema(document: dict) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        problems.append(f"schema: {where}: {error.message}")
    return problems


def check_references(document: dict, compose_dir: Path, raw_text: str) -> list[str]:
    problems: list[str] = []
    services: dict = document.get("services") or {}
    declared_volumes = set((document.get("volumes") or {}).keys())
    declared_secrets = set((document.get("secrets") or {}).keys())
    declared_networks = set((document.get("networks") or {}).keys()) | {"default"}

    # Interpolations without a default expand to "" (with a warning) when the variable is unset.
    for match in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}", raw_text):
        if not match.group(2).startswith((":-", "-", ":?", "?")):
            problems.append(f"${{{match.group(1)}}} has no default (write ${{{match.group(1)}:-...}})")

    # RPC port of each compose service that runs an RPC executable.
    rpc_port_of: dict[str, str] = {}
    executable_by_service: dict[str, str] = {}
    for name, service in services.items():
        executable = executable_of(service)
        if executable:
            executable_by_service[name] = executable
            if executable != "Edge":
                rpc_port_of[name] = environment_of(service).get("PIXECOM_RPC_PORT", "")

    for name, service in services.items():
        where = f"services.{name}"
        # depends_on
        depends = service.get("depends_on") or {}
        for target in names_of(depends) if isinstance(depends, list) else depends:
            if target not in services:
                problems.append(f"{where}.depends_on: no service named {target!r}")
            elif target == name:
                problems.append(f"{where}.depends_on: depends on itself")
        # networks
        for network in names_of(service.get("networks")):
            if network not in declared_networks:
                problems.append(f"{where}.networks: {network!r} is not declared under networks")
        # secrets
        mounted_secrets = set()
        for secret in names_of(service.get("secrets")):
            mounted_secrets.add(secret)
            if secret not in declared_secrets:
                problems.append(f"{where}.secrets: {secret!r} is not declared under secrets")
        # volumes
        for volume in service.get("volumes") or []:
            if isinstance(volume, str):
                source = volume.split(":", 1)[0] if ":" in volume else None
                kind = "bind" if source and source.startswith((".", "/", "~", "$")) else "volume"
            else:
                source, kind = volume.get("source"), volume.get("type", "volume")
            if not source:
                continue
            if kind == "volume" and source not in declared_volumes:
                problems.append(f"{where}.volumes: named volume {source!r} is not declared under volumes")
            if kind == "bind" and source.startswith(".") and not (compose_dir / source).exists():
                problems.append(f"{where}.volumes: bind source {source!r} does not exist")
        # build
        build = service.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            context_dir = (compose_dir / context).resolve()
            if not context_dir.is_dir():
                problems.append(f"{where}.build.context: {context!r} is not a folder")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            if not (context_dir / dockerfile).is_file():
                problems.append(f"{where}.build.dockerfile: {dockerfile!r} not found in {context_dir}")
        # replicas
        replicas = ((service.get("deploy") or {}).get("replicas")) or service.get("scale") or 1
        try:
            replicas = int(replicas)
        except (TypeError, ValueError):
            problems.append(f"{where}.deploy.replicas: {replicas!r} is not a whole number")
            replicas = 1
        if replicas > 1:
            if "container_name" in service:
                problems.append(f"{where}: container_name with {replicas} replicas")
            for port in service.get("ports") or []:
                published = port.get("published") if isinstance(port, dict) else (str(port).count(":") >= 1)
                if published:
                    problems.append(f"{where}.ports: a fixed host port with {replicas} replicas")

        # *_FILE variables must name a mounted secret.
        env = environment_of(service)
        for key, value in env.items():
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                secret = value[len("/run/secrets/"):]
                if secret not in mounted_secrets:
                    problems.append(f"{where}.environment.{key}: secret {secret!r} is not mounted by this service")

        executable = executable_by_service.get(name)
        if not executable:
            continue
        identity = IDENTITY[executable]

        # Required environment.
        for requirement in REQUIRED[executable]:
            options = requirement if isinstance(requirement, tuple) else (requirement,)
            if not any(env.get(option) for option in options):
                problems.append(f"{where}.environment: {' or '.join(options)} must be set ({executable})")
        # Listening on all interfaces, or other containers cannot connect.
        for key in ("PIXECOM_RPC_HOST", "PIXECOM_HTTP_HOST"):
            if key in env and strip_default(env[key]) not in ANY_HOST:
                problems.append(f"{where}.environment.{key}: {env[key]!r}: listen on 0.0.0.0 in a container")
        admin_host = env.get("PIXECOM_ADMIN_HOST", env.get("PIXECOM_RPC_HOST", "127.0.0.1"))
        if strip_default(admin_host) not in ANY_HOST:
            problems.append(f"{where}.environment: the admin port must listen on 0.0.0.0 (PIXECOM_ADMIN_HOST)")
        # Its own identity.
        for key, suffix in (("PIXECOM_TLS_CERT", ".pem"), ("PIXECOM_TLS_KEY", ".key")):
            value = env.get(key, "")
            if value and os.path.basename(value) != identity + suffix:
                problems.append(f"{where}.environment.{key}: {value!r} is not the {identity} identity ({identity}{suffix})")
        # Peers: host:port lists naming compose services that run the right executable.
        for key, wanted in PEER_VARIABLES.items():
            value = env.get(key)
            if not value:
                continue
            for address in value.split(","):
                host, _, port = address.strip().rpartition(":")
                if host not in services:
                    problems.append(f"{where}.environment.{key}: {address!r}: no service named {host!r}")
                    continue
                if executable_by_service.get(host) != wanted:
                    problems.append(f"{where}.environment.{key}: {host!r} does not run {wanted}")
                if port != rpc_port_of.get(host):
                    problems.append(
                        f"{where}.environment.{key}: {address!r}: {host} listens on port {rpc_port_of.get(host)!r}"
                    )
                if host not in (depends if isinstance(depends, dict) else names_of(depends)):
                    problems.append(f"{where}.depends_on: calls {host} but does not depend on it")
        # Database URL points at a service.
        database_url = env.get("PIXECOM_DATABASE_URL")
        if database_url:
            match = re.match(r"^postgres(?:ql)?://[^@/]+@([^:/]+)(?::(\d+))?/([^/?]+)$", database_url)
            if not match:
                problems.append(f"{where}.environment.PIXECOM_DATABASE_URL: not postgres://user[:pass]@host:port/db")
            elif match.group(1) not in services:
                problems.append(f"{where}.environment.PIXECOM_DATABASE_URL: no service named {match.group(1)!r}")
        # Healthcheck on the admin port.
        healthcheck = service.get("healthcheck") or {}
        test = healthcheck.get("test")
        test_text = " ".join(test) if isinstance(test, list) else str(test or "")
        admin_port = strip_default(env.get("PIXECOM_ADMIN_PORT", ""))
        if healthcheck.get("disable") or not test_text:
            problems.append(f"{where}: no healthcheck")
        elif admin_port and f":{admin_port}/" not in test_text:
            problems.append(f"{where}.healthcheck: does not probe the admin port {admin_port}")

    # An image that is never pulled must be built by a service this one (transitively) depends on,
    # so that `docker compose up <service>` builds it first.
    builders = {svc.get("image"): name for name, svc in services.items() if svc.get("build") and svc.get("image")}

    def dependencies(name: str, seen: set[str]) -> set[str]:
        depends = (services.get(name) or {}).get("depends_on") or {}
        for target in names_of(depends) if isinstance(depends, list) else list(depends):
            if target not in seen and target in services:
                seen.add(target)
                dependencies(target, seen)
        return seen

    for name, service in services.items():
        if service.get("build") or service.get("pull_policy") != "never":
            continue
        builder = builders.get(service.get("image"))
        if builder is None:
            problems.append(f"services.{name}: pull_policy never, but no service builds {service.get('image')!r}")
        elif builder not in dependencies(name, set()):
            problems.append(f"services.{name}: uses the image built by {builder} but does not depend on it")

    # Every declared secret file and the scripts the compose file runs.
    for name, secret in (document.get("secrets") or {}).items():
        file = (secret or {}).get("file")
        if file and not (compose_dir / file).resolve().is_relative_to((compose_dir / "secrets").resolve()):
            problems.append(f"secrets.{name}.file: {file!r} should live in compose/secrets/ (never committed)")
    for script in ("initdb/10-service-dbs.sh", "entrypoint.sh", "../scripts/make-certs.sh", "../scripts/compose-secrets.sh"):
        path = compose_dir / script
        if not path.is_file():
            problems.append(f"{script}: missing")
        elif not os.access(path, os.X_OK):
            problems.append(f"{script}: not executable")
    return problems


def main(argv: list[str]) -> int:
    compose_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_COMPOSE
    raw_text = compose_path.read_text()
    try:
        document = yaml.load(raw_text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        print(f"{compose_path}: not valid YAML: {error}")
        return 1
    if not isinstance(document, dict):
        print(f"{compose_path}: not a mapping")
        return 1
    # Extension fields (x-...) are YAML anchors only; the schema allows them, the checks skip them.
    problems = validate_schema(document)
    problems += check_references(document, compose_path.resolve().parent, raw_text)
    if problems:
        for problem in problems:
            print(f"{compose_path}: {problem}")
        print(f"{len(problems)} problem(s)")
        return 1
    print("compose ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
