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
    as JSON lines in the run's event log;
  * records the kernel's own count of OOM kills in each job container's memory cgroup (polled while the job
    runs, and the kernel log's ``oom-kill:`` records naming the container's cgroup), because Docker's
    ``State.OOMKilled`` is not set on every host (docker.io 20.10 with cgroup v1 leaves it false when the
    container exits right after the kill).

It is started through a launcher that sets RUNNER_LIMITS_WRAPPER_CONFIG to a JSON file written by
gitlab_runner_local.py. Standard library only: it runs with ``python -I -S``.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
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
        flags += [f"--volume={volume}" for volume in self.limits.get("volumes", [])]
        flags += [f"--env={name}={value}" for name, value in self.limits.get("environment", {}).items()]
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
        watcher = OomWatcher(self.docker, container)
        watcher.start()
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
        finally:
            watcher.stop()
            self.log({"event": "oom", "job": job, "container": container, "phase": phase, **watcher.report()})
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


class OomWatcher(threading.Thread):
    """Counts the OOM kills the kernel records for one container's memory cgroup.

    The cgroup's counter (``oom_kill`` in memory.oom_control on cgroup v1, memory.events on v2) is polled
    while the container runs, since the cgroup is deleted when the container exits; the kernel log's
    ``oom-kill:`` records, which name the cgroup and outlive it, are read once the job has ended.
    """

    POLL_SECONDS = 0.02

    def __init__(self, docker: str, container: str) -> None:
        super().__init__(daemon=True)
        self.docker = docker
        self.container = container
        self.container_id = container
        self.cgroup_file: str | None = None
        self.cgroup_oom_kills = 0
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.is_set() and self.cgroup_file is None:
            self.cgroup_file, self.container_id = _memory_cgroup_file(self.docker, self.container)
            if self.cgroup_file is None:
                time.sleep(self.POLL_SECONDS)
        while self.cgroup_file is not None:
            count = _oom_kill_count(self.cgroup_file)
            if count is None:
                return
            self.cgroup_oom_kills = max(self.cgroup_oom_kills, count)
            if self.finished.is_set():
                return
            time.sleep(self.POLL_SECONDS)

    def stop(self) -> None:
        self.finished.set()
        self.join(timeout=5)

    def report(self) -> dict[str, Any]:
        kernel_records = kernel_oom_kills(self.container_id)
        return {
            "cgroup_file": self.cgroup_file,
            "cgroup_oom_kills": self.cgroup_oom_kills,
            "kernel_log_oom_kills": kernel_records,
            "oom_kills": max(self.cgroup_oom_kills, len(kernel_records)),
        }


def _memory_cgroup_file(docker: str, container: str) -> tuple[str | None, str]:
    """The running container's OOM counter file and its full id (the cgroup file is None until it runs)."""
    completed = subprocess.run(
        [docker, "inspect", "--format", "{{.State.Pid}} {{.Id}}", container], capture_output=True, text=True
    )
    fields = completed.stdout.split() if completed.returncode == 0 else []
    if len(fields) != 2 or fields[0] == "0":
        return None, container
    pid, container_id = fields
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, container_id
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return f"/sys/fs/cgroup/memory{path}/memory.oom_control", container_id
        if controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            return f"/sys/fs/cgroup{path}/memory.events", container_id
    return None, container_id


def _oom_kill_count(cgroup_file: str) -> int | None:
    try:
        text = Path(cgroup_file).read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill":
            return int(value)
    return 0


def kernel_oom_kills(container: str) -> list[str]:
    """The kernel log's ``oom-kill:`` records whose memory cgroup is this container's (full id needed)."""
    records = []
    try:
        descriptor = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return records
    try:
        while True:
            try:
                record = os.read(descriptor, 8192).decode("utf-8", "replace")
            except BlockingIOError:
                break
            except OSError:  # EPIPE: a record was overwritten while reading; go on with the next one
                continue
            message = record.partition(";")[2]
            if message.startswith("oom-kill:") and "memcg=" in message and container in message:
                records.append(message.strip())
    finally:
        os.close(descriptor)
    return records


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
