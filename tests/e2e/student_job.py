"""What a student's GitLab project sets for the CI template, as the e2e tests run it.

The CI/CD variables are the ones the credentials page and the user tools name (extras/tools,
``mlops_tools.stacks.CI_VARIABLES``); the servers' internal names are the template's defaults on the jobs
network. Shared by test_demo_pipeline.py and test_student_projects.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "extras" / "tools"))
from mlops_tools.stacks import CI_VARIABLES

INTERNAL_ADDRESSES = {
    "MYSQL_HOST": "database",
    "MYSQL_PORT": "3306",
    "S3_ENDPOINT_URL": "http://minio:9000",
    "ZENML_STORE_URL": "http://zenml:8080",
}

__all__ = ["CI_VARIABLES", "INTERNAL_ADDRESSES"]
