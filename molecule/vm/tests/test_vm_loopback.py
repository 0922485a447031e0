"""Nothing of the VM listens on this machine beyond 127.0.0.1: only the forwarded SSH and service ports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
VM = yaml.safe_load((REPO / "molecule" / "vm" / "vars" / "vm.yml").read_text(encoding="utf-8"))


def _qemu_pid() -> int:
    cache = Path(os.environ.get("MLOPS_CACHE_DIR", Path.home() / ".cache" / "onprem-mlops"))
    return int((cache / "vm" / f"run-{VM['vm_name']}" / "vm.pid").read_text(encoding="utf-8"))


def test_the_vm_listens_on_loopback_only():
    listening = subprocess.run(["ss", "-Htulnp"], capture_output=True, text=True, check=True).stdout
    sockets = [line.split()[4] for line in listening.splitlines() if f"pid={_qemu_pid()}," in line]
    expected = {f"127.0.0.1:{port}" for port in [VM["vm_ssh_port"], *VM["vm_forwarded_ports"]]}
    assert set(sockets) == expected
