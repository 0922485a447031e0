"""Filters that read what the backup script and restic print."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: backup_summary
short_description: Read the last line of the backup script (snapshot ID, files, bytes, seconds)
version_added: 0.1.0
description:
  - The script C(roles/backup/templates/backup.sh.j2) ends with
    C(snapshot <id> files <n> bytes <n> added <n> seconds <n>); this filter turns that line into a dictionary.
options:
  _input:
    description: The line.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The snapshot just taken
  ansible.builtin.set_fact:
    backup_snapshot_id: "{{ (__backup_run.stdout_lines | last | onprem.mlops.backup_summary).snapshot }}"
"""

RETURN = r"""
_value:
  description: C(snapshot) (the full restic snapshot ID), C(files), C(bytes), C(added) and C(seconds) (integers).
  type: dict
"""

_SUMMARY = re.compile(
    r"^snapshot (?P<snapshot>[0-9a-f]{8,64}) files (?P<files>\d+) bytes (?P<bytes>\d+)"
    r" added (?P<added>\d+) seconds (?P<seconds>\d+)$"
)


def backup_summary(line: object) -> dict[str, str | int]:
    """Return the fields of the backup script's summary line, or raise a clear error."""
    match = _SUMMARY.match(str(line).strip())
    if not match:
        raise AnsibleFilterError(f"backup_summary: the backup script did not end with its summary (got {line!r})")
    fields: dict[str, str | int] = {"snapshot": match.group("snapshot")}
    fields.update({name: int(match.group(name)) for name in ("files", "bytes", "added", "seconds")})
    return fields


def backup_snapshot_ref(snapshot: object) -> str:
    """Return a restic snapshot reference (``latest`` or a hex ID of 8 to 64 digits), or raise."""
    value = str(snapshot).strip()
    if value == "latest" or re.fullmatch(r"[0-9a-f]{8,64}", value):
        return value
    raise AnsibleFilterError(f"backup_snapshot_ref: {snapshot!r} is neither 'latest' nor a restic snapshot ID")


class FilterModule:
    """Backup filters."""

    def filters(self) -> dict[str, object]:
        """Return the filters."""
        return {"backup_summary": backup_summary, "backup_snapshot_ref": backup_snapshot_ref}
