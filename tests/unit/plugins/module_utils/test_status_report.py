"""Unit tests of the server_status report's text table and Markdown (_status_report.py)."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import _status_report
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_status import make_stack


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "-"), (0, "0B"), (1023, "1023B"), (1024, "1.0K"), (5 * 1024**2 + 1, "5.0M"), (3 * 1024**3, "3.0G")],
)
def test_size(value: int | None, expected: str) -> None:
    assert _status_report.size(value) == expected


@pytest.mark.parametrize(("seconds", "expected"), [(None, "-"), (59, "0h 0m"), (3720, "1h 2m"), (90000, "1d 1h")])
def test_duration(seconds: int | None, expected: str) -> None:
    assert _status_report.duration(seconds) == expected


def test_text_aligns_columns_and_lists_problems() -> None:
    report = make_stack(users=2, usage={"user001": 95}, quotas={"user001": 100}).collect()
    lines = _status_report.text(report)
    header = next(line for line in lines if line.startswith("user "))
    rows = [line for line in lines if line.startswith(("user0", "teacher"))]
    assert len(rows) == 3
    column = header.index("mlflow runs")
    assert all(row[column] == "3" for row in rows)
    assert lines[-2:] == [
        "1 problems:",
        "- user user001: bucket user001 holds 95 B of its 100 B quota (95%, threshold 90%)",
    ]


def test_markdown_has_every_section_and_escapes_pipes() -> None:
    report = make_stack(users=1).collect()
    report["services"][0]["version"] = "a|b"
    page = _status_report.markdown(report)
    for heading in ("# Stack st at ", "## Problems", "## Services", "## Users"):
        assert heading in page
    assert "| database | st-database | running | healthy | a\\|b |" in page
    assert "No problems." in page
    assert page.endswith("\n")
