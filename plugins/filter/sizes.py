"""Filters that turn human-readable sizes into numbers."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: size_to_bytes
short_description: Convert a size such as C(512m), C(2GiB) or C(1.5g) to bytes
version_added: 0.1.0
description:
  - Accepts Docker-style sizes (C(b), C(k), C(m), C(g), C(t), binary multiples) and IEC/SI unit names
    (C(KiB), C(MiB), C(GiB), C(TiB), C(KB), C(MB), C(GB), C(TB)). An integer is returned unchanged.
options:
  _input:
    description: The size.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Memory limit in bytes
  ansible.builtin.debug:
    msg: "{{ '2g' | onprem.mlops.size_to_bytes }}"  # 2147483648
"""

RETURN = r"""
_value:
  description: The size in bytes.
  type: int
"""

_BINARY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SI_UNITS = {"kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def size_to_bytes(size: object) -> int:
    """Return ``size`` in bytes, reading Docker (``2g``) and IEC/SI (``2GiB``, ``2GB``) notations."""
    if isinstance(size, bool):
        raise AnsibleFilterError(f"size_to_bytes: {size!r} is not a size")
    if isinstance(size, int):
        return size
    match = _SIZE_PATTERN.match(str(size))
    if not match:
        raise AnsibleFilterError(f"size_to_bytes: {size!r} is not a size such as 512m, 2g or 10GiB")
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit.endswith("ib"):
        unit = unit[0]
    if unit in _SI_UNITS:
        return int(number * _SI_UNITS[unit])
    if unit in _BINARY_UNITS:
        return int(number * _BINARY_UNITS[unit])
    raise AnsibleFilterError(f"size_to_bytes: unknown unit {match.group(2)!r} in {size!r}")


class FilterModule:
    """Size filters."""

    def filters(self) -> dict:
        return {"size_to_bytes": size_to_bytes}
