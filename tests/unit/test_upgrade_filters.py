"""The version filters behind playbooks/upgrade.yml: which moves are upgrades and which are refused."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.mlops.plugins.filter.upgrade import (
    FilterModule,
    package_versions,
    probed_version,
    upgrade_check,
    version_tuple,
)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.98.0", (0, 98, 0)),
        ("v10.11.6", (10, 11, 6)),
        ("8.4", (8, 4)),
        ("10.11.6-MariaDB-0+deb12u1", (10, 11, 6)),
        ("RELEASE.2025-10-15T17-29-55Z", (2025, 10, 15, 17, 29, 55)),
        ("RELEASE.2025-10-15T17-29-55Z-git7aac2a2", (2025, 10, 15, 17, 29, 55)),
        ("3.17.2", (3, 17, 2)),
    ],
)
def test_version_tuple(version, expected):
    assert version_tuple(version) == expected


@pytest.mark.parametrize("version", ["", None, "latest", "DEVELOPMENT.GOGET", "12", "x0.1.0"])
def test_version_tuple_refuses_what_is_not_a_version(version):
    with pytest.raises(AnsibleFilterError):
        version_tuple(version)


@pytest.mark.parametrize(
    ("older", "newer"),
    [("0.97.0", "0.98.0"), ("0.98.0", "0.98.1"), ("0.9.9", "0.10.0"), ("10.11.6", "10.11.10")],
)
def test_version_tuple_orders_releases(older, newer):
    assert version_tuple(older) < version_tuple(newer)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mariadbd  Ver 10.11.14-MariaDB-0+deb12u2 for debian-linux-gnu on x86_64 (Debian 12)", "10.11.14"),
        ("/usr/sbin/mysqld  Ver 8.4.3 for Linux on x86_64 (MySQL Community Server - GPL)", "8.4.3"),
        ("minio version RELEASE.2025-10-15T17-29-55Z (commit-id=abc)", "RELEASE.2025-10-15T17-29-55Z"),
        ("RELEASE.2025-10-15T17-29-55Z-git7aac2a2", "RELEASE.2025-10-15T17-29-55Z"),
        ("onprem-mlops/mariadb:10.11", "10.11"),
        ("0.98.0\n", "0.98.0"),
        ("minio version DEVELOPMENT.GOGET (commit-id=DEVELOPMENT.GOGET)", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_probed_version(text, expected):
    assert probed_version(text) == expected


def test_package_versions_reads_freeze_lines_only():
    text = "zenml==0.98.0\nMLflow == 3.17.2\nsome warning\nopentelemetry_sdk==1.43.0\n-e git+x#egg=y\n"
    assert package_versions(text) == {"zenml": "0.98.0", "mlflow": "3.17.2", "opentelemetry-sdk": "1.43.0"}


@pytest.mark.parametrize(
    ("current", "target", "kind", "action"),
    [
        ("0.97.0", "0.98.0", "zenml", "upgrade"),
        ("0.98.0", "0.98.0", "zenml", "none"),
        ("0.90.0", "0.98.0", "zenml", "upgrade"),
        ("0.98.0", "0.97.0", "zenml", "refused"),
        ("0.98.0", "1.0.0", "zenml", "refused"),
        ("3.17.2", "3.18.0", "mlflow", "upgrade"),
        ("3.17.2", "2.22.0", "mlflow", "refused"),
        ("10.11.6", "10.11.14", "mariadb", "upgrade"),
        ("10.11.14", "10.11.6", "mariadb", "refused"),
        ("10.11.14", "11.4.3", "mariadb", "refused"),
        ("8.4.2", "8.4.3", "mysql", "upgrade"),
        ("8.0.40", "8.4.3", "mysql", "refused"),
        ("RELEASE.2025-09-07T16-13-09Z", "RELEASE.2025-10-15T17-29-55Z", "minio", "upgrade"),
        ("RELEASE.2025-10-15T17-29-55Z", "RELEASE.2025-09-07T16-13-09Z", "minio", "refused"),
        ("RELEASE.2025-10-15T17-29-55Z", "RELEASE.2025-10-15T17-29-55Z-git7aac2a2", "minio", "none"),
    ],
)
def test_upgrade_check(current, target, kind, action):
    check = upgrade_check(current, target, kind)
    assert check["action"] == action
    assert check["kind"] == kind
    assert (check["reason"] != "") == (action == "refused")


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        ("0.98.0", "0.97.0", "downgrade"),
        ("0.98.0", "1.0.0", "major"),
        ("", "0.98.0", "running version"),
        ("0.98.0", "", "wanted version"),
    ],
)
def test_upgrade_check_says_why_it_refuses(current, target, reason):
    assert reason in upgrade_check(current, target, "zenml")["reason"]


def test_upgrade_check_refuses_a_database_across_series_with_the_way_out():
    assert "series" in upgrade_check("10.11.6", "11.4.3", "mariadb")["reason"]


def test_upgrade_check_knows_its_kinds():
    with pytest.raises(AnsibleFilterError):
        upgrade_check("1.0.0", "1.0.1", "postgres")


def test_every_filter_is_registered():
    assert set(FilterModule().filters()) == {"version_tuple", "probed_version", "package_versions", "upgrade_check"}
