"""Unit tests of what server_status reads from Docker (_status_docker.py): timestamps, container facts,
control groups v1 and v2, the stats fallback, the daemon's disk, and the socket client's errors."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import _status_docker
from ansible_collections.onprem.mlops.plugins.module_utils._status_docker import (
    CgroupReader,
    DockerApi,
    DockerError,
    container_facts,
    parse_time,
    sample_usage,
    volume_sizes,
)

CID = "abc123"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-03T22:01:28.071768123Z", "2026-12-03T22:01:28.071768+00:00"),
        ("2026-12-03T22:01:28Z", "2026-12-03T22:01:28+00:00"),
        ("2026-12-03T23:01:28.5+01:00", "2026-12-03T22:01:28.500000+00:00"),
        ("0001-01-01T00:00:00Z", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_time(value: str | None, expected: str | None) -> None:
    stamp = parse_time(value)
    assert (stamp.isoformat() if stamp else None) == expected


@pytest.mark.parametrize(
    ("image", "labels", "version"),
    [
        ("onprem-mlops/zenml-server:0.98.0", {}, "0.98.0"),
        ("registry:5000/mariadb", {}, None),
        ("onprem-mlops/minio:local", {"org.opencontainers.image.version": "RELEASE.2025"}, "RELEASE.2025"),
    ],
)
def test_container_facts(image: str, labels: dict, version: str | None) -> None:
    inspect = {
        "Id": CID,
        "Name": "/st-minio",
        "State": {"Status": "running", "Running": True, "StartedAt": "2026-12-03T22:00:00Z"},
        "Config": {"Image": image, "Labels": {"org.onprem-mlops.service": "minio", **labels}},
        "HostConfig": {"NanoCpus": 0, "Memory": 0},
        "Mounts": [{"Type": "volume", "Name": "b"}, {"Type": "volume", "Name": "a"}, {"Type": "bind"}],
    }
    facts = container_facts(inspect, datetime(2026, 12, 3, 23, 0, tzinfo=UTC))
    assert facts["version"] == version
    assert facts["uptime_seconds"] == 3600
    assert facts["health"] is None
    assert (facts["cpu_limit"], facts["memory_limit"]) == (None, None)
    assert facts["volumes"] == ["a", "b"]
    assert (facts["service"], facts["container"]) == ("minio", "st-minio")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v1(tmp_path: Path) -> None:
    _write(tmp_path / "cpuacct" / "docker" / CID / "cpuacct.usage", "8305502952\n")
    _write(tmp_path / "memory" / "docker" / CID / "memory.usage_in_bytes", "260771840\n")
    _write(tmp_path / "memory" / "docker" / CID / "memory.stat", "cache 507904\ntotal_inactive_file 8192\n")
    reader = CgroupReader(tmp_path)
    assert reader.cpu_ns(CID) == 8305502952
    assert reader.memory(CID) == 260771840 - 8192


def test_cgroup_v2(tmp_path: Path) -> None:
    scope = tmp_path / "system.slice" / f"docker-{CID}.scope"
    _write(scope / "cpu.stat", "usage_usec 1500\nuser_usec 1000\n")
    _write(scope / "memory.current", "1000000\n")
    _write(scope / "memory.stat", "anon 900000\ninactive_file 100000\n")
    reader = CgroupReader(tmp_path)
    assert reader.cpu_ns(CID) == 1_500_000
    assert reader.memory(CID) == 900000


def test_cgroup_missing(tmp_path: Path) -> None:
    reader = CgroupReader(tmp_path)
    assert reader.cpu_ns(CID) is None and reader.memory(CID) is None


class SteppingCgroups:
    """Two CPU readings a second of CPU apart, over a window of two seconds: half a core."""

    def __init__(self) -> None:
        self.readings = {CID: iter([1_000_000_000, 2_000_000_000])}

    def cpu_ns(self, container_id: str) -> int | None:
        readings = self.readings.get(container_id)
        return next(readings) if readings else None

    def memory(self, container_id: str) -> int | None:
        return 4096 if container_id == CID else None


class StatsApi:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def get(self, path: str, **params: object) -> dict:
        self.paths.append(path)
        return {
            "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 5000, "stats": {"total_inactive_file": 1000}},
        }


def test_sample_usage_uses_one_window_and_falls_back_to_stats() -> None:
    clock = iter([10.0, 12.0])
    slept: list[float] = []
    api = StatsApi()
    usage = sample_usage(
        api, [CID, "other"], 2.0, cgroups=SteppingCgroups(), sleep=slept.append, clock=lambda: next(clock)
    )
    assert slept == [2.0]
    assert usage[CID] == {"cpu_used": 0.5, "memory_usage": 4096}
    assert usage["other"] == {"cpu_used": 0.4, "memory_usage": 4000}
    assert api.paths == ["/containers/other/stats"]


def test_volume_sizes_keep_only_the_stacks_and_unknown_is_null() -> None:
    class Api:
        def get(self, path: str, **params: object) -> dict:
            assert (path, params) == ("/system/df", {"type": "volume"})
            return {"Volumes": [{"Name": "a", "UsageData": {"Size": 7}}, {"Name": "b", "UsageData": {"Size": -1}},
                                {"Name": "x", "UsageData": {"Size": 9}}]}  # fmt: skip

    assert volume_sizes(Api(), {"a", "b", "c"}) == {"a": 7, "b": None, "c": None}
    assert volume_sizes(Api(), set()) == {}


def test_daemon_without_its_root_directory() -> None:
    class Api:
        def get(self, path: str) -> dict:
            return {"ServerVersion": "27.0", "DockerRootDir": "/nowhere", "CgroupVersion": "2"}

    def statvfs(path: str) -> None:
        raise FileNotFoundError(path)

    facts = _status_docker.daemon(Api(), statvfs=statvfs)
    assert (facts["version"], facts["disk_free"], facts["cgroup_version"]) == ("27.0", None, "2")


def test_only_unix_sockets() -> None:
    with pytest.raises(DockerError, match=r"is not unix:///path/to/docker\.sock"):
        DockerApi("tcp://127.0.0.1:2375")


def test_a_missing_socket_says_what_to_check(tmp_path: Path) -> None:
    api = DockerApi(f"unix://{tmp_path}/docker.sock", timeout=1)
    with pytest.raises(DockerError, match="check that Docker runs and that the module runs as root"):
        api.get("/info")
