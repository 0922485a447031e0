"""Run every integration target with ansible-playbook against the services named in the environment.

    MLOPS_TEST_MINIO_ENDPOINT=127.0.0.1:9000 MLOPS_TEST_MINIO_ACCESS_KEY=... \
    MLOPS_TEST_MINIO_SECRET_KEY=... pytest tests/integration -m minio

A target whose service variables are missing fails (it is not skipped): a green run means it ran.
"""

import os
import sys
from pathlib import Path

import pytest
from integration_targets import SERVICE_VARIABLES, TARGETS, markers, services, targets

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from playbook_runs import run_playbook


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(path.name, id=path.name, marks=[getattr(pytest.mark, marker) for marker in sorted(markers(path))])
        for path in targets()
    ],
)
def test_target(target: str) -> None:
    for service in sorted(services(TARGETS / target)):
        if service not in SERVICE_VARIABLES:
            pytest.fail(
                f"target {target} uses mlops_test_{service}_* variables: list the {service} environment "
                "variables in SERVICE_VARIABLES (integration_targets.py) and read them in run_target.yml"
            )
        missing = [name for name in SERVICE_VARIABLES[service] if not os.environ.get(name)]
        if missing:
            pytest.fail(f"target {target} needs a real {service} server: set {', '.join(missing)}")
    completed = run_playbook(["tests/integration/run_target.yml", "-e", f"target={target}"], timeout=1800)
    assert completed.returncode == 0, (
        f"ansible-playbook failed for target {target} (rc {completed.returncode})\n"
        f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
    )
