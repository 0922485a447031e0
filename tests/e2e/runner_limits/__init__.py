"""Run a project's .gitlab-ci.yml with gitlab-ci-local under the limits of the runner role's config.toml.

See docs/ci-testing.md: what is the real GitLab Runner's behaviour here and what this package emulates.
"""

from .gitlab_runner_local import JobRun, run
from .runner_config import RunnerConfig, render_runner_config

__all__ = ["JobRun", "RunnerConfig", "render_runner_config", "run"]
