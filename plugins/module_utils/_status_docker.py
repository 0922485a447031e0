# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the server_status module reads from Docker: the daemon, the stack's containers and volumes, and
each container's CPU and memory use against its limits.

The Docker Engine API is spoken over its Unix socket with the standard library, so the module needs nothing
on the server beyond the collection's Python environment. CPU and memory come from the containers' control
groups on the host (one shared sampling window for every container) and, where those files cannot be read,
from the Engine's stats endpoint, which takes about a second per container and answers empty on some hosts.
"""

import http.client
import json
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

API_VERSION = "1.41"
STACK_LABEL = "org.onprem-mlops.stack"
SERVICE_LABEL = "org.onprem-mlops.service"
_CGROUP_ROOT = Path("/sys/fs/cgroup")


class DockerError(Exception):
    """The Docker Engine could not be reached or refused a request."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


class DockerApi:
    """GET requests to the Docker Engine API on a Unix socket, one connection per request (thread-safe)."""

    def __init__(self, docker_host: str, timeout: float = 30) -> None:
        if not docker_host.startswith("unix://"):
            raise DockerError(f"docker_host {docker_host!r} is not unix:///path/to/docker.sock")
        self.socket_path = docker_host[len("unix://") :]
        self.timeout = timeout

    def get(self, path: str, **params: Any) -> Any:
        url = f"/v{API_VERSION}{path}" + (f"?{urlencode(params)}" if params else "")
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            connection.request("GET", url)
            response = connection.getresponse()
            body = response.read()
        except OSError as exc:
            raise DockerError(
                f"cannot talk to the Docker daemon at unix://{self.socket_path} ({exc}); check that Docker "
                "runs and that the module runs as root (become: true) or a member of the docker group"
            ) from exc
        finally:
            connection.close()
        if response.status >= 400:
            raise DockerError(f"Docker answered {response.status} to GET {path}: {body[:200].decode(errors='replace')}")
        return json.loads(body) if body else None


def parse_time(value: str | None) -> datetime | None:
    """A Docker timestamp (RFC 3339 with nanoseconds) as an aware datetime; None for Docker's zero time."""
    if not value or value.startswith("0001-"):
        return None
    head, _, fraction = value.rstrip("Z").partition(".")
    zone = ""
    for sign in ("+", "-"):
        if sign in fraction:
            fraction, zone = fraction.split(sign, 1)
            zone = sign + zone
    micro = (fraction + "000000")[:6] if fraction else "000000"
    stamp = datetime.fromisoformat(f"{head}.{micro}{zone or '+00:00'}")
    return stamp.astimezone(UTC)


def daemon(api: DockerApi, statvfs: Callable[[str], os.statvfs_result] = os.statvfs) -> dict:
    """The daemon's version, its running containers and the free space where it keeps images and volumes."""
    info = api.get("/info")
    root = info.get("DockerRootDir", "/var/lib/docker")
    result = {
        "version": info.get("ServerVersion"),
        "containers_running": info.get("ContainersRunning"),
        "containers_stopped": info.get("ContainersStopped"),
        "root_dir": root,
        "cgroup_version": info.get("CgroupVersion"),
        "disk_total": None,
        "disk_free": None,
    }
    try:
        fs = statvfs(root)
    except OSError:
        return result
    result["disk_total"] = fs.f_blocks * fs.f_frsize
    result["disk_free"] = fs.f_bavail * fs.f_frsize
    return result


def stack_containers(api: DockerApi, stack: str) -> list[dict]:
    """``docker inspect`` of every container of the stack that names its service (not the CI jobs')."""
    filters = json.dumps({"label": [f"{STACK_LABEL}={stack}", SERVICE_LABEL]})
    listed = api.get("/containers/json", all="1", filters=filters)
    return [api.get(f"/containers/{quote(item['Id'])}/json") for item in listed]


def volume_sizes(api: DockerApi, names: set[str]) -> dict[str, int | None]:
    """Bytes used by each named volume (Docker computes them; -1 when it could not)."""
    if not names:
        return {}
    usage = api.get("/system/df", type="volume")
    sizes: dict[str, int | None] = dict.fromkeys(names)
    for volume in usage.get("Volumes") or []:
        if volume.get("Name") in names:
            size = (volume.get("UsageData") or {}).get("Size", -1)
            sizes[volume["Name"]] = size if size >= 0 else None
    return sizes


def container_facts(inspect: dict, now: datetime) -> dict:
    """State, health, image, uptime and limits of one container from its ``docker inspect``."""
    state = inspect.get("State") or {}
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    labels = config.get("Labels") or {}
    started = parse_time(state.get("StartedAt")) if state.get("Running") else None
    image = config.get("Image") or ""
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None
    return {
        "service": labels.get(SERVICE_LABEL),
        "container": (inspect.get("Name") or "").lstrip("/"),
        "id": inspect.get("Id"),
        "state": state.get("Status", "unknown"),
        "health": (state.get("Health") or {}).get("Status"),
        "image": image,
        "version": labels.get("org.opencontainers.image.version") or tag,
        "started_at": started.isoformat() if started else None,
        "uptime_seconds": int((now - started).total_seconds()) if started else None,
        "restart_count": inspect.get("RestartCount", 0),
        "cpu_limit": (host.get("NanoCpus") or 0) / 1e9 or None,
        "memory_limit": host.get("Memory") or None,
        "volumes": sorted(m["Name"] for m in inspect.get("Mounts") or [] if m.get("Type") == "volume"),
    }


class CgroupReader:
    """CPU time and memory of containers from their control groups on the host (v1 or v2)."""

    def __init__(self, root: Path = _CGROUP_ROOT) -> None:
        self.root = root

    def _v2_dir(self, container_id: str) -> Path | None:
        for candidate in (f"system.slice/docker-{container_id}.scope", f"docker/{container_id}"):
            path = self.root / candidate
            if (path / "memory.current").exists():
                return path
        return None

    def cpu_ns(self, container_id: str) -> int | None:
        """Nanoseconds of CPU the container used since it started."""
        v1 = self.root / "cpuacct" / "docker" / container_id / "cpuacct.usage"
        if v1.exists():
            return int(v1.read_text().strip())
        v2 = self._v2_dir(container_id)
        if v2 is None:
            return None
        stat = dict(line.split() for line in (v2 / "cpu.stat").read_text().splitlines() if line.strip())
        return int(stat["usage_usec"]) * 1000

    def memory(self, container_id: str) -> int | None:
        """Bytes in use as ``docker stats`` counts them: the usage less inactive page cache."""
        v1 = self.root / "memory" / "docker" / container_id
        if (v1 / "memory.usage_in_bytes").exists():
            usage = int((v1 / "memory.usage_in_bytes").read_text().strip())
            stat = _stat_file(v1 / "memory.stat")
            return max(usage - stat.get("total_inactive_file", stat.get("inactive_file", 0)), 0)
        v2 = self._v2_dir(container_id)
        if v2 is None:
            return None
        usage = int((v2 / "memory.current").read_text().strip())
        return max(usage - _stat_file(v2 / "memory.stat").get("inactive_file", 0), 0)


def _stat_file(path: Path) -> dict[str, int]:
    pairs = (line.split() for line in path.read_text().splitlines() if line.strip())
    return {key: int(value) for key, value in pairs}


def _stats_endpoint(api: DockerApi, container_id: str) -> tuple[float | None, int | None]:
    """(cores in use, memory bytes) from the Engine's one-off stats; (None, None) when it has none."""
    stats = api.get(f"/containers/{quote(container_id)}/stats", stream="false")
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    memory_stats = stats.get("memory_stats") or {}
    cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system_delta = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cores = None
    if system_delta > 0:
        cores = cpu_delta / system_delta * (cpu.get("online_cpus") or 1)
    memory = None
    if "usage" in memory_stats:
        inner = memory_stats.get("stats") or {}
        memory = memory_stats["usage"] - inner.get("total_inactive_file", inner.get("inactive_file", 0))
    return cores, memory


def sample_usage(
    api: DockerApi,
    container_ids: list[str],
    window: float,
    cgroups: CgroupReader | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, dict]:
    """{id: {cpu_used (cores), memory_usage (bytes)}} of running containers, measured over ``window`` seconds."""
    cgroups = cgroups or CgroupReader()
    first = {cid: cgroups.cpu_ns(cid) for cid in container_ids}
    started = clock()
    if any(value is not None for value in first.values()):
        sleep(window)
    elapsed = max(clock() - started, 1e-9)
    usage: dict[str, dict] = {}
    missing = []
    for cid in container_ids:
        memory = cgroups.memory(cid)
        end = cgroups.cpu_ns(cid) if first[cid] is not None else None
        if first[cid] is None or end is None or memory is None:
            missing.append(cid)
            continue
        usage[cid] = {"cpu_used": (end - first[cid]) / 1e9 / elapsed, "memory_usage": memory}
    if missing:
        with ThreadPoolExecutor(max_workers=len(missing)) as pool:
            for cid, (cores, memory) in zip(missing, pool.map(lambda c: _stats_endpoint(api, c), missing), strict=True):
                usage[cid] = {"cpu_used": cores, "memory_usage": memory}
    return usage
