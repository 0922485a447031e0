"""playbooks/upgrade.yml (issue 10, item 4) on a stack of its own, from the previous ZenML release to the pinned one.

The module deploys the stack `it-upgrade` with the zenml-server image of the previous release (built locally like
today's, `MLOPS_ZENML_VERSION=0.97.0 scripts/build-images.sh zenml-server`), provisions a student, and gives them
ZenML data: a private secret and a pipeline run (made with that release's own client, so client and server match).
The tests then run in file order: a job image whose ZenML is not the server's is refused with nothing changed; an
upgrade made to fail after the migration is rolled back to a working server with the data intact; the real upgrade
keeps users, stacks, secrets and runs, and the student still logs in. MLOPS_TEST_UPGRADE_STACK, _PORTS (four,
comma-separated: database, S3 API, MinIO console, ZenML) and _CREDENTIALS choose another stack name, ports and
credentials directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from docker_networks import free_subnet
from playbook_runs import run_playbook

SCENARIO_VARS = REPO / "molecule" / "shared" / "group_vars" / "mlops_servers.yml"
STACK = os.environ.get("MLOPS_TEST_UPGRADE_STACK", "it-upgrade")
PORTS = [int(port) for port in os.environ.get("MLOPS_TEST_UPGRADE_PORTS", "23307,23900,23901,23080").split(",")]
PREVIOUS = "0.97.0"
CURRENT = "0.98.0"
STUDENT = "upstudent"
SECRET = {"name": f"{STUDENT}-upgrade-probe", "values": {"token": "kept-across-the-upgrade"}}
# A one-step pipeline, run as the student with the previous release's client on the default (local) stack.
PIPELINE = """
from zenml import pipeline, step

@step
def answer() -> int:
    return 42

@pipeline(enable_cache=False)
def upgrade_probe() -> None:
    answer()

print("RUN", upgrade_probe().id)
"""


@dataclass
class UpgradeStack:
    directory: Path
    variables: dict
    run_id: str = ""
    before: dict = field(default_factory=dict)

    @property
    def inventory(self) -> Path:
        return self.directory / "hosts.yml"

    @property
    def credentials(self) -> Path:
        return Path(self.variables["mlops_credentials_dir"])

    @property
    def zenml_url(self) -> str:
        port = self.variables.get("zenml_server_backend_port", self.variables["zenml_server_port"])
        return f"http://127.0.0.1:{port}/api/v1"

    def write_inventory(self, **changes: object) -> None:
        self.variables.update(changes)
        (self.directory / "group_vars").mkdir(exist_ok=True)
        text = yaml.safe_dump(self.variables)
        (self.directory / "group_vars" / "mlops_servers.yml").write_text(text, encoding="utf-8")

    def playbook(self, playbook: str, *args: str, **extra_vars: object) -> subprocess.CompletedProcess[str]:
        arguments = ["-i", str(self.inventory), f"playbooks/{playbook}", *args]
        if extra_vars:
            arguments += ["-e", json.dumps(extra_vars)]
        return run_playbook(arguments, timeout=1500, stdin=subprocess.DEVNULL)

    def upgrade(self, **extra_vars: object) -> subprocess.CompletedProcess[str]:
        return self.playbook(
            "upgrade.yml", confirm=True, upgrade_verify_users=[STUDENT], upgrade_backup=False, **extra_vars
        )

    def password(self, user: str) -> str:
        if user == "root":
            return (self.credentials / "server" / "zenml_admin_password").read_text(encoding="utf-8").strip()
        return (self.credentials / "users" / user / "zenml_password").read_text(encoding="utf-8").strip()

    def session(self, user: str) -> requests.Session:
        response = requests.post(
            f"{self.zenml_url}/login", data={"username": user, "password": self.password(user)}, timeout=30
        )
        response.raise_for_status()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def get(self, session: requests.Session, path: str, **params: object) -> dict:
        response = session.get(f"{self.zenml_url}{path}", params={"size": 1000, **params}, timeout=30)
        response.raise_for_status()
        return response.json()

    def version(self) -> str:
        return requests.get(f"{self.zenml_url}/info", timeout=30).json()["version"]

    def zenml_container(self) -> str:
        return _sh("docker", "inspect", "--format", "{{.Id}}", f"{STACK}-zenml").strip()

    def state(self) -> dict:
        """What must survive: users, stacks, components, runs and pipelines, and the student's own view."""
        admin, student = self.session("root"), self.session(STUDENT)
        secret = self.get(student, "/secrets", name=SECRET["name"])["items"]
        values = self.get(student, f"/secrets/{secret[0]['id']}")["body"]["values"] if secret else None
        return {
            "users": sorted(user["name"] for user in self.get(admin, "/users")["items"]),
            "stacks": sorted(stack["name"] for stack in self.get(admin, "/stacks")["items"]),
            "components": sorted(c["name"] for c in self.get(admin, "/components")["items"]),
            "runs": sorted(run["id"] for run in self.get(admin, "/runs")["items"]),
            "pipelines": sorted(p["name"] for p in self.get(admin, "/pipelines")["items"]),
            "student_stacks": sorted(stack["name"] for stack in self.get(student, "/stacks")["items"]),
            "student_runs": sorted(run["id"] for run in self.get(student, "/runs")["items"]),
            "student_secret": values,
        }


def _sh(*command: str, check: bool = True, **options: object) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    if check:
        assert completed.returncode == 0, f"{' '.join(command)}: {completed.stderr[-2000:]}"
    return completed.stdout


def _tail(completed: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((completed.stdout + completed.stderr).splitlines()[-lines:])


def _says(completed: subprocess.CompletedProcess[str], text: str) -> bool:
    """Whether the run's output holds ``text``, wherever the callback wrapped its lines."""
    return " ".join(text.split()) in " ".join(completed.stdout.split())


def _previous_server_image() -> None:
    """The previous release's server image, built like today's when it is missing (about 30 s)."""
    image = f"onprem-mlops/zenml-server:{PREVIOUS}"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False).returncode == 0:
        return
    environment = {**os.environ, "MLOPS_ZENML_VERSION": PREVIOUS}
    _sh(str(REPO / "scripts" / "build-images.sh"), "zenml-server", env=environment, timeout=900)


def _remove_stack() -> None:
    _sh(str(REPO / "scripts" / "remove-stack.sh"), STACK, check=False)
    for path in (Path("/opt") / STACK, Path("/opt") / f"onprem-{STACK}", Path("/var/lib") / f"{STACK}-upgrade"):
        shutil.rmtree(path, ignore_errors=True)
    for service in ("database", "minio", "zenml"):
        _sh("docker", "image", "rm", f"{STACK}-rollback/{service}:previous", check=False)


def _run_pipeline(stack: UpgradeStack) -> str:
    """Run the probe pipeline as the student in a one-shot container of the previous release's server image."""
    environment = {
        **os.environ,
        "ZENML_STORE_URL": "http://zenml:8080",
        "ZENML_STORE_USERNAME": STUDENT,
        "ZENML_STORE_PASSWORD": stack.password(STUDENT),
    }
    # ZenML needs the pipeline's module in a file (its source root), so the script is written to one first.
    output = _sh(
        "docker", "run", "--rm", "--network", STACK, "--label", f"org.onprem-mlops.stack={STACK}",
        "-e", "ZENML_STORE_URL", "-e", "ZENML_STORE_USERNAME", "-e", "ZENML_STORE_PASSWORD", "-e", "MLOPS_PIPELINE",
        "--workdir", "/tmp", "--entrypoint", "sh", f"onprem-mlops/zenml-server:{PREVIOUS}",
        "-c", 'printf "%s" "$MLOPS_PIPELINE" > probe.py && exec python probe.py',
        env={**environment, "MLOPS_PIPELINE": PIPELINE}, timeout=300,
    )  # fmt: skip
    return next(line.split()[1] for line in output.splitlines() if line.startswith("RUN "))


@pytest.fixture(scope="module")
def up_stack() -> Iterator[UpgradeStack]:
    if shutil.which("docker") is None:
        pytest.skip("needs Docker")
    directory = Path(tempfile.mkdtemp(prefix=f"{STACK}-"))
    variables = yaml.safe_load(SCENARIO_VARS.read_text(encoding="utf-8"))
    variables.update(
        mlops_stack_name=STACK,
        mlops_network_name=STACK,
        mlops_jobs_network_name=f"{STACK}-jobs",
        mlops_jobs_network_subnet=free_subnet("10.231.0.0/16"),
        mlops_credentials_dir=os.environ.get("MLOPS_TEST_UPGRADE_CREDENTIALS", str(directory / "credentials")),
        mlops_administrator="",
        python_env_path=f"/opt/onprem-{STACK}/venv",
        database_port=PORTS[0],
        minio_api_port=PORTS[1],
        minio_console_port=PORTS[2],
        zenml_server_port=PORTS[3],
        # Behind the TLS front door ZenML and MinIO answer on loopback at their back-end ports, which the test
        # (like the collection's modules) uses; pinned so that they cannot meet another stack's public ports.
        minio_backend_api_port=PORTS[1] + 10,
        minio_backend_console_port=PORTS[2] + 10,
        zenml_server_backend_port=PORTS[3] + 10,
        zenml_server_version=PREVIOUS,
    )
    stack = UpgradeStack(directory, variables)
    stack.write_inventory()
    host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {"all": {"children": {"mlops_servers": {"hosts": {f"{STACK}-server": host}}}}}
    stack.inventory.write_text(yaml.safe_dump(hosts), encoding="utf-8")
    try:
        _remove_stack()  # what a run killed before its clean-up left
        _previous_server_image()
        deployed = stack.playbook("run_server.yml")
        assert deployed.returncode == 0, _tail(deployed)
        added = stack.playbook("manage_users.yml", "--tags", "add", username=STUDENT, role="developer")
        assert added.returncode == 0, _tail(added)
        student = stack.session(STUDENT)
        owner = student.get(f"{stack.zenml_url}/current-user", timeout=30).json()["id"]
        created = student.post(
            f"{stack.zenml_url}/secrets", json={**SECRET, "private": True, "user": owner}, timeout=30
        )
        assert created.ok, created.text
        stack.run_id = _run_pipeline(stack)
        stack.before = stack.state()
        yield stack
    finally:
        _remove_stack()
        shutil.rmtree(directory, ignore_errors=True)


def test_the_stack_starts_on_the_previous_release_with_the_students_data(up_stack) -> None:
    assert up_stack.version() == PREVIOUS
    assert up_stack.run_id in up_stack.before["student_runs"]
    assert f"{STUDENT}-stack" in up_stack.before["student_stacks"]
    assert up_stack.before["student_secret"] == SECRET["values"]


def test_a_job_image_of_another_zenml_is_refused_before_anything_changes(up_stack) -> None:
    # The pins still name the previous server, while the only job image brings the current ZenML.
    container = up_stack.zenml_container()
    refused = up_stack.upgrade()
    assert refused.returncode != 0
    assert _says(refused, "Move both pins together"), _tail(refused)
    assert up_stack.zenml_container() == container
    assert up_stack.version() == PREVIOUS


def test_a_failed_upgrade_is_rolled_back_to_a_working_server(up_stack) -> None:
    up_stack.write_inventory(zenml_server_version=CURRENT)
    failed = up_stack.upgrade(upgrade_fail_after_migration=True)
    assert failed.returncode != 0
    assert _says(failed, "ROLLED BACK"), _tail(failed)
    # The migration did run: the new server verified before the deliberate failure.
    assert _says(failed, '"account": "upstudent", "database": "ok"'), _tail(failed)
    assert up_stack.version() == PREVIOUS
    assert up_stack.state() == up_stack.before


def test_the_upgrade_keeps_users_stacks_secrets_and_runs(up_stack) -> None:
    upgraded = up_stack.upgrade()
    assert upgraded.returncode == 0, _tail(upgraded)
    assert _says(upgraded, f"Upgraded zenml {PREVIOUS} -> {CURRENT}"), _tail(upgraded)
    assert up_stack.version() == CURRENT
    assert up_stack.state() == up_stack.before
