"""Integration tests: each directory of targets/ is one case, run against real services.

Every target is marked with the first word of its name and the services it needs, so
`pytest tests/integration -m minio` runs the MinIO targets only.
"""

from integration_targets import markers, targets


def pytest_configure(config) -> None:
    for marker in sorted({"minio"}.union(*(markers(target) for target in targets()))):
        config.addinivalue_line(
            "markers", f"{marker}: integration targets for {marker} (and MLOPS_TEST_{marker.upper()}_* settings)"
        )
