"""Integration tests: each directory of targets/ is one case, run against real services.

Every target is marked with the first word of its name and the services it needs, so
`pytest tests/integration -m minio` runs the MinIO targets only.
"""

import os
import sys
from pathlib import Path

import pytest
from integration_targets import markers, targets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import DeployedStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> DeployedStack:
    """The deployed CI stack (or the one MLOPS_TEST_STACK_VARS names), with an inventory for its playbooks."""
    return DeployedStack(tmp_path_factory.mktemp("inventory"))


@pytest.fixture(scope="module")
def image(stack: DeployedStack) -> str:
    """The job image under test: MLOPS_TEST_JOB_IMAGE, else the stack's."""
    return os.environ.get("MLOPS_TEST_JOB_IMAGE") or stack.vars["mlops_job_image"]


def pytest_configure(config) -> None:
    for marker in sorted({"minio"}.union(*(markers(target) for target in targets()))):
        config.addinivalue_line(
            "markers", f"{marker}: integration targets for {marker} (and MLOPS_TEST_{marker.upper()}_* settings)"
        )
