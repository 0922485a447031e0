"""A job that exceeds the runner role's memory limit or script timeout is stopped (issue 4, item 5).

The runner configuration is rendered by the gitlab_runner role itself with small limits; the jobs of
runner_limits/limits_project run with gitlab-ci-local and the docker executor on the local images, under
those limits (runner_limits/docker_wrapper.py; docs/ci-testing.md says what is emulated). Needs Docker, the
local job image and gitlab-ci-local (scripts/install-gitlab-ci-local.sh); nothing is skipped.

    pytest -p no:cacheprovider tests/e2e/test_runner_limits.py
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_limits import JobRun, RunnerConfig, render_runner_config, run
from runner_limits.docker_wrapper import LABEL_ROLE, LABEL_RUN

PROJECT = Path(__file__).resolve().parent / "runner_limits" / "limits_project"
MEMORY = 256 * 2**20
CPUS = 0.5
SCRIPT_TIMEOUT = 20
# How long after the timeout the job's container may still be running.
STOP_GRACE = 5


@pytest.fixture(scope="module")
def network() -> Iterator[str]:
    name = f"runner-limits-{secrets.token_hex(4)}"
    subprocess.run(["docker", "network", "create", name], check=True, capture_output=True)
    yield name
    subprocess.run(["docker", "network", "rm", name], check=False, capture_output=True)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory, network: str) -> RunnerConfig:
    path = render_runner_config(
        tmp_path_factory.mktemp("runner"),
        {
            "gitlab_runner_job_cpus": str(CPUS),
            "gitlab_runner_job_memory": "256m",
            "gitlab_runner_job_memory_swap": "256m",
            "gitlab_runner_job_script_timeout": SCRIPT_TIMEOUT,
            "gitlab_runner_job_after_script_timeout": 10,
            "gitlab_runner_job_network": network,
        },
    )
    return RunnerConfig.load(path)


def _report(result: JobRun) -> str:
    events = "\n".join(json.dumps(event) for event in result.events)
    return f"rc {result.returncode} in {result.duration:.1f}s\n{result.output}\n--- wrapper events ---\n{events}"


def _assert_role_limits(inspect: dict[str, Any], network: str) -> None:
    host = inspect["HostConfig"]
    assert host["Memory"] == MEMORY
    assert host["MemorySwap"] == MEMORY
    assert host["NanoCpus"] == int(CPUS * 1e9)
    assert host["OomKillDisable"] is False
    assert host["NetworkMode"] == network
    assert inspect["Labels"][LABEL_ROLE] == "job"


def test_config_comes_from_the_role(config: RunnerConfig, network: str) -> None:
    assert (config.memory, config.memory_swap, config.cpus) == ("256m", "256m", str(CPUS))
    assert config.oom_kill_disable is False
    assert config.concurrency == 2
    assert config.network_mode == network
    assert config.script_timeout == SCRIPT_TIMEOUT
    assert config.environment["RUNNER_SCRIPT_TIMEOUT"] == f"{SCRIPT_TIMEOUT}s"


def test_job_within_the_limits_passes(config: RunnerConfig, network: str) -> None:
    token = secrets.token_urlsafe(16)
    result = run(PROJECT, {"LIMITS_TEST_TOKEN": token}, job="within-limits", config=config)

    assert result.returncode == 0, _report(result)
    assert "PASS  within-limits" in result.output, _report(result)
    assert f"memory limit {MEMORY}" in result.output
    assert "cpu quota 50000" in result.output
    assert "allocated 96 MiB" in result.output
    # The variable reached the job through the variables file, and its value is masked in the log.
    assert "token [MASKED]" in result.output
    assert token not in result.output
    inspect = result.final_inspect("within-limits")
    _assert_role_limits(inspect, network)
    assert inspect["State"]["ExitCode"] == 0
    assert inspect["State"]["OOMKilled"] is False
    [oom] = [event for event in result.events_of("within-limits", "oom") if event["phase"] == "step_script"]
    assert oom["oom_kills"] == 0, oom
    assert result.leftovers == []


def test_job_over_the_memory_limit_is_killed(config: RunnerConfig, network: str) -> None:
    result = run(PROJECT, {}, job="over-memory", config=config)

    assert result.returncode != 0, _report(result)
    assert "FAIL 137" in result.output, _report(result)
    assert "survived the allocation" not in result.output
    inspect = result.final_inspect("over-memory")
    _assert_role_limits(inspect, network)
    # Docker's State.OOMKilled is not a reliable witness on every host (docker.io 20.10, cgroup v1 leaves it
    # false when the container exits right after the kill): the kernel's own record for the job container's
    # memory cgroup is. The wrapper reads it while the job runs and from the kernel log afterwards.
    [oom] = [event for event in result.events_of("over-memory", "oom") if event["phase"] == "step_script"]
    assert oom["oom_kills"] >= 1, _report(result)
    assert all("task=python3" in record for record in oom["kernel_log_oom_kills"]), oom
    assert inspect["State"]["ExitCode"] == 137
    assert result.leftovers == []


class _LiveInspect(threading.Thread):
    """Inspects the run's job container from outside while the job is running."""

    def __init__(self, run_id: str) -> None:
        super().__init__(daemon=True)
        self.run_id = run_id
        self.found: dict[str, Any] | None = None
        self.done = threading.Event()

    def run(self) -> None:
        filters = ["--filter", f"label={LABEL_RUN}={self.run_id}", "--filter", f"label={LABEL_ROLE}=job"]
        while not self.done.is_set() and self.found is None:
            running = subprocess.run(
                ["docker", "ps", "-q", *filters], capture_output=True, text=True, check=False
            ).stdout.split()
            if running:
                inspect = subprocess.run(["docker", "inspect", running[0]], capture_output=True, text=True)
                if inspect.returncode == 0:
                    details = json.loads(inspect.stdout)[0]
                    self.found = {"HostConfig": details["HostConfig"], "Labels": details["Config"]["Labels"]}
            time.sleep(0.5)


def test_job_over_the_script_timeout_is_stopped(config: RunnerConfig, network: str) -> None:
    run_id = secrets.token_hex(6)
    watcher = _LiveInspect(run_id)
    watcher.start()
    try:
        result = run(PROJECT, {}, job="over-timeout", config=config, run_id=run_id, timeout=SCRIPT_TIMEOUT + 120)
    finally:
        watcher.done.set()
        watcher.join()

    assert not result.timed_out, _report(result)
    assert result.returncode != 0, _report(result)
    assert "FAIL" in result.output, _report(result)
    assert "woke up" not in result.output
    assert "step_script could not run to completion because RUNNER_SCRIPT_TIMEOUT" in result.output
    assert "after_script runs after the timeout" in result.output
    [timeout] = result.events_of("over-timeout", "timeout")
    assert SCRIPT_TIMEOUT <= timeout["killed_after"] < SCRIPT_TIMEOUT + 1
    assert timeout["stopped_after"] < SCRIPT_TIMEOUT + STOP_GRACE
    assert timeout["inspect"]["State"]["Status"] == "exited"
    assert timeout["inspect"]["State"]["ExitCode"] == 137
    assert watcher.found is not None, "the job container was never seen running"
    _assert_role_limits(watcher.found, network)
    _assert_role_limits(result.final_inspect("over-timeout"), network)
    assert result.leftovers == []
