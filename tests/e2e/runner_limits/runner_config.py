"""The runner role's config.toml: rendered by the role itself, read back with tomllib."""

from __future__ import annotations

import json
import re
import secrets
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "support"))
from playbook_runs import run_playbook

_PLAYBOOK = Path(__file__).resolve().with_name("render_config.yml")

# Go's time.ParseDuration units, as gitlab-runner reads RUNNER_SCRIPT_TIMEOUT.
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration such as ``20s``, ``1h30m`` or ``1.5h``."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a Go duration: {text!r}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


@dataclass(frozen=True)
class RunnerConfig:
    """What the docker executor of the first [[runners]] entry does to every job container."""

    path: Path
    concurrency: int
    image: str
    cpus: str
    memory: str
    memory_swap: str
    oom_kill_disable: bool
    network_mode: str
    pull_policy: str
    environment: dict[str, str]
    volumes: tuple[str, ...]
    script_timeout: float | None
    after_script_timeout: float | None

    @classmethod
    def load(cls, path: Path) -> RunnerConfig:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
        runner = config["runners"][0]
        docker = runner["docker"]
        environment = dict(entry.split("=", 1) for entry in runner.get("environment", []))
        policies = docker.get("pull_policy", ["if-not-present"])
        limit = int(runner.get("limit", 0))
        concurrent = int(config.get("concurrent", 1))
        return cls(
            path=path,
            concurrency=min(concurrent, limit) if limit > 0 else concurrent,
            image=docker["image"],
            cpus=str(docker.get("cpus", "")),
            memory=str(docker.get("memory", "")),
            memory_swap=str(docker.get("memory_swap", "")),
            oom_kill_disable=bool(docker.get("oom_kill_disable", False)),
            network_mode=str(docker.get("network_mode", "")),
            pull_policy=policies[0] if isinstance(policies, list) else policies,
            environment=environment,
            volumes=tuple(docker.get("volumes", [])),
            script_timeout=_duration_or_none(environment.get("RUNNER_SCRIPT_TIMEOUT")),
            after_script_timeout=_duration_or_none(environment.get("RUNNER_AFTER_SCRIPT_TIMEOUT")),
        )


def _duration_or_none(text: str | None) -> float | None:
    return parse_duration(text) if text else None


def render_runner_config(directory: Path, role_vars: Mapping[str, Any] | None = None) -> Path:
    """Render config.toml into ``directory`` with the role's preflight and configure tasks; return its path.

    ``role_vars`` are the role's public inputs (gitlab_runner_job_memory, gitlab_runner_job_script_timeout,
    gitlab_runner_job_network, ...) on top of the role's defaults and the local images. The token and the
    cache key are placeholders: nothing here talks to GitLab or MinIO.
    """
    directory = Path(directory).resolve()
    render_id = secrets.token_hex(4)
    variables: dict[str, Any] = {
        "mlops_image_source": "local",
        "gitlab_runner_token": "glrt-runnerlimits-placeholder",
        # A container that does not exist, so the role's restart handler has nothing to restart.
        "gitlab_runner_container_name": f"runner-limits-render-{render_id}",
        "mlops_secrets": {"minio_runner_cache_secret_key": "placeholder"},
        **(role_vars or {}),
        "gitlab_runner_config_dir": str(directory),
    }
    with tempfile.TemporaryDirectory(prefix="runner-render-") as scratch:
        vars_file = Path(scratch) / "vars.json"
        vars_file.touch(mode=0o600)
        vars_file.write_text(json.dumps(variables), encoding="utf-8")
        completed = run_playbook(["-i", "localhost,", str(_PLAYBOOK), "-e", f"@{vars_file}"], timeout=300)
    if completed.returncode != 0:
        raise RuntimeError(
            f"rendering config.toml with the gitlab_runner role failed (rc {completed.returncode})\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return directory / "config.toml"
