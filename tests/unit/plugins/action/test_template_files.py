"""The file handling of the template_files action: atomic writes, modes, up-to-date checks."""

from __future__ import annotations

import os
import stat

import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.onprem.mlops.plugins.action.template_files import _mode, _up_to_date, _write_atomically


def test_mode_parses_octal_strings():
    assert _mode("0600", "mode") == 0o600
    assert _mode("700", "directory_mode") == 0o700


def test_mode_refuses_garbage_with_the_option_name():
    with pytest.raises(AnsibleActionFail, match="directory_mode must be an octal mode"):
        _mode("rwx", "directory_mode")


def test_write_creates_parents_with_the_directory_mode(tmp_path):
    target = tmp_path / "credentials" / "alice.env"
    _write_atomically(str(target), b"MLOPS_USER=alice\n", 0o600, 0o700)
    assert target.read_bytes() == b"MLOPS_USER=alice\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["alice.env"]


def test_write_replaces_content_and_mode(tmp_path):
    target = tmp_path / "alice.env"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    _write_atomically(str(target), b"new", 0o600, 0o700)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_up_to_date_needs_same_content_and_mode(tmp_path):
    target = tmp_path / "alice.env"
    assert not _up_to_date(str(target), b"x", 0o600)
    _write_atomically(str(target), b"x", 0o600, 0o700)
    assert _up_to_date(str(target), b"x", 0o600)
    assert not _up_to_date(str(target), b"y", 0o600)
    os.chmod(target, 0o644)
    assert not _up_to_date(str(target), b"x", 0o600)
