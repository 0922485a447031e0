"""gitlab-ci-local's --container-executable: docker, with the runner's limits on job containers.

gitlab-ci-local calls this program instead of ``docker`` for every container operation. It passes each call
through to the real docker CLI, except that it
  * adds the [runners.docker] cpus / memory / memory_swap / oom_kill_disable / network_mode settings of the
    runner's config.toml to the ``docker create`` of job containers (not to gitlab-ci-local's helper
    containers, as gitlab-runner applies them to the build container only);
  * labels every container, volume and network it creates with the run's id, so that leftovers can be found;
  * enforces RUNNER_SCRIPT_TIMEOUT / RUNNER_AFTER_SCRIPT_TIMEOUT on ``docker start --attach`` of a job
    container (gitlab-ci-local implements no timeout): when it elapses the container is killed and the call
    fails, as gitlab-runner ends a script that runs too long;
  * records what it did, and ``docker inspect`` of each job container before gitlab-ci-local removes it,
    as JSON lines in the run's event log.

It is started through a launcher that sets RUNNER_LIMITS_WRAPPER_CONFIG to a JSON file written by
gitlab_runner_local.py. Standard library only: it runs with ``python -I -S``.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CONFIG_VARIABLE = "RUNNER_LIMITS_WRAPPER_CONFIG"
LABEL_RUN = "org.onprem-mlops.gitlab-ci-local.run"
LABEL_ROLE = "org.onprem-mlops.gitlab-ci-local.role"
LABEL_JOB = "org.onprem-mlops.gitlab-ci-local.job"

# gitlab-ci-local 4.75 creates the job container with `create --interactive ... --workdir <project dir>`;
# its helper containers use `create --user=0:0`, `create -i ... -w` or `run --rm`.
_JOB_CREATE_MARKERS = ("--interactive", "--workdir")


class Wrapper:
    def __init__(self, config: dict[str, Any]) -> None:
        self.docker: str = config["docker"]
        self.run_id: str = config["run_id"]
        self.limits: dict[str, Any] = config["limits"]
        self.events = Path(config["events"])
        self.state = Path(config["state_dir"])

    def main(self, args: list[str]) -> int:
        command = args[0] if args else ""
        if command == "create":
            return self.create(args[1:])
        if command == "run":
            return self.docker_call(["run", *self.labels("helper"), *args[1:]])
        if command in ("volume", "network") and args[1:2] == ["create"]:
            return self.docker_call([command, "create", "--label", f"{LABEL_RUN}={self.run_id}", *args[2:]])
        if command == "start" and "--attach" in args:
            container = args[-1]
            if self.job_of(container) is not None:
                return self.start_job(args, container)
        if command == "rm":
            self.record_removed([arg for arg in args[1:] if not arg.startswith("-")])
        return self.docker_call(args)

    def docker_call(self, args: list[str]) -> int:
        return subprocess.call([self.docker, *args])

    def labels(self, role: str, job: str | None = None) -> list[str]:
        labels = ["--label", f"{LABEL_RUN}={self.run_id}", "--label", f"{LABEL_ROLE}={role}"]
        if job is not None:
            labels += ["--label", f"{LABEL_JOB}={job}"]
        return labels

    def create(self, args: list[str]) -> int:
        if not all(marker in args for marker in _JOB_CREATE_MARKERS):
            role = "service" if "--network-alias" in args else "helper"
            return self.docker_call(["create", *self.labels(role), *args])
        job = _env_value(args, "CI_JOB_NAME") or "unknown"
        network = self.limits["network_mode"]
        joins_later = bool(network) and "--network" in args
        added = [*self.limit_flags(), *self.labels("job", job)]
        if network and not joins_later:
            added += ["--network", network]
        completed = subprocess.run([self.docker, "create", *added, *args], stdout=subprocess.PIPE, text=True)
        sys.stdout.write(completed.stdout)
        container = completed.stdout.strip()
        if completed.returncode != 0 or not container:
            return completed.returncode
        if joins_later:
            # The job has services on gitlab-ci-local's own network; the runner's network is added next to it.
            subprocess.run([self.docker, "network", "connect", network, container], check=True)
            added += ["network connect", network]
        (self.state / f"{container}.job").write_text(job, encoding="utf-8")
        self.log({"event": "create", "job": job, "container": container, "added": added})
        return 0

    def limit_flags(self) -> list[str]:
        flags = []
        for option in ("cpus", "memory", "memory_swap"):
            if self.limits[option]:
                flags.append(f"--{option.replace('_', '-')}={self.limits[option]}")
        if self.limits["oom_kill_disable"]:
            flags.append("--oom-kill-disable")
        return flags

    def job_of(self, container: str) -> str | None:
        marker = self.state / f"{container}.job"
        return marker.read_text(encoding="utf-8") if marker.exists() else None

    def start_job(self, args: list[str], container: str) -> int:
        # gitlab-ci-local starts the job container once for before_script + script, then again for after_script.
        starts = self.state / f"{container}.starts"
        count = int(starts.read_text(encoding="utf-8")) if starts.exists() else 0
        starts.write_text(str(count + 1), encoding="utf-8")
        phase = "step_script" if count == 0 else "after_script"
        variable = "RUNNER_SCRIPT_TIMEOUT" if phase == "step_script" else "RUNNER_AFTER_SCRIPT_TIMEOUT"
        timeout = self.limits["script_timeout" if phase == "step_script" else "after_script_timeout"]
        job = self.job_of(container)
        self.log({"event": "start", "job": job, "container": container, "phase": phase, "timeout": timeout})
        began = time.monotonic()
        process = subprocess.Popen([self.docker, *args])
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - began
            subprocess.run([self.docker, "kill", container], stdout=subprocess.DEVNULL, check=False)
            returncode = process.wait()
            stopped = time.monotonic() - began
            print(
                f"ERROR: {phase} could not run to completion because {variable} ({timeout:g}s) was exceeded: "
                f"the runner stopped the job container ({returncode=}).",
                flush=True,
            )
            self.log(
                {
                    "event": "timeout",
                    "job": job,
                    "container": container,
                    "phase": phase,
                    "timeout": timeout,
                    "killed_after": elapsed,
                    "stopped_after": stopped,
                    "returncode": returncode,
                    "inspect": self.inspect(container),
                }
            )
            return returncode or 1
        self.log(
            {
                "event": "exit",
                "job": job,
                "container": container,
                "phase": phase,
                "elapsed": time.monotonic() - began,
                "returncode": returncode,
            }
        )
        return returncode

    def record_removed(self, containers: list[str]) -> None:
        for container in containers:
            job = self.job_of(container)
            if job is not None:
                self.log({"event": "remove", "job": job, "container": container, "inspect": self.inspect(container)})

    def inspect(self, container: str) -> dict[str, Any] | None:
        completed = subprocess.run([self.docker, "inspect", container], capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            return None
        details = json.loads(completed.stdout)[0]
        host = details["HostConfig"]
        return {
            "Name": details["Name"],
            "State": {
                key: details["State"][key] for key in ("Status", "ExitCode", "OOMKilled", "StartedAt", "FinishedAt")
            },
            "HostConfig": {
                key: host[key] for key in ("Memory", "MemorySwap", "NanoCpus", "OomKillDisable", "NetworkMode")
            },
            "Networks": sorted(details["NetworkSettings"]["Networks"]),
            "Labels": details["Config"]["Labels"],
        }

    def log(self, event: dict[str, Any]) -> None:
        line = json.dumps({"time": time.time(), **event}) + "\n"
        with self.events.open("a", encoding="utf-8") as handle:
            handle.write(line)


def _env_value(args: list[str], name: str) -> str | None:
    prefix = f"{name}="
    for flag, value in itertools.pairwise(args):
        if flag in ("-e", "--env") and value.startswith(prefix):
            return value[len(prefix) :]
    return None


def main() -> int:
    config = json.loads(Path(os.environ[CONFIG_VARIABLE]).read_text(encoding="utf-8"))
    return Wrapper(config).main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
