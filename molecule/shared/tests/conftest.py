"""Shared fixtures: the scenario's variables, the generated credentials and Docker on the server."""

from __future__ import annotations

import base64
import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pymysql
import pytest
import yaml

_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO / "collections", _REPO / "tests" / "support"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
from mlops_clients import mysql_connect

# The services the scenario deployed: all three, or fewer where a scenario deploys part of the server
# (run_server.yml --skip-tags zenml_server,...: MLOPS_TEST_SERVICES=database,minio). Tests marked
# `full_server` need the ZenML server and the provisioned administrator.
SERVICES = tuple(os.environ.get("MLOPS_TEST_SERVICES", "database,minio,zenml").split(","))
FULL_SERVER = "zenml" in SERVICES
full_server = pytest.mark.skipif(
    not FULL_SERVER, reason=f"part of the server deployed (MLOPS_TEST_SERVICES={','.join(SERVICES)})"
)


@pytest.fixture(scope="session")
def stack_vars() -> dict:
    """The scenario's variables, plus overrides a scenario gives as JSON.

    MLOPS_TEST_VARS names one variables file or several separated by ``:`` (group vars, then host vars:
    later files win). MLOPS_TEST_CONNECT is the address the verifier reaches the services at when it is
    not the one they are published on (a VM's ports forwarded to this machine).
    """
    variables: dict = {}
    for path in os.environ["MLOPS_TEST_VARS"].split(os.pathsep):
        with open(path.strip(), encoding="utf-8") as handle:
            variables.update(yaml.safe_load(handle))
    variables.update(json.loads(os.environ.get("MLOPS_TEST_OVERRIDES", "{}")))
    variables.setdefault("mlops_connect_address", os.environ.get("MLOPS_TEST_CONNECT", variables["mlops_bind_address"]))
    ca_file = Path(os.environ["MLOPS_TEST_CREDENTIALS"]) / "tls" / "ca.crt"
    if variables.get("mlops_tls_certificates", "server_ca") != "none" and ca_file.exists():
        variables.setdefault("mlops_test_ca_file", str(ca_file))
    return variables


@pytest.fixture(scope="session")
def credentials_dir() -> Path:
    return Path(os.environ["MLOPS_TEST_CREDENTIALS"])


@pytest.fixture(scope="session")
def secrets(credentials_dir: Path) -> dict[str, str]:
    server = credentials_dir / "server"
    return {path.name: path.read_text(encoding="utf-8").strip() for path in server.iterdir()}


def remote(stack_vars: dict) -> bool:
    """Whether this machine reaches the server from outside (a VM's forwarded ports), not from the server."""
    return stack_vars["mlops_connect_address"] != stack_vars["mlops_bind_address"]


# Root's statements inside the database container, its password from the container's environment into an
# option file there: never on a command line, never in the output.
_ROOT_CLIENT = (
    'umask 077; cnf=/tmp/.verify-root.cnf; printf "[client]\\nuser=root\\npassword=\\"%s\\"\\n" '
    '"${MARIADB_ROOT_PASSWORD:-$MYSQL_ROOT_PASSWORD}" > "$cnf"; '
    '"$(command -v mariadb || command -v mysql)" --defaults-extra-file="$cnf" -N -B; rc=$?; rm -f "$cnf"; exit $rc'
)


@pytest.fixture(scope="module")
def root_sql(host, stack_vars: dict, secrets: dict[str, str]) -> Callable[..., list[tuple[str, ...]]]:
    """Run one statement as the database's root and return its rows as strings.

    Over the network from this machine when it is the server. Root logs in only from the server's own
    addresses, so from outside (the VM scenarios) the statement runs in the database container, as an
    administrator does on a remote server.
    """

    def run(sql: str, args: tuple = ()) -> list[tuple[str, ...]]:
        statement = sql % tuple(pymysql.converters.escape_item(arg, "utf8mb4") for arg in args) if args else sql
        if not remote(stack_vars):
            with mysql_connect(stack_vars, "root", secrets["database_root_password"]) as connection:
                with connection.cursor() as cursor:
                    cursor.execute(statement)
                    rows = cursor.fetchall()
                connection.commit()
            return [tuple("NULL" if value is None else str(value) for value in row) for row in rows]
        encoded = base64.b64encode(statement.encode()).decode()
        database = container_name(stack_vars, "database")
        command = f"echo {encoded} | base64 -d | docker exec -i {database} sh -c {shlex.quote(_ROOT_CLIENT)}"
        output = host.check_output(command)
        return [tuple(line.split("\t")) for line in output.splitlines()]

    return run


def container_name(stack_vars: dict, service: str) -> str:
    return f"{stack_vars['mlops_stack_name']}-{service}"


def inspect(host, name: str) -> dict:
    """``docker inspect`` on the server the scenario deployed."""
    return json.loads(host.check_output(f"docker inspect {name}"))[0]


def health_states(host, stack_vars: dict) -> dict[str, str]:
    states = {}
    for service in SERVICES:
        name = container_name(stack_vars, service)
        result = host.run(f"docker inspect --format '{{{{.State.Health.Status}}}}' {name}")
        states[name] = result.stdout.strip() if result.rc == 0 else "missing"
    return states


def wait_all_healthy(host, stack_vars: dict, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = health_states(host, stack_vars)
        if all(state == "healthy" for state in states.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"containers not healthy after {timeout} s: {states}")
        time.sleep(2)
