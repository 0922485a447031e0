"""Run a project's .gitlab-ci.yml with gitlab-ci-local (docker executor) the way the runner role configures jobs.

    from runner_limits import RunnerConfig, render_runner_config, run
    config = RunnerConfig.load(render_runner_config(tmp_path, {"gitlab_runner_job_network": "mlops-ci"}))
    result = run(Path("extras/demo"), {"MLFLOW_TRACKING_PASSWORD": "..."}, config=config)
    assert result.returncode == 0, result.output

The project is copied into a fresh git repository (what a push would carry) and run there, so the checkout
gets no .gitlab-ci-local/ state. Variables reach gitlab-ci-local through a variables file (0600, in a 0700
directory removed afterwards), never through its command line. docker_wrapper.py applies config.toml's
[runners.docker] limits and the script timeouts to the job containers; see docs/ci-testing.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .docker_wrapper import CONFIG_VARIABLE, LABEL_RUN
from .runner_config import REPO, RunnerConfig, render_runner_config

HELPER_IMAGE = "onprem-mlops/ci-job:zenml-0.98.0-mlflow-3.17.2"
_WRAPPER = Path(__file__).resolve().with_name("docker_wrapper.py")
_COPY_IGNORE = shutil.ignore_patterns(".git", ".gitlab-ci-local", "__pycache__", ".venv", ".pytest_cache")
# Values of variables named like this are replaced by [MASKED] in the output, as GitLab masks masked variables.
_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
_MIN_MASKED_LENGTH = 8


@dataclass(frozen=True)
class JobRun:
    """What one gitlab-ci-local pipeline run did."""

    returncode: int
    output: str
    duration: float
    events: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    run_id: str = ""
    timed_out: bool = False

    def events_of(self, job: str, kind: str | None = None) -> list[dict[str, Any]]:
        """The wrapper's events (create, start, exit, timeout, remove) for one job, optionally of one kind."""
        return [event for event in self.events if event.get("job") == job and kind in (None, event["event"])]

    def final_inspect(self, job: str) -> dict[str, Any]:
        """``docker inspect`` of the job's container just before gitlab-ci-local removed it."""
        removed = [event["inspect"] for event in self.events_of(job, "remove") if event.get("inspect")]
        if not removed:
            raise AssertionError(f"no inspect of job {job}'s container was recorded\n{self.output}")
        return removed[-1]


def gitlab_ci_local() -> str:
    """The gitlab-ci-local command: $GITLAB_CI_LOCAL, else the one scripts/install-gitlab-ci-local.sh provides."""
    if os.environ.get("GITLAB_CI_LOCAL"):
        return os.environ["GITLAB_CI_LOCAL"]
    completed = subprocess.run(
        [str(REPO / "scripts" / "install-gitlab-ci-local.sh")], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip().splitlines()[-1]


def run(
    project_dir: Path,
    variables: Mapping[str, str],
    job: str | Sequence[str] | None = None,
    network: str | None = None,
    extra_args: Sequence[str] = (),
    *,
    config: RunnerConfig | None = None,
    extra_files: Mapping[str, Path] | None = None,
    helper_image: str = HELPER_IMAGE,
    run_id: str | None = None,
    timeout: float = 1800,
) -> JobRun:
    """Run the pipeline (or ``job``) of ``project_dir`` under the runner configuration ``config``.

    ``config`` defaults to the role's defaults rendered with the local images. ``network`` overrides its
    network_mode (the Docker network jobs join). ``extra_files`` are copied into the project at the given
    relative paths (e.g. a template the .gitlab-ci.yml includes with ``include: local``). ``extra_args`` go to
    gitlab-ci-local as they are. ``timeout`` bounds the whole run (a safety net, not the job timeout).
    """
    run_id = run_id or secrets.token_hex(6)
    with tempfile.TemporaryDirectory(prefix=f"gcl-run-{run_id}-") as scratch_dir:
        scratch = Path(scratch_dir)
        if config is None:
            config = RunnerConfig.load(render_runner_config(scratch / "runner"))
        workdir = _prepare_project(Path(project_dir), scratch / "project", extra_files or {})
        variables_file = _write_private(scratch / "variables.json", json.dumps(_job_variables(config, variables)))
        launcher, events = _write_wrapper(scratch, config, network, run_id)
        command = [
            gitlab_ci_local(),
            *_as_list(job),
            "--cwd",
            ".",
            "--variables-file",
            str(variables_file),
            "--home",
            str(scratch / "home"),
            "--container-executable",
            str(launcher),
            "--concurrency",
            str(config.concurrency),
            "--pull-policy",
            config.pull_policy,
            "--shell-executor-no-image=false",
            "--default-image",
            config.image,
            "--helper-image",
            helper_image,
            "--wait-image",
            helper_image,
            "--no-color",
            *extra_args,
        ]
        began = time.monotonic()
        returncode, output, timed_out = _run_bounded(command, workdir, timeout)
        duration = time.monotonic() - began
        leftovers = _leftovers(run_id)
        _remove(run_id)
        return JobRun(
            returncode=returncode,
            output=_mask(output, variables),
            duration=duration,
            events=_read_events(events),
            leftovers=leftovers,
            run_id=run_id,
            timed_out=timed_out,
        )


def _as_list(job: str | Sequence[str] | None) -> list[str]:
    if job is None:
        return []
    return [job] if isinstance(job, str) else list(job)


def _prepare_project(source: Path, target: Path, extra_files: Mapping[str, Path]) -> Path:
    shutil.copytree(source, target, ignore=_COPY_IGNORE, symlinks=True)
    for relative, path in extra_files.items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    git = ["git", "-c", "user.name=gitlab-ci-local", "-c", "user.email=gitlab-ci-local@localhost"]
    for arguments in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "push"]):
        subprocess.run([*git, *arguments], cwd=target, check=True, stdout=subprocess.DEVNULL)
    return target


def _path_environment(config: RunnerConfig) -> dict[str, str]:
    """config.toml's `environment` entries that name a path: gitlab-ci-local would turn such a variable into a
    file variable (a file holding the host file's contents, or a warning), so the wrapper sets them on the job's
    container instead, as gitlab-runner does with all of them."""
    return {name: value for name, value in config.environment.items() if value.startswith("/")}


def _job_variables(config: RunnerConfig, variables: Mapping[str, str]) -> dict[str, str]:
    # config.toml's `environment` reaches every job as variables, as with gitlab-runner.
    plain = {name: value for name, value in config.environment.items() if name not in _path_environment(config)}
    return {**plain, **{name: str(value) for name, value in variables.items()}}


def _write_private(path: Path, text: str) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def _write_wrapper(scratch: Path, config: RunnerConfig, network: str | None, run_id: str) -> tuple[Path, Path]:
    state = scratch / "wrapper-state"
    state.mkdir()
    events = scratch / "events.jsonl"
    events.touch()
    wrapper_config = {
        "docker": shutil.which("docker") or "docker",
        "run_id": run_id,
        "events": str(events),
        "state_dir": str(state),
        "limits": {
            "cpus": config.cpus,
            "memory": config.memory,
            "memory_swap": config.memory_swap,
            "oom_kill_disable": config.oom_kill_disable,
            "network_mode": network if network is not None else config.network_mode,
            "script_timeout": config.script_timeout,
            "after_script_timeout": config.after_script_timeout,
            # Bind mounts only (host:container[:mode]); gitlab-ci-local makes its own /cache volume.
            "volumes": [volume for volume in config.volumes if ":" in volume],
            "environment": _path_environment(config),
        },
    }
    config_file = _write_private(scratch / "wrapper.json", json.dumps(wrapper_config))
    launcher = scratch / "docker"
    launcher.write_text(
        "#!/bin/sh\n"
        f"{CONFIG_VARIABLE}={shlex.quote(str(config_file))} "
        f'exec {shlex.quote(sys.executable)} -I -S {shlex.quote(str(_WRAPPER))} "$@"\n',
        encoding="utf-8",
    )
    launcher.chmod(0o700)
    return launcher, events


def _run_bounded(command: list[str], cwd: Path, timeout: float) -> tuple[int, str, bool]:
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return process.returncode, output + f"\nrun_limits: gitlab-ci-local killed after {timeout:g}s\n", True


def _docker_lines(*args: str) -> list[str]:
    completed = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return completed.stdout.split()


def _leftovers(run_id: str) -> list[str]:
    label = f"label={LABEL_RUN}={run_id}"
    return [
        *(f"container {name}" for name in _docker_lines("ps", "-a", "-q", "--filter", label)),
        *(f"volume {name}" for name in _docker_lines("volume", "ls", "-q", "--filter", label)),
        *(f"network {name}" for name in _docker_lines("network", "ls", "-q", "--filter", label)),
    ]


def _remove(run_id: str) -> None:
    label = f"label={LABEL_RUN}={run_id}"
    for kind, remove in (("container", ["rm", "-f", "-v"]), ("volume", ["volume", "rm", "-f"])):
        listing = ["ps", "-a", "-q"] if kind == "container" else ["volume", "ls", "-q"]
        names = _docker_lines(*listing, "--filter", label)
        if names:
            subprocess.run(["docker", *remove, *names], capture_output=True, check=False)
    networks = _docker_lines("network", "ls", "-q", "--filter", label)
    if networks:
        subprocess.run(["docker", "network", "rm", *networks], capture_output=True, check=False)


def _mask(output: str, variables: Mapping[str, str]) -> str:
    for value in _masked_values(variables):
        output = output.replace(value, "[MASKED]")
    return output


def _masked_values(variables: Mapping[str, str]) -> Iterable[str]:
    secret = [str(value) for name, value in variables.items() if _SECRET_NAME.search(name)]
    return sorted((value for value in secret if len(value) >= _MIN_MASKED_LENGTH), key=len, reverse=True)


def _read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
