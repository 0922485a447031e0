"""Running the collection's playbooks from the tests, from the checkout, as an administrator would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def ansible_playbook() -> str:
    """The ansible-playbook of the Python running the tests (its venv), else the one on PATH."""
    beside_python = Path(sys.executable).with_name("ansible-playbook")
    return str(beside_python) if beside_python.exists() else shutil.which("ansible-playbook") or "ansible-playbook"


def run_playbook(arguments: Sequence[str], timeout: int, **run_options: Any) -> subprocess.CompletedProcess[str]:
    """``ansible-playbook *arguments`` from the repository root with its ansible.cfg, output captured."""
    return subprocess.run(
        [ansible_playbook(), *arguments],
        cwd=REPO,
        env={**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **run_options,
    )
