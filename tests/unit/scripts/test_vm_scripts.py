"""scripts/vm-start.sh and scripts/vm-stop.sh refuse bad input before doing anything, and vm-stop never
signals a process that is not the scenario's QEMU (a stale pid file)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


def _run(script: str, *args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLOPS_CACHE_DIR": str(cache)}
    return subprocess.run(
        [str(SCRIPTS / script), *args], capture_output=True, text=True, env=env, timeout=30, check=False
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad_Name", "22022:22"), "bad name"),
        (("mlops-vm",), "at least the SSH forward"),
        (("mlops-vm", "22022"), "bad forward"),
        (("mlops-vm", "0.0.0.0:80:80", "22022:22"), "bad forward"),
    ],
)
def test_vm_start_refuses_bad_arguments(tmp_path, args, message):
    result = _run("vm-start.sh", *args, cache=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "vm").exists()


def test_vm_stop_refuses_a_bad_name(tmp_path):
    result = _run("vm-stop.sh", "../etc", cache=tmp_path)
    assert result.returncode == 2


def test_vm_stop_leaves_a_foreign_process_alone(tmp_path):
    run = tmp_path / "vm" / "run-mlops-vm"
    run.mkdir(parents=True)
    with subprocess.Popen(["sleep", "30"]) as bystander:
        (run / "vm.pid").write_text(f"{bystander.pid}\n", encoding="utf-8")
        result = _run("vm-stop.sh", "mlops-vm", cache=tmp_path)
        assert result.returncode == 0, result.stderr
        assert bystander.poll() is None
        bystander.kill()
    assert not run.exists()
