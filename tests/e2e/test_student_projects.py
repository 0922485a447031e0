"""Students' projects run through the CI template as they are written (issue 9), on the Molecule-deployed stack.

Three projects of tests/e2e/projects, each a student's GitLab project that includes the template as a CI/CD
component, run by gitlab-ci-local under the runner role's limits on the stack's jobs network, with a
provisioned student's credentials (as test_demo_pipeline.py runs the demo):

- zenml-starter: `zenml[server]>=0.50.0`, scikit-learn, pandas and one package the image lacks, as ZenML's
  starter projects write them. It must install only that package and run its pipeline.
- conda-integration: a conda environment.yml with ZenML from pip, whose entry point runs
  `zenml integration install sklearn -y` before its pipeline: the install must keep every pin.
- old-mlflow: `mlflow<3`, a true conflict: the job must stop at the install step with the precise message.

The job image is the stack's (mlops_job_image), so a developer's stack can try another build.

    make e2e      # or: pytest -p no:cacheprovider tests/e2e/test_student_projects.py  (after the integration tests)
"""

from __future__ import annotations

import re
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from runner_limits import JobRun, RunnerConfig, run

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from deployed_stack import DeployedStack
from student_job import CI_VARIABLES, INTERNAL_ADDRESSES

PROJECTS = Path(__file__).resolve().parent / "projects"
TEMPLATE = REPO / "extras" / "gitlab-ci.yml"
JOB = "zenml-pipeline"
COMPONENT = "$CI_SERVER_FQDN/mlops/ci-templates/zenml-pipeline@1.0.0"
# Where gitlab-ci-local looks for that component (its CI_SERVER_FQDN without a remote is gitlab.com).
COMPONENT_CACHE = ".gitlab-ci-local/includes/gitlab.com/mlops/ci-templates/1.0.0/templates/zenml-pipeline.yml"
STUDENT = f"carol{secrets.token_hex(3)}"


def _report(result: JobRun) -> str:
    return f"gitlab-ci-local exited {result.returncode} after {result.duration:.1f}s\n{result.output}"


@pytest.fixture(scope="module")
def student(stack: DeployedStack) -> Iterator[dict[str, str]]:
    try:
        added = stack.manage_users("add", username=STUDENT, role="developer")
        assert added.returncode == 0, added.tail()
        env = stack.user_env(STUDENT)
        yield {**{name: env[name] for name in CI_VARIABLES}, **INTERNAL_ADDRESSES}
    finally:
        stack.manage_users("remove", username=STUDENT, confirm=True)


def run_project(
    name: str, environment_file: str, stack: DeployedStack, config: RunnerConfig, variables: dict[str, str], tmp: Path
) -> JobRun:
    """The project's pipeline as a student's .gitlab-ci.yml includes the template, on the stack's job image."""
    inputs = {"entrypoint": "run.py", "environment-file": environment_file, "image": stack.vars["mlops_job_image"]}
    ci = tmp / f"{name}.gitlab-ci.yml"
    ci.write_text(yaml.safe_dump({"include": [{"component": COMPONENT, "inputs": inputs}]}), encoding="utf-8")
    result = run(
        PROJECTS / name,
        variables,
        job=JOB,
        config=config,
        extra_files={".gitlab-ci.yml": ci, COMPONENT_CACHE: TEMPLATE},
        timeout=900,
    )
    figures = re.findall(r"entry point starts after [^:]*", result.output)
    print(f"\n{name}: {result.duration:.1f}s {' '.join(figures)}", file=sys.stderr)
    return result


@pytest.fixture(scope="module")
def starter(
    stack: DeployedStack, runner_config: RunnerConfig, student: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> JobRun:
    return run_project("zenml-starter", "requirements.txt", stack, runner_config, student, tmp_path_factory.mktemp("s"))


def test_zenml_server_starter_runs_unchanged(starter: JobRun) -> None:
    assert starter.returncode == 0, _report(starter)
    assert re.search(r"STUDENT-PIPELINE \S+ completed accuracy=(0\.9\d|1\.00)", starter.output), _report(starter)
    # The pinned versions, whatever the ranges the project wrote.
    for package, pinned in (("zenml", "0.98.0"), ("mlflow", "3.17.2")):
        assert re.search(rf"> {package}\s+{re.escape(pinned)}\s*$", starter.output, re.MULTILINE), _report(starter)


def test_starter_installs_only_its_own_package(starter: JobRun) -> None:
    """The image already has zenml[server], scikit-learn and pandas: uv adds tabulate and nothing else."""
    assert starter.returncode == 0, _report(starter)
    installed = re.findall(r">\s+\+ (\S+)==", starter.output, re.MULTILINE)
    assert installed == ["tabulate"], _report(starter)
    assert not re.search(r">\s+- \S+==\S+$", starter.output, re.MULTILINE), "the install replaced a package"


def test_conda_project_with_zenml_integration_install_keeps_the_pins(
    stack: DeployedStack, runner_config: RunnerConfig, student: dict[str, str], tmp_path: Path
) -> None:
    result = run_project("conda-integration", "environment.yml", stack, runner_config, student, tmp_path)
    assert result.returncode == 0, _report(result)
    assert "INTEGRATION-INSTALL kept the pins" in result.output, _report(result)
    assert re.search(r"STUDENT-PIPELINE \S+ completed", result.output), _report(result)


def test_true_conflict_stops_at_install_with_what_to_change(
    stack: DeployedStack, runner_config: RunnerConfig, student: dict[str, str], tmp_path: Path
) -> None:
    result = run_project("old-mlflow", "requirements.txt", stack, runner_config, student, tmp_path)
    assert result.returncode != 0, _report(result)
    expected = (
        "mlops-job: error: requirements.txt conflicts with the versions this server's job image pins",
        "- mlflow: requirements.txt asks for `mlflow<3`, this server's job image has mlflow 3.17.2. Change it to a "
        "range that includes 3.17.2 (`mlflow`, `mlflow>=3` or `mlflow==3.17.2`) or remove the line.",
    )
    for line in expected:
        assert line in result.output, _report(result)
    assert "should have refused" not in result.output and "MLflow tracker ready" not in result.output
