"""After restarting every container, then the Docker daemon, the stack is healthy and has kept its data.

With MLOPS_TEST_REBOOT=1 (a scenario whose server is a throw-away VM) the server is also rebooted.
Runs last (file name): it restarts everything the other tests use.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from pathlib import Path

import pytest
from conftest import FULL_SERVER, SERVICES, container_name, wait_all_healthy
from mlops_clients import ZenMLSession, s3_client

MARK = uuid.uuid4().hex[:12]
REPO = Path(__file__).resolve().parents[3]
BOOT_ID = "cat /proc/sys/kernel/random/boot_id"


def _restart_docker_daemon(host) -> None:
    command = os.environ.get("MLOPS_TEST_DOCKERD_RESTART")
    if command:
        host.run_expect([0], command)
    elif host.file("/run/systemd/system").is_directory:
        host.run_expect([0], "systemctl restart docker")
    else:
        host.run_expect([0], str(REPO / "scripts" / "dockerd.sh") + " restart")


def _reboot(host, timeout: float = 900) -> None:
    """Reboot the server and wait until it answers again with a new boot ID."""
    before = host.check_output(BOOT_ID)
    # Through a timer, so that the command returns before the connection goes down.
    host.run_expect([0], "systemd-run --on-active=2 --unit=mlops-test-reboot /bin/systemctl reboot")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(10)
        try:
            result = host.run(BOOT_ID)
        except RuntimeError:  # ssh itself failed (exit status 255): the server is still down
            continue
        if result.rc == 0 and result.stdout.strip() not in ("", before):
            return
    raise AssertionError(f"the server did not come back within {timeout} s")


def _write_data(stack_vars, secrets, root_sql) -> None:
    root_sql("CREATE DATABASE IF NOT EXISTS persistence_check")
    root_sql("CREATE TABLE IF NOT EXISTS persistence_check.marks (mark VARCHAR(32) PRIMARY KEY)")
    root_sql("INSERT INTO persistence_check.marks VALUES (%s)", (MARK,))
    minio = s3_client(stack_vars, "root", secrets["minio_root_password"])
    minio.put_object("shared", f"persistence-check/{MARK}", io.BytesIO(MARK.encode()), len(MARK))
    if not FULL_SERVER:
        return
    zenml = ZenMLSession(stack_vars, "root", secrets["zenml_admin_password"])
    zenml.create_stack_from_defaults(f"persist-{MARK}")


def _assert_data_kept(stack_vars, secrets, root_sql) -> None:
    assert root_sql("SELECT COUNT(*) FROM persistence_check.marks WHERE mark = %s", (MARK,)) == [("1",)]
    minio = s3_client(stack_vars, "root", secrets["minio_root_password"])
    assert minio.get_object("shared", f"persistence-check/{MARK}").read() == MARK.encode()
    if not FULL_SERVER:
        return
    zenml = ZenMLSession(stack_vars, "root", secrets["zenml_admin_password"])
    assert f"persist-{MARK}" in zenml.stack_names()


def _docker_user_rules(host, stack_vars) -> list[str]:
    """The stack's rules in DOCKER-USER: its jobs network's, and its firewall allow-list's when one is set."""
    listing = host.check_output("iptables -w -S DOCKER-USER")
    return [line for line in listing.splitlines() if f'--comment "{stack_vars["mlops_stack_name"]} ' in line]


@pytest.fixture(scope="module")
def written(stack_vars, secrets, root_sql):
    _write_data(stack_vars, secrets, root_sql)
    return True


@pytest.fixture(scope="module")
def docker_user_rules_before(host, stack_vars) -> list[str]:
    rules = _docker_user_rules(host, stack_vars)
    assert rules, "the stack has no DOCKER-USER rules to watch"
    return rules


def test_data_survives_container_restarts(host, stack_vars, secrets, written, root_sql):
    for service in SERVICES:
        host.run_expect([0], f"docker restart {container_name(stack_vars, service)}")
    wait_all_healthy(host, stack_vars)
    _assert_data_kept(stack_vars, secrets, root_sql)


def test_data_survives_a_docker_daemon_restart(host, stack_vars, secrets, written, root_sql, docker_user_rules_before):
    _restart_docker_daemon(host)
    wait_all_healthy(host, stack_vars)
    _assert_data_kept(stack_vars, secrets, root_sql)


def test_docker_user_rules_survive_a_docker_daemon_restart(host, stack_vars, docker_user_rules_before):
    # dockerd creates DOCKER-USER when it is missing and never flushes it: the rules the playbook put there
    # (jobs network, firewall allow-list) must be there, in the same order, and still reached from FORWARD.
    assert _docker_user_rules(host, stack_vars) == docker_user_rules_before
    assert "-A FORWARD -j DOCKER-USER" in host.check_output("iptables -w -S FORWARD").splitlines()


REBOOT = pytest.mark.skipif(os.environ.get("MLOPS_TEST_REBOOT") != "1", reason="the server is not a throw-away VM")


@REBOOT
def test_data_survives_a_reboot(host, stack_vars, secrets, written, root_sql, docker_user_rules_before):
    _reboot(host)
    wait_all_healthy(host, stack_vars, timeout=900)
    _assert_data_kept(stack_vars, secrets, root_sql)


@REBOOT
def test_docker_user_rules_survive_a_reboot(host, stack_vars, docker_user_rules_before):
    # The jobs network's isolation and the allow-list must hold after a reboot, not only after the next converge.
    assert _docker_user_rules(host, stack_vars) == docker_user_rules_before
