"""Human-readable sizes to bytes."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.mlops.plugins.filter.sizes import size_to_bytes


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (1024, 1024),
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("1.5g", int(1.5 * 1024**3)),
        ("2GiB", 2 * 1024**3),
        ("2GB", 2 * 1000**3),
        ("10 MiB", 10 * 1024**2),
        ("100", 100),
        ("4k", 4096),
        ("1t", 1024**4),
    ],
)
def test_sizes(size, expected):
    assert size_to_bytes(size) == expected


@pytest.mark.parametrize("size", ["", "lots", "1x", "-1g", True, "1.2.3g"])
def test_bad_sizes(size):
    with pytest.raises(AnsibleFilterError):
        size_to_bytes(size)
