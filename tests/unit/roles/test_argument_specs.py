"""Every role input in defaults/main.yml is declared in meta/argument_specs.yml and the other way round."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "defaults" / "main.yml").is_file())


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_specs_match(role):
    defaults = set(_load(ROLES_DIR / role / "defaults" / "main.yml"))
    options = set(_load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"])
    assert defaults - options == set(), "in defaults/main.yml but not in argument_specs"
    assert options - defaults == set(), "in argument_specs but not in defaults/main.yml"


@pytest.mark.parametrize("role", ROLES)
def test_inputs_carry_the_role_prefix(role):
    defaults = _load(ROLES_DIR / role / "defaults" / "main.yml")
    assert [name for name in defaults if not name.startswith(f"{role}_")] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_described_and_typed(role):
    options = _load(ROLES_DIR / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        assert spec.get("description"), f"{name} has no description"
        assert spec.get("type"), f"{name} has no type"


@pytest.mark.parametrize("role", ROLES)
def test_tasks_main_is_a_short_dispatcher(role):
    tasks = _load(ROLES_DIR / role / "tasks" / "main.yml")
    assert len(tasks) <= 6
