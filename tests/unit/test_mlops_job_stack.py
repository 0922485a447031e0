"""mlops-job refuses a stack that is not entirely the job user's own (images/ci-job/bin/mlops-job)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ME, OTHER = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
TRACKERS = ("http://127.0.0.1:5000", "http://localhost:5000")


def _load_mlops_job():
    path = REPO / "images" / "ci-job" / "bin" / "mlops-job"
    loader = importlib.machinery.SourceFileLoader("mlops_job_stack", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


MLOPS_JOB = _load_mlops_job()


def component(kind: str, owner: str | None = ME, **configuration: str) -> dict:
    return {
        "id": f"id-{kind}",
        "name": f"alice-{kind}",
        "body": {"type": kind, "user_id": owner},
        "metadata": {"configuration": configuration},
    }


def own_stack(**overrides: dict) -> list[dict]:
    parts = {
        "orchestrator": component("orchestrator"),
        "artifact_store": component("artifact_store", path="s3://alice/zenml"),
        "experiment_tracker": component("experiment_tracker", tracking_uri="http://127.0.0.1:5000/"),
    }
    return list({**parts, **overrides}.values())


def problems(components: list[dict]) -> list[str]:
    return MLOPS_JOB.stack_problems("alice-stack", components, ME, "alice", TRACKERS)


def test_the_users_own_stack_passes():
    assert problems(own_stack()) == []
    assert problems(own_stack(experiment_tracker=component("experiment_tracker", tracking_uri=TRACKERS[1]))) == []
    assert problems(own_stack(artifact_store=component("artifact_store", path="s3://alice"))) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"orchestrator": component("orchestrator", OTHER)}, "orchestrator 'alice-orchestrator' of alice-stack is not"),
        ({"orchestrator": component("orchestrator", None)}, "is not yours"),
        (
            {"orchestrator": {"id": "x", "name": "bob-orch", "permission_denied": True, "body": None}},
            "'bob-orch' of alice-stack is not yours",
        ),
        ({"artifact_store": component("artifact_store", OTHER, path="s3://alice/z")}, "is not yours"),
        ({"artifact_store": component("artifact_store", path="s3://bob/zenml")}, "outside your bucket s3://alice"),
        ({"artifact_store": component("artifact_store", path="s3://alice-evil/zenml")}, "outside your bucket"),
        ({"artifact_store": component("artifact_store", path="/tmp/zenml")}, "outside your bucket"),
        ({"artifact_store": component("artifact_store")}, "outside your bucket"),
        (
            {"experiment_tracker": component("experiment_tracker", tracking_uri="http://mlflow.bob:5000")},
            "logs to 'http://mlflow.bob:5000', not to this job's tracker http://127.0.0.1:5000",
        ),
        (
            {"experiment_tracker": component("experiment_tracker", tracking_uri="http://127.0.0.1:5001")},
            "set the template's tracker-port",
        ),
    ],
)
def test_a_stack_with_a_foreign_part_is_refused(overrides, expected):
    found = problems(own_stack(**overrides))
    assert len(found) == 1 and expected in found[0], found


def test_every_problem_is_reported():
    foreign = [
        component("orchestrator", OTHER),
        component("artifact_store", path="s3://bob"),
        component("experiment_tracker", tracking_uri="http://x:5000"),
    ]
    assert len(problems(foreign)) == 3


class _Settings(dict):
    pass


@pytest.mark.parametrize(
    ("default_project_id", "project_name", "expected"),
    [("p-1", "alice", "p-1"), ("p-2", "bob", None), ("p-3", "default", None), (None, None, None)],
)
def test_the_run_goes_to_the_users_own_project(default_project_id, project_name, expected):
    settings = _Settings(ZENML_USERNAME="alice")
    me = {"id": ME, "body": {"default_project_id": default_project_id}}

    def get(path: str, **_params: object) -> dict:
        assert path == f"/projects/{default_project_id}"
        return {"name": project_name}

    if expected:
        assert MLOPS_JOB.own_project(settings, me, get) == expected
    else:
        with pytest.raises(MLOPS_JOB.JobError, match="no ZenML project of their own"):
            MLOPS_JOB.own_project(settings, me, get)
