"""The nightly backup timer on a server that runs systemd (the VM): backup.yml -e backup_timer_enabled=true
installs and starts it, and its service, started by systemd as the timer would, takes a snapshot.
The scenario lists this directory next to the shared verifier (molecule/shared/tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "support"))
# The shared verifier's conftest (molecule/shared/tests), which pytest loaded first: its fixtures, for this
# file outside its directory.
import conftest as shared_verifier
from playbook_runs import run_playbook

stack_vars = shared_verifier.stack_vars


@pytest.fixture(scope="module")
def unit(stack_vars: dict) -> str:
    """backup.yml with the timer on, against the VM's inventory; the units' name."""
    run = run_playbook(
        ["-i", os.environ["MOLECULE_INVENTORY_FILE"], "playbooks/backup.yml", "-e", "backup_timer_enabled=true"],
        timeout=1800,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    return f"{stack_vars['mlops_stack_name']}-backup"


def _restic_snapshots(host, stack_vars: dict) -> list[dict]:
    environment = f"/etc/{stack_vars['mlops_stack_name']}/backup/restic.env"
    listing = host.check_output(f"bash -c '. {environment} && restic snapshots --json'")
    return json.loads(listing)


def test_the_timer_is_enabled_and_waiting(host, unit):
    assert host.check_output(f"systemctl is-enabled {unit}.timer") == "enabled"
    assert host.check_output(f"systemctl is-active {unit}.timer") == "active"
    assert host.check_output(f"systemctl show -P NextElapseUSecRealtime {unit}.timer").strip()
    assert "02:30:00" in host.check_output(f"systemctl show -P TimersCalendar {unit}.timer")


def test_the_timers_service_takes_a_snapshot(host, stack_vars, unit):
    before = {snapshot["id"] for snapshot in _restic_snapshots(host, stack_vars)}
    # What the timer starts at night: a oneshot service, so start returns when the backup has finished.
    host.run_expect([0], f"systemctl start {unit}.service")
    assert host.check_output(f"systemctl show -P Result {unit}.service") == "success"
    new = [snapshot for snapshot in _restic_snapshots(host, stack_vars) if snapshot["id"] not in before]
    assert len(new) == 1, new
    assert {stack_vars["mlops_stack_name"], "nightly"} <= set(new[0]["tags"])
    journal = host.check_output(f"journalctl -u {unit}.service --no-pager -o cat")
    assert f"snapshot {new[0]['short_id']} " in journal
