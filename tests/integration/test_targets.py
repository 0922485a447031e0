"""Run every integration target with ansible-playbook against the services named in the environment.

    MLOPS_TEST_MINIO_ENDPOINT=127.0.0.1:9000 MLOPS_TEST_MINIO_ACCESS_KEY=... \
    MLOPS_TEST_MINIO_SECRET_KEY=... pytest tests/integration -m minio

A target whose service variables are missing fails (it is not skipped): a green run means it ran.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TARGETS = REPO / "tests" / "integration" / "targets"

# The environment variables that locate each service's test server.
SERVICE_VARIABLES = {
    "minio": ("MLOPS_TEST_MINIO_ENDPOINT", "MLOPS_TEST_MINIO_ACCESS_KEY", "MLOPS_TEST_MINIO_SECRET_KEY"),
}


def _service(target: str) -> str:
    return target.split("_", 1)[0]


def _targets() -> list:
    return [
        pytest.param(path.name, id=path.name, marks=getattr(pytest.mark, _service(path.name)))
        for path in sorted(TARGETS.iterdir())
        if (path / "tasks" / "main.yml").is_file()
    ]


def _ansible_playbook() -> str:
    beside_python = Path(sys.executable).with_name("ansible-playbook")
    return str(beside_python) if beside_python.exists() else shutil.which("ansible-playbook") or "ansible-playbook"


@pytest.mark.parametrize("target", _targets())
def test_target(target: str) -> None:
    service = _service(target)
    if service not in SERVICE_VARIABLES:
        pytest.fail(f"target {target}: no variables known for service {service!r}; add them to SERVICE_VARIABLES")
    missing = [name for name in SERVICE_VARIABLES[service] if not os.environ.get(name)]
    if missing:
        pytest.fail(f"target {target} needs a real {service} server: set {', '.join(missing)}")
    completed = subprocess.run(
        [_ansible_playbook(), "tests/integration/run_target.yml", "-e", f"target={target}"],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert completed.returncode == 0, (
        f"ansible-playbook failed for target {target} (rc {completed.returncode})\n"
        f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    )
