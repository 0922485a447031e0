"""Find the integration targets and the services each one needs, for conftest.py and test_targets.py.

A target needs a service when its files use a variable mlops_test_<service>_<setting>; run_target.yml
fills each such variable from the environment variable of the same name in upper case.
"""

import re
from pathlib import Path

TARGETS = Path(__file__).resolve().parent / "targets"

# The environment variables that locate each service's test server (all must be set).
SERVICE_VARIABLES = {
    "minio": ("MLOPS_TEST_MINIO_ENDPOINT", "MLOPS_TEST_MINIO_ACCESS_KEY", "MLOPS_TEST_MINIO_SECRET_KEY"),
    "mysql": ("MLOPS_TEST_MYSQL_HOST", "MLOPS_TEST_MYSQL_PORT", "MLOPS_TEST_MYSQL_USER", "MLOPS_TEST_MYSQL_PASSWORD"),
    "zenml": ("MLOPS_TEST_ZENML_URL", "MLOPS_TEST_ZENML_USERNAME", "MLOPS_TEST_ZENML_PASSWORD"),
}

_SERVICE_VARIABLE = re.compile(r"\bmlops_test_([a-z0-9]+)_[a-z0-9_]+")


def targets() -> list[Path]:
    """Target directories (those with tasks/main.yml), sorted by name."""
    return sorted(path for path in TARGETS.iterdir() if (path / "tasks" / "main.yml").is_file())


def services(target: Path) -> set[str]:
    """The services whose mlops_test_<service>_* variables the target's files use."""
    found: set[str] = set()
    for path in target.rglob("*"):
        if path.is_file():
            found.update(_SERVICE_VARIABLE.findall(path.read_text(encoding="utf-8", errors="replace")))
    return found


def markers(target: Path) -> set[str]:
    """pytest markers of a target: the first word of its name (minio_bucket -> minio) and its services."""
    return {target.name.split("_", 1)[0]} | services(target)
