"""Filters that read service versions and decide which version moves an upgrade may make."""

from __future__ import annotations

import re
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: upgrade
short_description: Read service versions and decide which upgrades are supported
version_added: 0.1.0
description:
  - C(version_tuple) turns a version (C(0.98.0), C(v10.11.6), C(RELEASE.2025-10-15T17-29-55Z)) into a tuple of
    integers that compares in release order.
  - C(probed_version) picks the version out of what a service's binary prints (C(mariadbd --version),
    C(mysqld --version), C(minio --version)) or out of an image's version label or tag.
  - C(package_versions) reads C(name==version) lines into a dictionary.
  - C(upgrade_check) compares the running version of one service with the wanted one and says whether the move
    is none, an upgrade, or refused (a downgrade, or a jump the service does not support - a database across
    series, a new major release of ZenML or MLflow), with the reason.
options:
  _input:
    description: The version, the printed text, or the running version, depending on the filter.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a downgrade of the ZenML server
  ansible.builtin.assert:
    that: (running | onprem.mlops.upgrade_check(wanted, 'zenml')).action != 'refused'

- name: MariaDB's version from its binary
  ansible.builtin.debug:
    msg: "{{ 'mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu' | onprem.mlops.probed_version }}"
"""

RETURN = r"""
_value:
  description: See each filter's description.
  type: raw
"""

# Services whose releases must not change series (major.minor): their data files and system tables are only
# upgraded in place within one series; another series needs a dump and reload.
_SERIES_BOUND = {"mariadb", "mysql"}
# Services whose on-disk state is migrated forward by the new release itself, within one major version.
_MAJOR_BOUND = {"zenml", "mlflow"}
_KINDS = _SERIES_BOUND | _MAJOR_BOUND | {"minio"}

_RELEASE = re.compile(r"RELEASE\.(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})Z")
_DOTTED = re.compile(r"(?<![\w.])v?(\d+(?:\.\d+)+)")
_VER = re.compile(r"\bVer\s+v?(\d+(?:\.\d+)+)")
_PACKAGE = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*(\S+)\s*$")


def version_tuple(version: object) -> tuple[int, ...]:
    """``version`` as integers in release order: dotted numbers, or a MinIO release's date and time."""
    text = str(version or "").strip()
    release = _RELEASE.search(text)
    if release:
        return tuple(int(part) for part in release.groups())
    dotted = _DOTTED.match(text)
    if not dotted:
        raise AnsibleFilterError(f"version_tuple: {version!r} is not a version such as 0.98.0 or RELEASE.<date>")
    return tuple(int(part) for part in dotted.group(1).split("."))


def probed_version(text: object) -> str:
    """The version in a binary's ``--version`` output, an image label or an image tag ('' if none)."""
    content = str(text or "")
    for pattern in (_RELEASE, _VER):
        match = pattern.search(content)
        if match:
            return match.group(0) if pattern is _RELEASE else match.group(1)
    dotted = _DOTTED.search(content)
    return dotted.group(1) if dotted else ""


def package_versions(text: object) -> dict[str, str]:
    """``name==version`` lines (as ``pip freeze`` prints them) as {lower-case name: version}."""
    versions = {}
    for line in str(text or "").splitlines():
        match = _PACKAGE.match(line)
        if match:
            versions[match.group(1).lower().replace("_", "-")] = match.group(2)
    return versions


def _refusal(kind: str, current: tuple[int, ...], target: tuple[int, ...]) -> str:
    if target < current:
        return "a downgrade: restore a backup taken with that version instead"
    if kind in _SERIES_BOUND and current[:2] != target[:2]:
        return "another series: dump the schemas with the old server and load them into a new one"
    if kind in _MAJOR_BOUND and current[:1] != target[:1]:
        return "a new major release: follow its own migration guide"
    return ""


def upgrade_check(current: object, target: object, kind: str) -> dict[str, Any]:
    """Whether moving service ``kind`` from version ``current`` to ``target`` is nothing, an upgrade or refused."""
    if kind not in _KINDS:
        raise AnsibleFilterError(f"upgrade_check: unknown kind {kind!r} (one of {', '.join(sorted(_KINDS))})")
    result = {"kind": kind, "current": str(current or ""), "target": str(target or ""), "action": "none", "reason": ""}
    if not result["target"]:
        return {**result, "action": "refused", "reason": "the wanted version could not be read"}
    if not result["current"]:
        return {**result, "action": "refused", "reason": "the running version could not be read"}
    old, new = version_tuple(current), version_tuple(target)
    if old == new:
        return result
    reason = _refusal(kind, old, new)
    if reason:
        return {**result, "action": "refused", "reason": reason}
    return {**result, "action": "upgrade"}


class FilterModule:
    """Upgrade filters."""

    def filters(self) -> dict:
        return {
            "version_tuple": version_tuple,
            "probed_version": probed_version,
            "package_versions": package_versions,
            "upgrade_check": upgrade_check,
        }
