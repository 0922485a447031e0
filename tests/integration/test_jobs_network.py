"""CI jobs run on a network of their own (issue 8, item 3), proven from a container on it.

The stack's jobs network (docker role) has inter-container traffic off; the database, the S3 API and ZenML
join it at fixed addresses under their usual names, and DOCKER-USER rules let jobs reach those ports only.
A probe container on that network, as a job would be, checks what answers; a second container stands for
another student's job. Needs the Molecule-deployed stack and the job image.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import DeployedStack

PROBE = r"""
import json, os, socket, sys
import pymysql, requests

def tcp(host, port):
    try:
        with socket.create_connection((host, port), timeout=3):
            return "open"
    except socket.timeout:
        return "timeout"
    except OSError as error:
        return type(error).__name__

def mysql_login(user, password):
    try:
        pymysql.connect(host="database", user=user, password=password, connect_timeout=5).close()
        return "ok"
    except pymysql.err.OperationalError as error:
        return error.args[0]

other = os.environ["OTHER_JOB"]
print(json.dumps({
    "names": {name: socket.gethostbyname(name) for name in ("database", "minio", "zenml")},
    "tcp": {f"{host}:{port}": tcp(host, port) for host, port in (
        ("database", 3306), ("minio", 9000), ("zenml", 8080), ("minio", 9001), (other, 8000))},
    "zenml_health": requests.get("http://zenml:8080/health", timeout=5).status_code,
    "s3_anonymous": requests.get("http://minio:9000/", timeout=5).status_code,
    "root_login": mysql_login("root", os.environ["ROOT_PASSWORD"]),
    "zenml_login": mysql_login("zenml", os.environ["ZENML_DB_PASSWORD"]),
}))
"""


def _docker(*args: str, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@pytest.fixture(scope="module")
def other_job(stack: DeployedStack) -> Iterator[str]:
    """Another student's job on the jobs network, serving HTTP on port 8000."""
    name = f"jobs-net-other-{secrets.token_hex(3)}"
    network = stack.vars["mlops_jobs_network_name"]
    _docker(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        network,
        "--entrypoint",
        "python3",
        stack.vars["mlops_job_image"],
        "-m",
        "http.server",
        "8000",
    )
    try:
        for _ in range(30):
            if "python3" in _docker("top", name):
                break
            time.sleep(0.5)
        yield _docker("inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}', name)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def seen_from_a_job(stack: DeployedStack, other_job: str) -> dict:
    # The passwords reach the container through the docker CLI's environment (`-e NAME`), never argv.
    env = {
        "ROOT_PASSWORD": stack.secrets["database_root_password"],
        "ZENML_DB_PASSWORD": stack.secrets["database_zenml_password"],
        "OTHER_JOB": other_job,
    }
    output = _docker(
        "run",
        "--rm",
        "--network",
        stack.vars["mlops_jobs_network_name"],
        "-e",
        "ROOT_PASSWORD",
        "-e",
        "ZENML_DB_PASSWORD",
        "-e",
        "OTHER_JOB",
        "--entrypoint",
        "python3",
        stack.vars["mlops_job_image"],
        "-c",
        PROBE,
        env=env,
    )
    return json.loads(output.splitlines()[-1])


def test_services_answer_by_name_on_the_jobs_network(stack: DeployedStack, seen_from_a_job: dict) -> None:
    network = json.loads(_docker("network", "inspect", stack.vars["mlops_jobs_network_name"]))[0]
    subnet = network["IPAM"]["Config"][0]["Subnet"]
    prefix = subnet.rsplit(".", 1)[0]
    assert all(address.startswith(prefix) for address in seen_from_a_job["names"].values()), (subnet, seen_from_a_job)
    assert seen_from_a_job["tcp"]["database:3306"] == "open"
    assert seen_from_a_job["tcp"]["minio:9000"] == "open"
    assert seen_from_a_job["tcp"]["zenml:8080"] == "open"
    assert seen_from_a_job["zenml_health"] == 200
    assert seen_from_a_job["s3_anonymous"] == 403


def test_minio_console_and_other_jobs_are_unreachable(seen_from_a_job: dict, other_job: str) -> None:
    assert seen_from_a_job["tcp"]["minio:9001"] != "open"
    assert seen_from_a_job["tcp"][f"{other_job}:8000"] != "open"


def test_jobs_network_has_inter_container_traffic_off(stack: DeployedStack) -> None:
    network = json.loads(_docker("network", "inspect", stack.vars["mlops_jobs_network_name"]))[0]
    assert network["Options"].get("com.docker.network.bridge.enable_icc") == "false"
    assert network["Labels"]["org.onprem-mlops.network"] == "jobs"
    bridge = f"br-{network['Id'][:12]}"
    rules = subprocess.run(["iptables", "-S", "DOCKER-USER"], capture_output=True, text=True, check=True).stdout
    allowed = [line for line in rules.splitlines() if bridge in line and "ACCEPT" in line]
    assert len(allowed) == 3, rules
    assert not any("9001" in line for line in allowed)


def test_admin_accounts_cannot_log_in_from_the_jobs_network(seen_from_a_job: dict) -> None:
    # 1045: access denied. The right password, from the wrong network.
    assert seen_from_a_job["root_login"] == 1045
    assert seen_from_a_job["zenml_login"] == 1045
