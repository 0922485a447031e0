"""What students write in their requirements, resolved against the CI job image's pinned set (issue 9).

Each entry of requirement_corpus/corpus.yml is a project file of the kind students push (requirements.txt,
pyproject.toml, a conda environment.yml). It is resolved the way the job installs it: the environment.yml
converted by mlops-job's own code, then `uv pip compile` with images/ci-job/constraints.txt, for the
image's Python and platform, with the index as scripts/pin-job-image.py fixes it (metadata only, no
wheel is installed). A conflict is explained by mlops-job's own conflict_message, and the test asserts
the precise message. The table of outcomes is printed at the end.

Needs the package index (as the image build does) and uv (requirements-dev.txt).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CORPUS = yaml.safe_load((Path(__file__).parent / "requirement_corpus" / "corpus.yml").read_text(encoding="utf-8"))
CONSTRAINTS = REPO / "images" / "ci-job" / "constraints.txt"


def _load(name: str, path: Path) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    sys.modules[name] = module
    loader.exec_module(module)
    return module


MLOPS_JOB = _load("mlops_job", REPO / "images" / "ci-job" / "bin" / "mlops-job")
PIN_SCRIPT = _load("pin_job_image", REPO / "scripts" / "pin-job-image.py")
PINS = MLOPS_JOB.pinned_versions(CONSTRAINTS)


@dataclass
class Outcome:
    resolved: dict[str, str]
    output: str
    message: str
    seconds: float

    @property
    def conflicts(self) -> bool:
        return bool(self.message)


def _requirements(entry: dict, project: Path) -> tuple[Path, list[str]]:
    """The file uv resolves and the student's requirement lines, as mlops-job's install() takes them."""
    path = project / entry["file"]
    path.write_text(entry["content"], encoding="utf-8")
    if entry["file"].endswith(".yml"):
        requirements, _conda = MLOPS_JOB.requirements_from_environment_yml(path, conda=False)
        converted = project / "requirements-from-environment.txt"
        converted.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        return converted, requirements
    return path, MLOPS_JOB.requirement_lines(path)


def _resolve(entry: dict, project: Path) -> Outcome:
    project.mkdir(parents=True)
    path, requirements = _requirements(entry, project)
    command = [
        PIN_SCRIPT.find_uv(), "pip", "compile", str(path), "--constraint", str(CONSTRAINTS), "--no-annotate",
        "--no-header", "--python-version", PIN_SCRIPT.PYTHON_VERSION, "--python-platform", PIN_SCRIPT.PLATFORM,
        "--exclude-newer", PIN_SCRIPT.EXCLUDE_NEWER,
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        message = MLOPS_JOB.conflict_message(result.stderr, requirements, entry["file"], PINS)
        return Outcome({}, result.stderr, message, seconds)
    resolved = dict(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", result.stdout, re.MULTILINE))
    return Outcome({MLOPS_JOB.normalize(k): v for k, v in resolved.items()}, result.stdout, "", seconds)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    root = tmp_path_factory.mktemp("corpus")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {entry["name"]: pool.submit(_resolve, entry, root / entry["name"]) for entry in CORPUS}
        return {name: future.result() for name, future in futures.items()}


def test_corpus_covers_what_students_push() -> None:
    assert len(CORPUS) >= 15
    assert {entry["file"] for entry in CORPUS} == {"requirements.txt", "pyproject.toml", "environment.yml"}
    assert any(entry["outcome"] == "conflicts" for entry in CORPUS)
    assert sum("zenml[server]" in entry["content"] for entry in CORPUS) >= 5


@pytest.mark.parametrize("entry", CORPUS, ids=[entry["name"] for entry in CORPUS])
def test_entry_outcome(entry: dict, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[entry["name"]]
    if entry["outcome"] == "resolves":
        assert not outcome.conflicts, f"{entry['name']} does not resolve:\n{outcome.output}\n{outcome.message}"
        # Every package of the pinned set resolves to its pin: a student's range never moves one.
        moved = {name: version for name, version in outcome.resolved.items() if name in PINS and PINS[name] != version}
        assert moved == {}
        for name in entry.get("pinned", []):
            assert outcome.resolved[name] == PINS[name]
    else:
        assert outcome.conflicts, f"{entry['name']} resolved, a conflict was expected:\n{outcome.output}"
        for line in entry["message"]:
            assert line in outcome.message, f"{line!r} not in:\n{outcome.message}\nuv said:\n{outcome.output}"
        assert "installs the image's version" in outcome.message


def test_print_outcomes(outcomes: dict[str, Outcome], capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"{'entry':40} {'file':17} {'outcome':9} {'s':>5}  packages beyond the image / conflict"]
    for entry in CORPUS:
        outcome = outcomes[entry["name"]]
        if outcome.conflicts:
            detail = outcome.message.splitlines()[1].strip()[:100]
        else:
            added = sorted(set(outcome.resolved) - set(PINS))
            detail = f"{len(added)}: {', '.join(added[:6])}{' ...' if len(added) > 6 else ''}"
        verdict = "conflicts" if outcome.conflicts else "resolves"
        rows.append(f"{entry['name']:40} {entry['file']:17} {verdict:9} {outcome.seconds:5.1f}  {detail}")
    with capsys.disabled():
        print("\nrequirement corpus against images/ci-job/constraints.txt:\n" + "\n".join(rows), file=sys.stderr)
    assert len(rows) == len(CORPUS) + 1
