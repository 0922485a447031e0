"""What a student's GitLab project sets for the CI template, as the e2e tests run it.

The CI/CD variables are the ones the credentials page and the user tools name (extras/tools,
``mlops_tools.stacks.CI_VARIABLES``); the servers' internal names are the template's defaults on the jobs
network. ``run_demo`` runs the demo project (extras/demo) through the template as a CI/CD component.
Shared by test_demo_pipeline.py, test_student_projects.py and the backup round trip
(tests/integration/test_backup_restore.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "extras" / "tools"))
from mlops_tools.stacks import CI_VARIABLES

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from runner_limits import JobRun, RunnerConfig, render_runner_config, run

DEMO = REPO / "extras" / "demo"
TEMPLATE = REPO / "extras" / "gitlab-ci.yml"
JOB = "zenml-pipeline"
# gitlab-ci-local's fallback when the repository has no remote: CI_SERVER_FQDN is gitlab.com.
GCL_SERVER = "gitlab.com"

INTERNAL_ADDRESSES = {
    "MYSQL_HOST": "database",
    "MYSQL_PORT": "3306",
    "S3_ENDPOINT_URL": "http://minio:9000",
    "ZENML_STORE_URL": "http://zenml:8080",
}


def component_path() -> tuple[str, str]:
    """(project path, ref) and the template's place in gitlab-ci-local's include cache, from the demo's include."""
    includes = yaml.safe_load((DEMO / ".gitlab-ci.yml").read_text(encoding="utf-8"))["include"]
    component = next(item["component"] for item in includes if "component" in item)
    match = re.fullmatch(r"\$CI_SERVER_FQDN/(?P<project>.+)/(?P<name>[^/@]+)@(?P<ref>.+)", component)
    assert match, f"unexpected component reference in the demo: {component}"
    cached = f".gitlab-ci-local/includes/{GCL_SERVER}/{match['project']}/{match['ref']}/templates/{match['name']}.yml"
    return component, cached


def runner_config(stack_vars: dict, directory: Path) -> RunnerConfig:
    """The runner role's config.toml for a stack: its job limits, jobs network and database CA."""
    role_vars = {name: value for name, value in stack_vars.items() if name.startswith("gitlab_runner_job_")}
    role_vars["gitlab_runner_job_network"] = stack_vars["mlops_jobs_network_name"]
    if stack_vars.get("mlops_tls_certificates", "server_ca") != "none":
        # What run_server.yml mounts: the CA of the database's certificate, from the database role's directory.
        role_vars["gitlab_runner_job_database_ca"] = f"/opt/{stack_vars['mlops_stack_name']}/database-tls/ca.crt"
    return RunnerConfig.load(render_runner_config(directory, role_vars))


def ci_variables(env: dict[str, str], *, without: tuple[str, ...] = ()) -> dict[str, str]:
    """The CI/CD variables a student sets from their .env, with the servers' internal names."""
    chosen = {name: env[name] for name in CI_VARIABLES if name not in without}
    return {**chosen, **INTERNAL_ADDRESSES}


def run_demo(config: RunnerConfig, variables: dict[str, str], *, mount_cache: bool = True) -> JobRun:
    """The demo's job through the template, from a fresh copy of the project.

    ``mount_cache`` keeps the job's `cache:` in a Docker volume from one run to the next (gcl-*), as the
    runner's S3 cache does between pipelines.
    """
    _component, cached = component_path()
    return run(
        DEMO,
        variables,
        job=JOB,
        config=config,
        extra_files={cached: TEMPLATE},
        extra_args=["--mount-cache"] if mount_cache else [],
        timeout=900,
    )


__all__ = [
    "CI_VARIABLES",
    "DEMO",
    "INTERNAL_ADDRESSES",
    "JOB",
    "TEMPLATE",
    "ci_variables",
    "component_path",
    "run_demo",
    "runner_config",
]
