# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server_status report as people read it: a plain-text table for the play's output and Markdown."""

from collections.abc import Callable
from typing import Any

SERVICE_COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    ("service", lambda row: row["service"] or "?"),
    ("container", lambda row: row["container"]),
    ("state", lambda row: row["state"]),
    ("health", lambda row: row["health"] or "-"),
    ("version", lambda row: row["version"] or "-"),
    ("uptime", lambda row: duration(row["uptime_seconds"])),
    ("cpu", lambda row: f"{number(row['cpu_used'])} / {number(row['cpu_limit'])} ({percent(row['cpu_percent'])})"),
    (
        "memory",
        lambda row: f"{size(row['memory_usage'])} / {size(row['memory_limit'])} ({percent(row['memory_percent'])})",
    ),
    ("volume", lambda row: size(row["volume_size"])),
]
USER_COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    ("user", lambda row: row["username"]),
    ("role", lambda row: row["role"]),
    ("schema", lambda row: size(row["schema_size"])),
    ("bucket", lambda row: f"{size(row['bucket_size'])} / {size(row['bucket_quota'])}"),
    ("quota", lambda row: percent(row["bucket_quota_percent"])),
    ("mlflow runs", lambda row: count(row["mlflow_runs"])),
    ("zenml runs", lambda row: count(row["zenml_runs"])),
    ("last activity", lambda row: (row["last_activity"] or "-")[:16].replace("T", " ")),
]


def size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value}B"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g}%"


def number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def duration(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"


def _cells(rows: list[dict], columns: list[tuple[str, Callable[[dict], str]]]) -> list[list[str]]:
    return [[name for name, _ in columns]] + [[render(row) for _, render in columns] for row in rows]


def text_table(rows: list[dict], columns: list[tuple[str, Callable[[dict], str]]]) -> list[str]:
    """Lines of a table with columns padded to their widest cell."""
    cells = _cells(rows, columns)
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in cells]
    return [lines[0], "  ".join("-" * width for width in widths), *lines[1:]]


def markdown_table(rows: list[dict], columns: list[tuple[str, Callable[[dict], str]]]) -> list[str]:
    cells = _cells(rows, columns)
    lines = ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in cells]
    return [lines[0], "|" + "---|" * len(columns), *lines[1:]]


def _docker_line(report: dict) -> str:
    docker = report.get("docker") or {}
    if not docker:
        return "Docker: not reachable"
    return (
        f"Docker {docker.get('version') or '?'}: {count(docker.get('containers_running'))} containers running; "
        f"{size(docker.get('disk_free'))} free of {size(docker.get('disk_total'))} under {docker.get('root_dir')}"
    )


def _summary_lines(report: dict) -> list[str]:
    totals: dict[str, Any] = report["totals"]
    usage = report.get("bucket_usage") or {}
    return [
        f"Stack {report['stack']} at {report['generated_at']}",
        _docker_line(report),
        f"Users: {totals['users']}; {size(totals['schema_size'])} in schemas, {size(totals['bucket_size'])} in "
        f"buckets, {totals['mlflow_runs']} MLflow runs, {totals['zenml_runs']} ZenML pipeline runs "
        f"(bucket sizes: {usage.get('source', '?')}, updated {usage.get('scanner_updated_at') or 'now'})",
    ]


def _problem_lines(report: dict) -> list[str]:
    if not report["problems"]:
        return ["No problems."]
    return [f"{len(report['problems'])} problems:", *(f"- {problem}" for problem in report["problems"])]


def text(report: dict) -> list[str]:
    """The report as lines for the play's output."""
    return [
        *_summary_lines(report),
        "",
        *text_table(report["services"], SERVICE_COLUMNS),
        "",
        *text_table(report["users"], USER_COLUMNS),
        "",
        *_problem_lines(report),
    ]


def markdown(report: dict) -> str:
    """The report as a Markdown page."""
    summary = _summary_lines(report)
    lines = [
        f"# {summary[0]}",
        "",
        *(f"- {line}" for line in summary[1:]),
        "",
        "## Problems",
        "",
        *_problem_lines(report),
        "",
        "## Services",
        "",
        *markdown_table(report["services"], SERVICE_COLUMNS),
        "",
        "## Users",
        "",
        *markdown_table(report["users"], USER_COLUMNS),
    ]
    return "\n".join(lines) + "\n"
