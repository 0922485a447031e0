"""The logic of the user tools in extras/tools: settings, refusals, commands and environments, stack specs."""

from __future__ import annotations

import re
import socket
import stat
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "extras" / "tools"))

from mlops_tools import mlflow_ui, stacks
from mlops_tools.settings import Redactor, Refused, Settings, Target, ToolError, load, parse_env, resolve_target

SECRETS = {
    "MYSQL_PASSWORD": "my$ql:p@ss/word#1",
    "S3_SECRET_KEY": "s3-secret-key-0123456789",
    "ZENML_PASSWORD": "zenml-password-0123456789",
}
ALICE = {
    "MLOPS_USER": "alice",
    "MLOPS_ROLE": "developer",
    "MYSQL_HOST": "mlops.example.org",
    "MYSQL_PORT": "3306",
    "MYSQL_USER": "alice",
    "MYSQL_DATABASE": "mlflow_alice",
    "S3_ENDPOINT_URL": "http://mlops.example.org:9000",
    "S3_ACCESS_KEY": "alice",
    "S3_BUCKET": "alice",
    "ZENML_STORE_URL": "",
    "ZENML_USERNAME": "alice",
    "ZENML_STACK": "alice-stack",
    **SECRETS,
}


def settings(**changes: str) -> Settings:
    return Settings({**ALICE, **changes}, "alice.env")


# --- the credentials file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\nB=two words\n", {"A": "1", "B": "two words"}),
        ("# comment\n\n  A = 1  \n", {"A": "1"}),
        ("export A=1\n", {"A": "1"}),
        ("A='x y'\nB=\"z\"\n", {"A": "x y", "B": "z"}),
        ("A=a=b=c\n", {"A": "a=b=c"}),
        ("A=$(rm -rf ~)\n", {"A": "$(rm -rf ~)"}),
        ("A=\n", {"A": ""}),
        ("A=pa#ss\n", {"A": "pa#ss"}),
    ],
    ids=["plain", "spaces and comments", "export", "quotes", "equals in value", "no expansion", "empty", "hash"],
)
def test_parse_env(text, expected):
    assert parse_env(text) == expected


@pytest.mark.parametrize("line", ["just-a-password-line", "1A=x", "A B=x"])
def test_parse_env_refuses_a_bad_line_without_showing_it(line):
    with pytest.raises(ToolError) as raised:
        parse_env(f"A=1\n{line}\n", "alice.env")
    assert "line 2 of alice.env" in str(raised.value)
    assert line not in str(raised.value)


def test_load_a_file_warns_when_others_can_read_it(tmp_path, capsys):
    path = tmp_path / "alice.env"
    path.write_text("MLOPS_USER=alice\n")
    path.chmod(0o644)
    assert load(str(path)).values == {"MLOPS_USER": "alice"}
    assert "chmod 600" in capsys.readouterr().err
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    load(str(path))
    assert capsys.readouterr().err == ""


def test_load_a_missing_file(tmp_path):
    with pytest.raises(ToolError, match="does not exist"):
        load(str(tmp_path / "nobody.env"))


def test_load_the_environment():
    assert load(None, {"MLOPS_USER": "bob"}).values == {"MLOPS_USER": "bob"}


def test_require_names_every_missing_variable():
    with pytest.raises(ToolError) as raised:
        Settings({"MLOPS_USER": "alice", "MYSQL_HOST": ""}, "the environment").require(
            ["MLOPS_USER", "MYSQL_HOST", "MYSQL_PORT"]
        )
    assert "MYSQL_HOST, MYSQL_PORT are not set in the environment" in str(raised.value)


# --- whose runs ------------------------------------------------------------------------------------


def test_own_runs():
    assert resolve_target(settings(), None) == Target("alice", "mlflow_alice", "alice", own=True)
    assert resolve_target(settings(), "alice").own


def test_an_administrator_opens_anyones_runs():
    target = resolve_target(settings(MLOPS_USER="carol", MLOPS_ROLE="administrator"), "bob")
    assert target == Target("bob", "mlflow_bob", "bob", own=False)


@pytest.mark.parametrize("role", ["developer", ""])
def test_others_refused_unless_administrator(role):
    with pytest.raises(Refused, match="only administrators can open another user's runs") as raised:
        resolve_target(settings(MLOPS_ROLE=role), "bob")
    assert raised.value.status == 3


@pytest.mark.parametrize("name", ["Bob", "bo", "bob; drop", "../etc"])
def test_invalid_user_refused(name):
    with pytest.raises(ToolError, match="not a valid username"):
        resolve_target(settings(MLOPS_ROLE="administrator"), name)


def test_redactor():
    redact = Redactor(["secret-long", "secret", "abc"])
    assert redact("a secret-long and a secret, abc") == "a *** and a ***, abc"


# --- the MLflow server ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "known", "expected"),
    [
        ("head1", True, None),
        (None, False, "has no MLflow tables yet"),
        ("old1", True, "older MLflow revision (old1) than MLflow 3.17.2 expects (head1)"),
        ("new1", False, "migrated by another MLflow version than 3.17.2"),
    ],
    ids=["same", "empty", "older", "unknown"],
)
def test_schema_problem(revision, known, expected):
    problem = mlflow_ui.schema_problem("mlflow_alice", revision, "head1", known, "3.17.2", "HINT")
    if expected is None:
        assert problem is None
    else:
        assert expected in problem
        assert "HINT" in problem or revision is None


def test_backend_store_uri_quotes_the_credentials():
    uri = mlflow_ui.backend_store_uri(settings(), Target("alice", "mlflow_alice", "alice", True))
    assert uri == "mysql+pymysql://alice:my%24ql%3Ap%40ss%2Fword%231@mlops.example.org:3306/mlflow_alice"
    uri = mlflow_ui.backend_store_uri(settings(MYSQL_HOST="::1"), Target("bob", "mlflow_bob", "bob", False))
    assert uri.endswith("@[::1]:3306/mlflow_bob")


def test_server_environment_carries_the_credentials_and_nothing_else_secret():
    target = Target("bob", "mlflow_bob", "bob", False)
    base = {"PATH": "/usr/bin", "MYSQL_PASSWORD": "x", "ZENML_PASSWORD": "y", "AWS_PROFILE": "work"}
    env = mlflow_ui.server_environment(settings(), target, base)
    assert env["MLFLOW_BACKEND_STORE_URI"].endswith("/mlflow_bob")
    assert env["AWS_ACCESS_KEY_ID"] == "alice"
    assert env["AWS_SECRET_ACCESS_KEY"] == SECRETS["S3_SECRET_KEY"]
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://mlops.example.org:9000"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["PATH"] == "/usr/bin"
    assert not {"MYSQL_PASSWORD", "ZENML_PASSWORD", "AWS_PROFILE"} & set(env)


def test_server_command():
    command = mlflow_ui.server_command("127.0.0.1", 5001, Target("bob", "mlflow_bob", "bob", False))
    assert command[1:] == [
        "-m",
        "mlflow",
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        "5001",
        "--workers",
        "1",
        "--artifacts-destination",
        "s3://bob/mlflow",
        "--uvicorn-opts",
        "--no-access-log",
    ]


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:5000"), ("0.0.0.0", "http://127.0.0.1:5000"), ("::1", "http://[::1]:5000")],
)
def test_local_url(host, url):
    assert mlflow_ui.local_url(host, 5000) == url


def test_check_port_free():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(ToolError, match=f"port {port} on 127.0.0.1 is in use"):
            mlflow_ui.check_port_free("127.0.0.1", port)
    mlflow_ui.check_port_free("127.0.0.1", port)


# --- --docker ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "endpoint", "network"),
    [
        ("127.0.0.1", "http://127.0.0.1:9000", "host"),
        ("localhost", "http://mlops.example.org:9000", "host"),
        ("mlops.example.org", "http://127.0.0.2:9000", "host"),
        ("mlops.example.org", "http://mlops.example.org:9000", None),
    ],
)
def test_default_network(host, endpoint, network):
    assert mlflow_ui.default_network(settings(MYSQL_HOST=host, S3_ENDPOINT_URL=endpoint)) == network


def _docker_command(network: str | None, user: str | None = None) -> list[str]:
    args = mlflow_ui.parse_args(["--docker", "--port", "5001", *(["--user", user] if user else [])])
    mine = settings(MLOPS_ROLE="administrator")
    return mlflow_ui.docker_command("docker", args, resolve_target(mine, args.user), network)


def test_docker_command_passes_variables_by_name_only():
    command = _docker_command(None)
    joined = " ".join(command)
    assert not [secret for secret in SECRETS.values() if secret in joined]
    for name in ("MYSQL_PASSWORD", "S3_SECRET_KEY", "MLOPS_ROLE"):
        assert command[command.index(name) - 1] == "--env"
    assert "ZENML_PASSWORD" not in command
    assert "--init" in command and "--rm" in command


def test_docker_command_on_the_default_bridge_publishes_the_port():
    command = _docker_command(None)
    assert "--network" not in command
    assert command[command.index("--publish") + 1] == "127.0.0.1:5001:5001"
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--public-url") + 1] == "http://127.0.0.1:5001"
    assert "--user" not in command


def test_docker_command_on_the_host_network_listens_directly():
    command = _docker_command("host", user="bob")
    assert command[command.index("--network") + 1] == "host"
    assert "--publish" not in command
    assert command[command.index("--host") + 1] == "127.0.0.1"
    assert command[-2:] == ["--user", "bob"]
    assert "mlops-mlflow-ui-bob-5001" in command


# --- main: refusals before anything starts ----------------------------------------------------------


def _env_file(tmp_path: Path, values: dict[str, str]) -> str:
    path = tmp_path / "alice.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
    return str(path)


def test_main_missing_variables(tmp_path, capsys):
    values = {key: value for key, value in ALICE.items() if key not in ("MYSQL_PASSWORD", "S3_BUCKET")}
    assert mlflow_ui.main(["--env", _env_file(tmp_path, values)]) == 1
    assert "MYSQL_PASSWORD, S3_BUCKET are not set in" in capsys.readouterr().err


def test_main_developer_asking_for_another_user(tmp_path, capsys):
    assert mlflow_ui.main(["--env", _env_file(tmp_path, ALICE), "--user", "bob", "--docker"]) == 3
    captured = capsys.readouterr()
    assert "alice is a developer: only administrators" in captured.err
    assert captured.out == ""


# --- stacks -------------------------------------------------------------------------------------------


def test_hybrid_stack():
    spec = stacks.hybrid_stack("alice", "alice", "http://mlops.example.org:9000", "s3://alice/zenml", 5001)
    assert spec.name == "alice-hybrid-stack"
    by_type = {component.type: component for component in spec.components}
    assert by_type["artifact_store"] == stacks.ComponentSpec(
        "alice-hybrid-artifact-store",
        "artifact_store",
        "s3",
        {
            "path": "s3://alice/zenml",
            "authentication_secret": "alice-s3",
            "client_kwargs": {"endpoint_url": "http://mlops.example.org:9000"},
        },
    )
    assert by_type["experiment_tracker"].configuration == {
        "tracking_uri": "http://127.0.0.1:5001",
        "tracking_username": "{{alice-mlflow.username}}",
        "tracking_password": "{{alice-mlflow.password}}",
    }
    assert (by_type["orchestrator"].name, by_type["orchestrator"].flavor) == ("alice-hybrid-orchestrator", "local")


def test_local_stack_uses_the_default_components():
    names = {component.type: component.name for component in stacks.local_stack().components}
    assert names == {"artifact_store": "default", "experiment_tracker": "local-mlflow", "orchestrator": "default"}


@pytest.mark.parametrize(
    ("existing", "matches"),
    [
        ({"path": "s3://a", "extra": 1}, True),
        ({"path": "s3://b"}, False),
        ({}, False),
    ],
)
def test_configuration_matches(existing, matches):
    assert stacks.configuration_matches(existing, {"path": "s3://a"}) is matches


def test_remote_prints_the_ci_variables_without_secrets(capsys):
    assert stacks.remote(settings()) == 0
    out = capsys.readouterr().out
    assert not [secret for secret in SECRETS.values() if secret in out]
    assert re.search(r"MYSQL_DATABASE\s+mlflow_alice", out)
    assert re.search(r"MYSQL_PASSWORD\s+<the value of MYSQL_PASSWORD in your \.env>", out)
    assert "ZENML_STORE_URL is not set: your stack was not checked" in out
    assert "MYSQL_HOST=database" in out


def test_remote_missing_variables():
    values = {key: value for key, value in ALICE.items() if key != "ZENML_STACK"}
    with pytest.raises(ToolError, match="ZENML_STACK is not set"):
        stacks.remote(Settings(values, "alice.env"))


# --- versions: the tools and the server's jobs use the same clients ---------------------------------------


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[a-z0-9,]+\])?==(\S+)$", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_versions_match_the_job_image():
    job = _pins(REPO / "images" / "ci-job" / "constraints.txt")
    laptop = _pins(REPO / "extras" / "tools" / "requirements.txt")
    assert job["mlflow"] == mlflow_ui.PINNED_MLFLOW
    assert job["zenml"] == stacks.PINNED_ZENML
    assert mlflow_ui.JOB_IMAGE.endswith(f":zenml-{job['zenml']}-mlflow-{job['mlflow']}")
    shared = set(job) & set(laptop)
    assert {"zenml", "mlflow", "s3fs", "boto3", "opentelemetry-sdk"} <= shared
    assert {name: laptop[name] for name in shared} == {name: job[name] for name in shared}


# --- TLS: the server's CA next to the .env ---------------------------------------------------------------


def test_pwd_in_a_file_is_the_files_folder(tmp_path):
    (tmp_path / "mlops-ca.crt").write_text("CA\n")
    path = tmp_path / "alice.env"
    path.write_text("MLOPS_CA_FILE=${PWD}/mlops-ca.crt\nMYSQL_PASSWORD=a${PWD}b\n")
    path.chmod(0o600)
    values = load(str(path)).values
    assert values["MLOPS_CA_FILE"] == f"{tmp_path}/mlops-ca.crt"
    assert values["MYSQL_PASSWORD"] == "a${PWD}b"


def test_a_ca_variable_naming_no_file_is_refused_with_where_it_belongs(tmp_path):
    path = tmp_path / "alice.env"
    path.write_text("AWS_CA_BUNDLE=${PWD}/mlops-ci-ca.crt\n")
    path.chmod(0o600)
    with pytest.raises(
        ToolError, match=r"AWS_CA_BUNDLE=.* is not a file: keep the server's CA certificate \(mlops-ci-"
    ):
        load(str(path))
    assert load(None, {"ZENML_STORE_VERIFY_SSL": "true"}).values == {"ZENML_STORE_VERIFY_SSL": "true"}


def test_pwd_in_the_environment_is_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "ca.crt").write_text("CA\n")
    monkeypatch.chdir(tmp_path)
    assert load(None, {"MLOPS_CA_FILE": "${PWD}/ca.crt"}).values == {"MLOPS_CA_FILE": f"{tmp_path}/ca.crt"}


def test_database_uri_and_server_environment_carry_the_ca():
    mine = settings(MLOPS_CA_FILE="/home/alice/mlops/ca.crt")
    uri = mlflow_ui.backend_store_uri(mine, Target("alice", "mlflow_alice", "alice", True))
    assert uri.endswith("/mlflow_alice?ssl_ca=%2Fhome%2Falice%2Fmlops%2Fca.crt")
    env = mlflow_ui.server_environment(mine, Target("alice", "mlflow_alice", "alice", True), {})
    assert env["AWS_CA_BUNDLE"] == "/home/alice/mlops/ca.crt"
    assert "ssl_ca" not in mlflow_ui.backend_store_uri(settings(), Target("alice", "mlflow_alice", "alice", True))


def test_docker_command_mounts_the_ca_and_points_every_ca_variable_at_it():
    args = mlflow_ui.parse_args(["--docker", "--port", "5001"])
    mine = settings(MLOPS_CA_FILE="/home/alice/mlops/ca.crt")
    command = mlflow_ui.docker_command("docker", args, resolve_target(mine, None), None, mine.ca_file)
    mount = f"type=bind,source=/home/alice/mlops/ca.crt,target={mlflow_ui.CONTAINER_CA_FILE},readonly"
    assert command[command.index(mount) - 1] == "--mount"
    for name in ("MLOPS_CA_FILE", "AWS_CA_BUNDLE", "MYSQL_SSL_CA", "ZENML_STORE_VERIFY_SSL"):
        assert f"{name}={mlflow_ui.CONTAINER_CA_FILE}" in command


def test_hybrid_artifact_store_verifies_with_the_ca():
    spec = stacks.hybrid_stack("alice", "alice", "https://mlops.example.org:9000", "s3://alice/zenml", 5001, "/ca.crt")
    store = next(component for component in spec.components if component.type == "artifact_store")
    assert store.configuration["client_kwargs"] == {
        "endpoint_url": "https://mlops.example.org:9000",
        "verify": "/ca.crt",
    }
