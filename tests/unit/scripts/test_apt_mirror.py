"""scripts/apt-mirror.py: the Debian mirror the images are built from comes from the machine's APT sources."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "apt-mirror.py"

DEB822 = """\
Types: deb
URIs: http://mirror.example.test/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example.test/debian-security
Suites: bookworm-security
Components: main
"""

ONE_LINE = """\
# a comment
deb-src http://src.example.test/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://proxy.example.test:3142/debian/ bookworm main
deb http://proxy.example.test:3142/security bookworm-security main
"""


def _mirror(kind: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), kind, *map(str, files)], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("name", "text", "main", "security"),
    [
        ("debian.sources", DEB822, "http://mirror.example.test/debian", "http://security.example.test/debian-security"),
        ("site.list", ONE_LINE, "http://proxy.example.test:3142/debian", "http://proxy.example.test:3142/security"),
    ],
)
def test_mirror_is_read_from_the_apt_sources(tmp_path: Path, name: str, text: str, main: str, security: str) -> None:
    sources = tmp_path / name
    sources.write_text(text, encoding="utf-8")
    assert _mirror("main", sources).stdout.strip() == main
    assert _mirror("security", sources).stdout.strip() == security


def test_disabled_and_other_sources_are_skipped(tmp_path: Path) -> None:
    disabled = tmp_path / "a.sources"
    disabled.write_text(DEB822.replace("Types: deb\n", "Types: deb\nEnabled: no\n", 1), encoding="utf-8")
    other = tmp_path / "b.list"
    other.write_text("deb https://vendor.example.test/apt stable-updates main\n", encoding="utf-8")
    found = _mirror("main", disabled, other, tmp_path / "missing.list")
    assert found.returncode == 1
    assert found.stdout == ""


def test_no_url_is_built_into_the_image_build() -> None:
    # Mirrors and proxies come from the machine's configuration, never from a default in the repository.
    text = SCRIPT.read_text(encoding="utf-8") + (SCRIPT.parent / "build-images.sh").read_text(encoding="utf-8")
    assert re.findall(r"https?://[a-z0-9.-]+\.[a-z]{2,}", text) == []
