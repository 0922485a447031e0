"""A server deployed in part (run_server.yml --skip-tags zenml_server,...: the vm_core scenario) refuses to
provision anyone, before changing anything: people need the whole server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "support"))
# The shared verifier's conftest (molecule/shared/tests), which pytest loaded first: its fixtures, for this
# file outside its directory.
import conftest as shared_verifier
from mlops_clients import s3_client
from playbook_runs import run_playbook

pytestmark = pytest.mark.skipif(shared_verifier.FULL_SERVER, reason="the whole server is deployed")
stack_vars = shared_verifier.stack_vars
secrets = shared_verifier.secrets
root_sql = shared_verifier.root_sql
credentials_dir = shared_verifier.credentials_dir


def test_only_the_deployed_services_images_travelled(host, stack_vars):
    assert host.run(f"docker inspect {stack_vars['mlops_stack_name']}-zenml").rc != 0
    images = host.check_output("docker image ls --format '{{.Repository}}:{{.Tag}}'").split()
    assert not [image for image in images if "zenml" in image or image == stack_vars["mlops_job_image"]], images
    assert any("mariadb" in image or "mysql" in image for image in images), images
    assert any("minio" in image for image in images), images


def test_adding_a_user_is_refused_with_nothing_changed(stack_vars, secrets, credentials_dir, root_sql):
    name = f"carol{uuid.uuid4().hex[:5]}"
    run = run_playbook(
        [
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "playbooks/manage_users.yml",
            "--tags",
            "add",
            "-e",
            f"username={name}",
            "-e",
            "role=developer",
        ],
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "the server was deployed in part" in output, output[-3000:]
    assert root_sql("SELECT COUNT(*) FROM stack_management.users WHERE username = %s", (name,)) == [("0",)]
    assert not root_sql("SHOW DATABASES LIKE %s", (f"%{name}%",))
    buckets = {bucket.name for bucket in s3_client(stack_vars, "root", secrets["minio_root_password"]).list_buckets()}
    assert not any(name in bucket for bucket in buckets)
    assert not (credentials_dir / f"{name}.env").exists()
