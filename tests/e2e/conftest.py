"""Fixtures the end-to-end tests share: the deployed stack and the runner configuration its jobs get."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from runner_limits import RunnerConfig
from student_job import runner_config as runner_config_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import DeployedStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> DeployedStack:
    return DeployedStack(tmp_path_factory.mktemp("inventory"))


@pytest.fixture(scope="module")
def runner_config(tmp_path_factory: pytest.TempPathFactory, stack: DeployedStack) -> RunnerConfig:
    """The runner role's config.toml with the stack's job limits and jobs network."""
    return runner_config_for(stack.vars, tmp_path_factory.mktemp("runner"))
