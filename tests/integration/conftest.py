"""Integration tests: each directory of targets/ is one case, run against real services.

A target's service is its name up to the first underscore (minio_bucket -> minio); every service gets a
pytest marker of that name, so `pytest tests/integration -m minio` runs the MinIO targets only.
"""

from pathlib import Path

TARGETS = Path(__file__).resolve().parent / "targets"


def pytest_configure(config) -> None:
    services = {"minio"} | {path.name.split("_", 1)[0] for path in TARGETS.iterdir() if path.is_dir()}
    for service in sorted(services):
        config.addinivalue_line(
            "markers",
            f"{service}: integration targets that need a real {service} server "
            f"(MLOPS_TEST_{service.upper()}_* environment variables)",
        )
