"""The user tools of extras/tools against the deployed CI stack, used as a student and a teacher would.

mlops-mlflow-ui runs from this machine with --docker (this machine has no MLflow) and, as on a laptop,
inside a container with a virtualenv made from extras/tools/requirements.txt. MLflow and ZenML clients run
in containers of the job image on the host network, so they reach the stack at the addresses of the
credentials files. Every claim is checked from outside: MariaDB and MinIO as root, ZenML's REST API as the
admin, ``ps`` for command lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import CREDENTIALS, REPO, DeployedStack

TOOLS = REPO / "extras" / "tools"
sys.path.insert(0, str(TOOLS))
from mlops_tools.mlflow_ui import JOB_IMAGE

UI = TOOLS / "mlops-mlflow-ui"
REGISTER = TOOLS / "mlops-register-stack"
RUN = uuid.uuid4().hex[:5]
DEV = f"tudev{RUN}"
CONTAINER = f"mlops-tools-test-{RUN}"
CACHE = Path(os.environ.get("MLOPS_CACHE_DIR", Path.home() / ".cache" / "onprem-mlops"))
SECRET_KEYS = ("MYSQL_PASSWORD", "S3_SECRET_KEY", "ZENML_PASSWORD", "MLFLOW_TRACKING_PASSWORD")
# A one-step pipeline logging to the active stack's MLflow tracker; prints the run as JSON on its last line.
PROBE = """
import json

import mlflow
from zenml import pipeline, step
from zenml.client import Client

TRACKER = Client().active_stack_model.components["experiment_tracker"][0].name


@step(experiment_tracker=TRACKER, enable_cache=False)
def train() -> float:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("accuracy", 0.75)
    return 0.75


@pipeline(enable_cache=False)
def tools_probe() -> None:
    train()


if __name__ == "__main__":
    run = tools_probe()
    tracking_uri = Client().active_stack.experiment_tracker.get_tracking_uri()
    mlflow.set_tracking_uri(tracking_uri)
    found = mlflow.search_runs(experiment_names=["tools_probe"], output_format="list")
    print(json.dumps({"run_id": str(run.id), "status": run.status.value, "stack": run.stack.name,
                      "mlflow_runs": [r.data.metrics.get("accuracy") for r in found]}))
"""
# Logs one MLflow run through a tracking server (argv: URI, experiment); prints "<run id> <experiment id>".
LOG_RUN = """
import sys

import mlflow

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
with mlflow.start_run() as run:
    mlflow.log_param("alpha", "0.5")
    mlflow.log_metric("accuracy", 0.75)
    mlflow.log_text("hello from the tools test", "note.txt")
print(run.info.run_id, run.info.experiment_id)
"""

# ------------------------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def docker(*args: str, timeout: float = 600, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"docker {args[0]} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def in_job_image(script: str, *mounts: str) -> subprocess.CompletedProcess:
    """Run a bash script in a container of the job image on the host network, with the tools at /opt/mlops-tools."""
    options = ["run", "--rm", "--network", "host"]
    for mount in (f"{TOOLS}:/opt/mlops-tools:ro", *mounts):
        options += ["--volume", mount]
    return docker(*options, JOB_IMAGE, "bash", "-c", script)


def run_tool(tool: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(tool), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def processes_on_the_host() -> str:
    return subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout


def leaked(text: str, env: dict[str, str]) -> list[str]:
    return [key for key in SECRET_KEYS if env.get(key) and env[key] in text]


class RunningTool:
    """mlops-mlflow-ui running in the background, with its output collected."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(UI), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " is at http" in self.output:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"the tool did not get ready:\n{self.output}")

    def stop(self, signum: int, timeout: float = 60) -> tuple[int, float]:
        started = time.monotonic()
        if self.process.poll() is None:
            os.kill(self.process.pid, signum)
        returncode = self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return returncode, time.monotonic() - started


def search_runs(port: int, experiment_id: str) -> list[dict]:
    response = requests.post(
        f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search", json={"experiment_ids": [experiment_id]}, timeout=30
    )
    response.raise_for_status()
    return response.json().get("runs", [])


def wait_http(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout} s")


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def developer(stack) -> Iterator[dict[str, str]]:
    run = stack.manage_users("add", username=DEV, role="developer")
    assert run.returncode == 0, run.tail()
    yield {**stack.user_env(DEV), "path": str(CREDENTIALS / f"{DEV}.env")}
    remove_hybrid_resources(stack)
    run = stack.manage_users("remove", username=DEV, confirm=True)
    assert run.returncode == 0, run.tail()


def remove_hybrid_resources(stack: DeployedStack) -> None:
    """ZenML keeps an account that owns components: take away what the hybrid registration made."""
    admin = stack.zenml_session("root", stack.secrets["zenml_admin_password"])
    for kind in ("stacks", "components"):
        for item in stack.zenml_get(admin, f"/{kind}", name=f"startswith:{DEV}-hybrid-")["items"]:
            admin.delete(f"{stack.zenml_url}/api/v1/{kind}/{item['id']}", timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def administrator(stack) -> Iterator[dict[str, str]]:
    """The stack's personal administrator (mlopsadmin), or one made for this module."""
    name = stack.vars.get("mlops_administrator") or ""
    made = not (name and (CREDENTIALS / f"{name}.env").exists())
    if made:
        name = f"tuadm{RUN}"
        run = stack.manage_users("add", username=name, role="administrator")
        assert run.returncode == 0, run.tail()
    yield {**stack.user_env(name), "path": str(CREDENTIALS / f"{name}.env")}
    if made:
        stack.manage_users("remove", username=name, confirm=True)


@pytest.fixture(scope="module")
def developer_tracker(developer) -> Iterator[tuple[RunningTool, int]]:
    """The developer's MLflow UI, run from this machine with --docker."""
    port = free_port()
    tool = RunningTool("--env", developer["path"], "--docker", "--port", str(port))
    tool.wait_ready()
    yield tool, port
    tool.stop(signal.SIGTERM)
    docker("rm", "--force", f"mlops-mlflow-ui-{DEV}-{port}", check=False)


@pytest.fixture(scope="module")
def developer_run(developer_tracker) -> dict[str, str]:
    """One MLflow run logged through the developer's own tracker with the tracking API."""
    _, port = developer_tracker
    logged = in_job_image(f"python - http://127.0.0.1:{port} tools-{RUN} <<'EOF'\n{LOG_RUN}\nEOF")
    run_id, experiment_id = logged.stdout.split()[-2:]
    return {"run_id": run_id, "experiment_id": experiment_id}


@pytest.fixture(scope="module")
def laptop() -> Path:
    """A virtualenv made from extras/tools/requirements.txt, as on a student's machine (mounted at /laptop)."""
    build = (
        "unset UV_CONSTRAINT UV_PYTHON; uv venv -q --allow-existing /laptop --python /usr/bin/python3 && "
        "VIRTUAL_ENV=/laptop uv pip install -q --compile-bytecode -r /opt/mlops-tools/requirements.txt && "
        "touch /laptop/.complete"
    )
    digest = hashlib.sha256((TOOLS / "requirements.txt").read_bytes() + build.encode()).hexdigest()[:12]
    venv = CACHE / f"laptop-venv-{digest}"
    if (venv / ".complete").exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    venv.mkdir(parents=True)
    (CACHE / "uv").mkdir(parents=True, exist_ok=True)
    docker(
        "run", "--rm", "--volume", f"{TOOLS}:/opt/mlops-tools:ro", "--volume", f"{venv}:/laptop",
        "--volume", f"{CACHE / 'uv'}:/uvcache", "--env", "UV_CACHE_DIR=/uvcache", JOB_IMAGE, "bash", "-c", build,
    )  # fmt: skip
    return venv


@pytest.fixture(scope="module")
def foreign_schemas(stack) -> Iterator[dict[str, str]]:
    """Schemas the tool must refuse to open: empty, at an older MLflow revision, at an unknown (newer) one."""
    revisions = {"empty": None, "older": "451aebb31d03", "newer": "ffffffffffff"}
    users = {case: f"tu{case[:3]}{RUN}" for case in revisions}
    for case, revision in revisions.items():
        schema = f"mlflow_{users[case]}"
        stack.root_query(f"CREATE DATABASE `{schema}`")
        if revision:
            stack.root_query(f"CREATE TABLE `{schema}`.alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
            stack.root_query(f"INSERT INTO `{schema}`.alembic_version VALUES (%s)", (revision,))
    yield users
    for user in users.values():
        stack.root_query(f"DROP DATABASE IF EXISTS `mlflow_{user}`")


# --------------------------------------------------------------------------------- mlops-mlflow-ui


def test_developer_refused_someone_elses_runs(developer, administrator):
    other = administrator["MLOPS_USER"]
    completed = run_tool(UI, "--env", developer["path"], "--user", other, "--docker")
    assert completed.returncode == 3
    assert f"{DEV} is a developer: only administrators can open another user's runs ({other})" in completed.stderr
    assert completed.stdout == ""
    assert docker("ps", "--all", "--quiet", "--filter", f"name=mlops-mlflow-ui-{other}").stdout == ""


def test_port_in_use_refused(developer):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        completed = run_tool(UI, "--env", developer["path"], "--docker", "--port", str(port))
    assert completed.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in completed.stderr


def test_without_mlflow_says_how_to_install_it(developer):
    if subprocess.run([sys.executable, "-c", "import mlflow"], capture_output=True, check=False).returncode == 0:
        pytest.skip("MLflow is installed for the test's Python")
    completed = run_tool(UI, "--env", developer["path"], "--port", str(free_port()))
    assert completed.returncode == 1
    assert 'pip install "mlflow==3.17.2"' in completed.stderr and "--docker" in completed.stderr


def test_unreachable_database(developer, tmp_path):
    env_file = tmp_path / "unreachable.env"
    text = Path(developer["path"]).read_text(encoding="utf-8")
    env_file.write_text(text.replace(f"MYSQL_PORT={developer['MYSQL_PORT']}", f"MYSQL_PORT={free_port()}"))
    env_file.chmod(0o600)
    for ca in CREDENTIALS.glob("*-ca.crt"):
        shutil.copy(ca, tmp_path / ca.name)
    completed = run_tool(UI, "--env", str(env_file), "--docker", "--port", str(free_port()))
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "cannot reach the database at 127.0.0.1:" in completed.stderr
    assert "check MYSQL_HOST and MYSQL_PORT" in completed.stderr
    assert not leaked(completed.stdout + completed.stderr, developer)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty", "has no MLflow tables yet"),
        ("older", "is at an older MLflow revision (451aebb31d03) than MLflow 3.17.2 expects"),
        ("newer", "was migrated by another MLflow version than 3.17.2 (its revision ffffffffffff is unknown"),
    ],
)
def test_schema_of_another_mlflow_version_refused_and_left_alone(stack, administrator, foreign_schemas, case, message):
    schema = f"mlflow_{foreign_schemas[case]}"
    tables = stack.root_query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    completed = run_tool(
        UI, "--env", administrator["path"], "--user", foreign_schemas[case], "--docker", "--port", str(free_port())
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert message in completed.stderr
    after = stack.root_query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
    assert after == tables


def test_developer_sees_their_own_runs(stack, developer, developer_tracker, developer_run):
    _, port = developer_tracker
    runs = search_runs(port, developer_run["experiment_id"])
    assert [run["info"]["run_id"] for run in runs] == [developer_run["run_id"]]
    assert runs[0]["data"]["metrics"][0]["key"] == "accuracy"
    # Stored in the developer's schema and bucket on the server.
    rows = stack.root_query(f"SELECT run_uuid FROM `mlflow_{DEV}`.runs WHERE run_uuid = %s", (developer_run["run_id"],))
    assert rows == [(developer_run["run_id"],)]
    objects = [o.object_name for o in stack.s3_root().list_objects(DEV, prefix="mlflow/", recursive=True)]
    assert f"mlflow/{developer_run['experiment_id']}/{developer_run['run_id']}/artifacts/note.txt" in objects


def test_no_secret_on_command_lines(developer, developer_tracker):
    _, port = developer_tracker
    inside = docker("exec", f"mlops-mlflow-ui-{DEV}-{port}", "ps", "-eo", "args").stdout
    assert "mlflow server" in inside
    assert not leaked(processes_on_the_host(), developer)
    assert not leaked(inside, developer)


def test_administrator_sees_a_developers_runs(stack, administrator, developer_run, laptop):
    """As on a teacher's laptop: the tool and MLflow from the virtualenv, the variables from the environment."""
    port, name = free_port(), f"{CONTAINER}-admin"
    command = ["/laptop/bin/python", "/opt/mlops-tools/mlops-mlflow-ui", "--user", DEV, "--port", str(port)]
    docker(
        "run", "--detach", "--init", "--name", name, "--network", "host", "--env-file", administrator["path"],
        # The server's CA next to where the .env is used (its ${PWD}), as the administrator hands them out.
        *[arg for ca in CREDENTIALS.glob("*-ca.crt") for arg in ("--volume", f"{ca}:/creds/{ca.name}:ro")],
        "--workdir", "/creds",
        "--volume", f"{laptop}:/laptop", "--volume", f"{TOOLS}:/opt/mlops-tools:ro", JOB_IMAGE, *command,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
        runs = search_runs(port, developer_run["experiment_id"])
        assert [run["info"]["run_id"] for run in runs] == [developer_run["run_id"]]
        note = requests.get(
            f"http://127.0.0.1:{port}/api/2.0/mlflow-artifacts/artifacts/{developer_run['experiment_id']}/"
            f"{developer_run['run_id']}/artifacts/note.txt",
            timeout=30,
        )
        assert note.text == "hello from the tools test"
        inside = docker("exec", name, "ps", "-eo", "args").stdout
        assert "mlflow server" in inside
        assert not leaked(inside + processes_on_the_host(), administrator)
        started = time.monotonic()
        docker("kill", "--signal", "TERM", name)
        assert docker("wait", name, timeout=60).stdout.strip() == "0"
        assert time.monotonic() - started < 30
        output = docker("logs", name).stdout + docker("logs", name).stderr
        assert f"the MLflow UI of {DEV} is at http://127.0.0.1:{port}" in output
        assert "stopped" in output
        assert not leaked(output, administrator)
        assert not port_open(port)
    finally:
        docker("rm", "--force", name, check=False)


# ------------------------------------------------------------------------------- mlops-register-stack


def _hybrid_resources(stack: DeployedStack) -> dict[str, dict]:
    admin = stack.zenml_session("root", stack.secrets["zenml_admin_password"])
    found = {}
    for kind in ("components", "stacks"):
        for item in stack.zenml_get(admin, f"/{kind}", name=f"startswith:{DEV}-hybrid-", hydrate=True)["items"]:
            found[item["name"]] = item
    return found


def test_hybrid_stack_registered_once_and_tracked(stack, developer, developer_tracker, laptop, tmp_path):
    """As on a student's laptop: the ZenML client of the virtualenv, the developer's tracker of mlops-mlflow-ui."""
    _, port = developer_tracker
    (tmp_path / "run.py").write_text(PROBE, encoding="utf-8")
    # The .env and the server's CA, side by side as the administrator hands them out.
    cas = tuple(f"{ca}:/creds/{ca.name}:ro" for ca in CREDENTIALS.glob("*-ca.crt"))
    mounts = (f"{developer['path']}:/creds/dev.env:ro", *cas, f"{laptop}:/laptop", f"{tmp_path}:/pipe")
    register = (
        "export PATH=/laptop/bin:$PATH; "
        f"python /opt/mlops-tools/mlops-register-stack hybrid --env /creds/dev.env --tracker-port {port}"
    )
    first = in_job_image(register, *mounts)
    assert "4 change(s)" in first.stdout, first.stdout + first.stderr

    resources = _hybrid_resources(stack)
    dev_id = stack.zenml_get(stack.zenml_session("root", stack.secrets["zenml_admin_password"]), f"/users/{DEV}")["id"]
    assert {item["body"]["user_id"] for item in resources.values()} == {dev_id}
    artifact_store = resources[f"{DEV}-hybrid-artifact-store"]
    assert artifact_store["body"]["flavor_name"] == "s3"
    assert artifact_store["metadata"]["configuration"] == {
        "path": f"s3://{DEV}/zenml",
        "authentication_secret": f"{DEV}-s3",
        "client_kwargs": {"endpoint_url": developer["S3_ENDPOINT_URL"]}
        | ({"verify": f"/creds/{Path(developer['MLOPS_CA_FILE']).name}"} if developer.get("MLOPS_CA_FILE") else {}),
    }
    tracker = resources[f"{DEV}-hybrid-mlflow"]["metadata"]["configuration"]
    assert tracker["tracking_uri"] == f"http://127.0.0.1:{port}"
    assert tracker["tracking_username"] == f"{{{{{DEV}-mlflow.username}}}}"
    assert resources[f"{DEV}-hybrid-orchestrator"]["body"]["flavor_name"] == "local"
    members = resources[f"{DEV}-hybrid-stack"]["metadata"]["components"]
    assert {kind: [c["name"] for c in items] for kind, items in members.items()} == {
        "artifact_store": [f"{DEV}-hybrid-artifact-store"],
        "experiment_tracker": [f"{DEV}-hybrid-mlflow"],
        "orchestrator": [f"{DEV}-hybrid-orchestrator"],
    }

    # Again, then a pipeline on the hybrid stack: computed here, stored on the server.
    again = in_job_image(
        f"set -e; {register}; cd /creds; set -a; . ./dev.env; set +a; cd /; python /pipe/run.py", *mounts
    )
    assert "nothing changed" in again.stdout, again.stdout + again.stderr
    assert "4 change(s)" not in again.stdout
    assert _hybrid_resources(stack) == resources
    probe = json.loads(again.stdout.strip().splitlines()[-1])
    assert probe["status"] == "completed" and probe["stack"] == f"{DEV}-hybrid-stack"
    assert probe["mlflow_runs"] == [0.75]
    metrics = stack.root_query(
        f"SELECT m.value FROM `mlflow_{DEV}`.metrics m JOIN `mlflow_{DEV}`.runs r ON r.run_uuid = m.run_uuid "
        f"JOIN `mlflow_{DEV}`.experiments e ON e.experiment_id = r.experiment_id "
        "WHERE e.name = 'tools_probe' AND m.key = 'accuracy'"
    )
    assert metrics == [(0.75,)]
    assert list(stack.s3_root().list_objects(DEV, prefix="zenml/", recursive=True))
    assert not leaked(first.stdout + first.stderr + again.stdout + again.stderr, developer)


def test_remote_checks_the_stack_and_prints_the_ci_variables(developer):
    completed = run_tool(REGISTER, "remote", "--env", developer["path"])
    assert completed.returncode == 0, completed.stderr
    assert f"Your stack {DEV}-stack exists on {developer['ZENML_STORE_URL']}" in completed.stdout
    assert f"MYSQL_DATABASE  mlflow_{DEV}" in completed.stdout
    assert "MYSQL_PASSWORD  <the value of MYSQL_PASSWORD in your .env>" in completed.stdout
    assert not leaked(completed.stdout + completed.stderr, developer)


def test_local_stack_on_the_laptop(laptop, tmp_path):
    """Everything on the laptop: ZenML's local store, no server."""
    (tmp_path / "run.py").write_text(PROBE, encoding="utf-8")
    script = (
        "set -e; export PATH=/laptop/bin:$PATH; cd /pipe; "
        "python /opt/mlops-tools/mlops-register-stack local; echo =====; "
        "python /opt/mlops-tools/mlops-register-stack local; echo =====; python run.py"
    )
    completed = in_job_image(script, f"{laptop}:/laptop", f"{tmp_path}:/pipe")
    first, second, run = completed.stdout.split("=====\n")
    assert "created   experiment tracker local-mlflow" in first and "created   stack local-stack" in first
    assert "nothing changed" in second and "created" not in second
    probe = json.loads(run.strip().splitlines()[-1])
    assert probe["status"] == "completed" and probe["stack"] == "local-stack"
    assert probe["mlflow_runs"] == [0.75]


def test_developer_tracker_stops_cleanly_on_ctrl_c(developer, developer_tracker):
    tool, port = developer_tracker
    returncode, seconds = tool.stop(signal.SIGINT)
    assert returncode == 0, tool.output
    assert seconds < 30
    assert "stopped" in tool.output
    assert not port_open(port)
    assert docker("ps", "--all", "--quiet", "--filter", f"name=mlops-mlflow-ui-{DEV}-{port}").stdout == ""
    assert not leaked(tool.output, developer)
