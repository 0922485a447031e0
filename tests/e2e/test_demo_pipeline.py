"""The demo project through the CI template, end to end, on the stack Molecule deployed (issue 4, item 5).

A student (alice<id>) and a second developer are provisioned with manage_users.yml; the second one runs
the same demo (same pipeline and model names) last, in their own ZenML project. The demo's own
.gitlab-ci.yml (extras/demo) includes the template as a CI/CD component; gitlab-ci-local cannot reach a
GitLab, so the template file (extras/gitlab-ci.yml) is put where gitlab-ci-local keeps fetched components
(``.gitlab-ci-local/includes/<host>/<project>/<ref>/templates/<name>.yml``), exactly as a component
project would serve it. The job runs with gitlab-ci-local's docker executor on the local job image,
under the runner role's limits (runner_limits/), on the stack's network, with the student's credentials
as CI/CD variables and the servers' internal names, as the credentials page tells students to set them.
What the job did is then checked from outside with independent clients: PyMySQL, the MinIO SDK, ZenML's
REST API.

    make e2e      # or: pytest -p no:cacheprovider tests/e2e/test_demo_pipeline.py  (after the integration tests)
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from runner_limits import JobRun, RunnerConfig
from runner_limits.gitlab_runner_local import gitlab_ci_local

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from deployed_stack import DeployedStack
from student_job import JOB, TEMPLATE, ci_variables, component_path, run_demo

PIPELINE = "training_pipeline"
REGISTERED_MODEL = "breast-cancer-classifier"
STEPS = {"load_data", "split_data", "train_model", "evaluate_model"}
# What the credentials page (roles/users/templates/md.j2) tells students to set in GitLab.
RUN = secrets.token_hex(3)
ALICE = f"alice{RUN}"
BOB = f"bob{RUN}"


def _report(result: JobRun) -> str:
    return f"gitlab-ci-local exited {result.returncode} after {result.duration:.1f}s\n{result.output}"


@pytest.fixture(scope="module")
def users(stack: DeployedStack) -> Iterator[dict[str, dict[str, str]]]:
    try:
        for name in (ALICE, BOB):
            added = stack.manage_users("add", username=name, role="developer")
            assert added.returncode == 0, added.tail()
        yield {name: stack.user_env(name) for name in (ALICE, BOB)}
    finally:
        for name in (ALICE, BOB):
            stack.manage_users("remove", username=name, confirm=True)


def _cache_volumes() -> set[str]:
    listing = subprocess.run(
        ["docker", "volume", "ls", "-q", "--filter", "name=gcl-"], capture_output=True, text=True, check=True
    )
    return {name for name in listing.stdout.split() if "mlops-deps" in name}


@pytest.fixture(scope="module", autouse=True)
def _remove_cache_volumes() -> Iterator[None]:
    before = _cache_volumes()
    yield
    created = sorted(_cache_volumes() - before)
    if created:
        subprocess.run(["docker", "volume", "rm", *created], capture_output=True, check=False)


@pytest.fixture(scope="module")
def first_run(runner_config: RunnerConfig, users: dict[str, dict[str, str]]) -> JobRun:
    result = run_demo(runner_config, ci_variables(users[ALICE]))
    print(f"\nfirst run: {result.duration:.1f}s", file=sys.stderr)
    return result


@pytest.fixture(scope="module")
def second_run(first_run: JobRun, runner_config: RunnerConfig, users: dict[str, dict[str, str]]) -> JobRun:
    assert first_run.returncode == 0, _report(first_run)
    result = run_demo(runner_config, ci_variables(users[ALICE]))
    print(f"\nsecond run: {result.duration:.1f}s", file=sys.stderr)
    return result


def mlflow_rows(stack: DeployedStack, env: dict[str, str], sql: str, args: tuple = ()) -> list[tuple]:
    with stack.mysql(env["MYSQL_USER"], env["MYSQL_PASSWORD"], env["MYSQL_DATABASE"]) as db, db.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def mlflow_table_exists(stack: DeployedStack, env: dict[str, str], table: str) -> bool:
    return bool(mlflow_rows(stack, env, "SHOW TABLES LIKE %s", (table,)))


def pipeline_runs(stack: DeployedStack, env: dict[str, str]) -> list[dict]:
    """The user's runs of the demo pipeline, in their own project (the project is the user's name)."""
    session = stack.zenml_session(env["ZENML_USERNAME"], env["ZENML_PASSWORD"])
    runs = stack.zenml_get(
        session, "/runs", project=env["ZENML_USERNAME"], pipeline_name=PIPELINE, sort_by="asc:created", hydrate=True
    )["items"]
    return [run for run in runs if run["resources"]["user"]["name"] == env["ZENML_USERNAME"]]


def step_statuses(stack: DeployedStack, env: dict[str, str], run_id: str) -> dict[str, str]:
    session = stack.zenml_session(env["ZENML_USERNAME"], env["ZENML_PASSWORD"])
    steps = stack.zenml_get(session, "/steps", pipeline_run_id=run_id)["items"]
    return {step["name"]: step["body"]["status"] for step in steps}


# --- the template --------------------------------------------------------------------------------
def _preview(project: Path) -> dict:
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    for arguments in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run([*git, *arguments], cwd=project, check=True)
    completed = subprocess.run(
        [gitlab_ci_local(), "--preview", "--no-color"], cwd=project, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return yaml.safe_load(completed.stdout[completed.stdout.index("---") :])


def test_template_works_as_component_and_as_local_include(tmp_path: Path) -> None:
    """The same file, included as a component or copied and included locally, gives the same job."""
    component, cached = component_path()
    inputs = {"entrypoint": "train.py --fast", "tracker-port": 5001, "stage": "build", "job-name": "train"}
    as_component = tmp_path / "component"
    (as_component / cached).parent.mkdir(parents=True)
    (as_component / cached).write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    (as_component / ".gitlab-ci.yml").write_text(
        yaml.safe_dump({"include": [{"component": component, "inputs": inputs}]}), encoding="utf-8"
    )
    as_local = tmp_path / "local"
    (as_local / "ci").mkdir(parents=True)
    (as_local / "ci" / "zenml-pipeline.yml").write_text(TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    (as_local / ".gitlab-ci.yml").write_text(
        yaml.safe_dump({"include": [{"local": "/ci/zenml-pipeline.yml", "inputs": inputs}]}), encoding="utf-8"
    )
    job = _preview(as_component)["train"]
    assert job == _preview(as_local)["train"]
    assert job["stage"] == "build"
    assert job["script"] == ["mlops-job run"]
    assert job["variables"]["ZENML_ENTRYPOINT"] == "train.py --fast"
    assert str(job["variables"]["MLOPS_TRACKER_PORT"]) == "5001"
    assert job["cache"][0]["key"]["files"] == ["requirements.txt"]
    assert job["image"]["name"].startswith("onprem-mlops/ci-job:")


# --- the demo through the template ---------------------------------------------------------------
def test_demo_job_passes(first_run: JobRun) -> None:
    assert first_run.returncode == 0, _report(first_run)
    assert "PASS" in first_run.output and "entry point starts after" in first_run.output, _report(first_run)
    figures = re.findall(r"entry point starts after [^:]*", first_run.output)
    print("\n" + "\n".join(figures), file=sys.stderr)


def test_mlflow_run_with_params_metrics_and_model_in_users_schema(
    first_run: JobRun, stack: DeployedStack, users: dict[str, dict[str, str]]
) -> None:
    assert first_run.returncode == 0, _report(first_run)
    alice = users[ALICE]
    runs = mlflow_rows(
        stack,
        alice,
        "SELECT r.run_uuid, r.status FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
        "WHERE e.name = %s",
        (PIPELINE,),
    )
    assert len(runs) == 1 and runs[0][1] == "FINISHED", runs
    run_id = runs[0][0]
    params = dict(mlflow_rows(stack, alice, "SELECT `key`, value FROM params WHERE run_uuid = %s", (run_id,)))
    assert params["logisticregression__C"] == "1.0"
    assert params["logisticregression__max_iter"] == "500"
    metrics = dict(mlflow_rows(stack, alice, "SELECT `key`, value FROM latest_metrics WHERE run_uuid = %s", (run_id,)))
    assert {"training_accuracy_score", "test_accuracy", "test_f1", "test_roc_auc"} <= set(metrics), metrics
    assert metrics["test_accuracy"] > 0.9
    versions = mlflow_rows(
        stack, alice, "SELECT version, run_id, status, source FROM model_versions WHERE name = %s", (REGISTERED_MODEL,)
    )
    assert versions and versions[0][:3] == (1, run_id, "READY"), versions
    assert versions[0][3].startswith("models:/")


def test_mlflow_artifacts_in_users_bucket(
    first_run: JobRun, stack: DeployedStack, users: dict[str, dict[str, str]]
) -> None:
    assert first_run.returncode == 0, _report(first_run)
    alice = users[ALICE]
    ((experiment_id, model_id),) = mlflow_rows(
        stack,
        alice,
        "SELECT e.experiment_id, m.model_id FROM experiments e JOIN logged_models m "
        "ON m.experiment_id = e.experiment_id WHERE e.name = %s",
        (PIPELINE,),
    )
    s3 = stack.s3(alice["S3_ACCESS_KEY"], alice["S3_SECRET_KEY"])
    names = {item.object_name for item in s3.list_objects(alice["S3_BUCKET"], recursive=True)}
    model = f"mlflow/{experiment_id}/models/{model_id}/artifacts/"
    assert {model + "MLmodel", model + "model.pkl"} <= names, sorted(names)
    assert any(name.startswith("zenml/train_model/") for name in names), sorted(names)


def test_zenml_pipeline_run_recorded_on_users_stack(
    first_run: JobRun, stack: DeployedStack, users: dict[str, dict[str, str]]
) -> None:
    assert first_run.returncode == 0, _report(first_run)
    alice = users[ALICE]
    runs = pipeline_runs(stack, alice)
    assert len(runs) == 1, runs
    assert runs[0]["body"]["status"] == "completed"
    assert runs[0]["resources"]["stack"]["name"] == alice["ZENML_STACK"]
    assert step_statuses(stack, alice, runs[0]["id"]) == dict.fromkeys(STEPS, "completed")


def test_second_run_reuses_cached_steps(
    second_run: JobRun, stack: DeployedStack, users: dict[str, dict[str, str]]
) -> None:
    assert second_run.returncode == 0, _report(second_run)
    alice = users[ALICE]
    runs = pipeline_runs(stack, alice)
    assert len(runs) == 2, runs
    assert step_statuses(stack, alice, runs[-1]["id"]) == dict.fromkeys(STEPS, "cached")
    # A fully cached run trains nothing: no second MLflow run, no second model version.
    assert mlflow_rows(stack, alice, "SELECT COUNT(*) FROM runs")[0][0] == 1
    assert mlflow_rows(stack, alice, "SELECT COUNT(*) FROM model_versions")[0][0] == 1
    assert "dependencies installed from the cache" in second_run.output, _report(second_run)


def test_nothing_written_to_the_other_developer(
    second_run: JobRun, stack: DeployedStack, users: dict[str, dict[str, str]]
) -> None:
    assert second_run.returncode == 0, _report(second_run)
    bob = users[BOB]
    if mlflow_table_exists(stack, bob, "runs"):
        assert mlflow_rows(stack, bob, "SELECT COUNT(*) FROM runs")[0][0] == 0
        assert mlflow_rows(stack, bob, "SELECT COUNT(*) FROM registered_models")[0][0] == 0
    s3 = stack.s3(bob["S3_ACCESS_KEY"], bob["S3_SECRET_KEY"])
    assert [item.object_name for item in s3.list_objects(bob["S3_BUCKET"], recursive=True)] == []
    assert pipeline_runs(stack, bob) == []
    admin = stack.zenml_session("root", stack.secrets["zenml_admin_password"])
    runs = stack.zenml_get(admin, "/runs", project=ALICE, pipeline_name=PIPELINE, hydrate=True)["items"]
    assert runs and {run["resources"]["user"]["name"] for run in runs} == {ALICE}
    assert {run["resources"]["stack"]["name"] for run in runs} == {users[ALICE]["ZENML_STACK"]}


# --- refusals ------------------------------------------------------------------------------------
def test_missing_variables_fail_with_one_clear_message(
    runner_config: RunnerConfig, users: dict[str, dict[str, str]]
) -> None:
    result = run_demo(runner_config, ci_variables(users[ALICE], without=("MYSQL_PASSWORD", "ZENML_STACK")))
    assert result.returncode != 0, _report(result)
    assert "missing CI/CD variables: MYSQL_PASSWORD, ZENML_STACK." in result.output, _report(result)
    assert "Settings > CI/CD > Variables" in result.output
    assert "MLflow tracker" not in result.output


def test_administrator_credentials_are_refused(runner_config: RunnerConfig, stack: DeployedStack) -> None:
    administrator = stack.vars.get("mlops_administrator")
    assert administrator, "the CI stack provisions a personal administrator (mlops_administrator)"
    result = run_demo(runner_config, ci_variables(stack.user_env(administrator)))
    assert result.returncode != 0, _report(result)
    assert "never run as" in result.output and "administrator" in result.output, _report(result)
    assert "MLflow tracker ready" not in result.output


def test_job_ran_on_the_jobs_network_and_left_nothing(
    first_run: JobRun, second_run: JobRun, stack: DeployedStack
) -> None:
    inspect = first_run.final_inspect(JOB)
    assert inspect["HostConfig"]["NetworkMode"] == stack.vars["mlops_jobs_network_name"]
    assert inspect["Networks"] == [stack.vars["mlops_jobs_network_name"]]
    assert first_run.leftovers == [] and second_run.leftovers == []


# --- a second student, the same code ------------------------------------------------------------
def test_second_student_runs_the_same_pipeline(
    second_run: JobRun, runner_config: RunnerConfig, stack: DeployedStack, users: dict[str, dict[str, str]]
) -> None:
    """The whole class runs the same starter project: pipeline and model names do not collide across students."""
    assert second_run.returncode == 0, _report(second_run)
    result = run_demo(runner_config, ci_variables(users[BOB]))
    assert result.returncode == 0, _report(result)
    bob_runs, alice_runs = pipeline_runs(stack, users[BOB]), pipeline_runs(stack, users[ALICE])
    assert len(bob_runs) == 1 and len(alice_runs) == 2
    assert bob_runs[0]["body"]["status"] == "completed"
    assert bob_runs[0]["resources"]["stack"]["name"] == users[BOB]["ZENML_STACK"]
    assert step_statuses(stack, users[BOB], bob_runs[0]["id"]) == dict.fromkeys(STEPS, "completed")
    pipeline_ids = {runs[0]["resources"]["pipeline"]["id"] for runs in (bob_runs, alice_runs)}
    assert len(pipeline_ids) == 2, "each student has their own pipeline of that name"
    assert mlflow_rows(stack, users[BOB], "SELECT COUNT(*) FROM runs")[0][0] == 1


@pytest.fixture(scope="module", autouse=True)
def _timed() -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"\ntest_demo_pipeline.py: {time.monotonic() - started:.0f}s", file=sys.stderr)
