"""The backup filters: the script's summary line and snapshot references."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.mlops.plugins.filter.backup import FilterModule, backup_snapshot_ref, backup_summary

SNAPSHOT = "3f2a9c1e" + "0" * 56


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f"snapshot {SNAPSHOT} files 12 bytes 3456 added 789 seconds 4",
            {"snapshot": SNAPSHOT, "files": 12, "bytes": 3456, "added": 789, "seconds": 4},
        ),
        (
            "  snapshot 3f2a9c1e files 0 bytes 0 added 0 seconds 0\n",
            {"snapshot": "3f2a9c1e", "files": 0, "bytes": 0, "added": 0, "seconds": 0},
        ),
    ],
)
def test_summary_is_read(line: str, expected: dict[str, object]) -> None:
    assert backup_summary(line) == expected


@pytest.mark.parametrize(
    "line",
    ["", "restic reported no snapshot", "snapshot XYZ files 1 bytes 1 added 1 seconds 1", "snapshot 3f2a9c1e files 1"],
)
def test_a_missing_summary_is_an_error(line: str) -> None:
    with pytest.raises(AnsibleFilterError, match="did not end with its summary"):
        backup_summary(line)


@pytest.mark.parametrize(("ref", "expected"), [("latest", "latest"), (" 3f2a9c1e ", "3f2a9c1e"), (SNAPSHOT, SNAPSHOT)])
def test_snapshot_refs(ref: str, expected: str) -> None:
    assert backup_snapshot_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "LATEST", "3f2a", "latest; rm -rf /", "g" * 8, None])
def test_bad_snapshot_refs_are_refused(ref: object) -> None:
    with pytest.raises(AnsibleFilterError, match="neither 'latest' nor"):
        backup_snapshot_ref(ref)


def test_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"backup_summary", "backup_snapshot_ref"}
