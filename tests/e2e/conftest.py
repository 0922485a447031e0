"""Fixtures the end-to-end tests share: the deployed stack and the runner configuration its jobs get."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from runner_limits import RunnerConfig, render_runner_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import DeployedStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> DeployedStack:
    return DeployedStack(tmp_path_factory.mktemp("inventory"))


@pytest.fixture(scope="module")
def runner_config(tmp_path_factory: pytest.TempPathFactory, stack: DeployedStack) -> RunnerConfig:
    """The runner role's config.toml with the stack's job limits and jobs network."""
    role_vars = {name: value for name, value in stack.vars.items() if name.startswith("gitlab_runner_job_")}
    role_vars["gitlab_runner_job_network"] = stack.vars["mlops_jobs_network_name"]
    if stack.vars.get("mlops_tls_certificates", "server_ca") != "none":
        # What run_server.yml mounts: the CA of the database's certificate, from the database role's directory.
        role_vars["gitlab_runner_job_database_ca"] = f"/opt/{stack.vars['mlops_stack_name']}/database-tls/ca.crt"
    return RunnerConfig.load(render_runner_config(tmp_path_factory.mktemp("runner"), role_vars))
