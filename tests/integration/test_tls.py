"""TLS on every port a person connects to (issue 11, items 1 and 2), proven from outside on the CI stack.

The front door serves ZenML, the S3 API and the MinIO console with a certificate that verifies against the
server's CA for the address people use, and refuses plain text; the back ends are published on loopback
only; the database speaks TLS itself and refuses a person's login without it. A developer's .env carries
https:// addresses and the CA, and their clients (boto3, ZenML's REST API, PyMySQL) work with nothing
else. Renewal: a run that finds the server certificate within credentials_tls_renew_days of its expiry
issues a new one, and the front door and the database serve it without being recreated.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.config
import pymysql
import pytest
import requests
from deployed_stack import CREDENTIALS, DeployedStack

RUN = uuid.uuid4().hex[:5]
STUDENT = f"tls{RUN}"
FRONT_DOOR = ("zenml_server_port", "minio_api_port", "minio_console_port")


@pytest.fixture(scope="module", autouse=True)
def tls_stack(stack: DeployedStack) -> DeployedStack:
    if not stack.ca_file:
        pytest.skip("the stack runs without TLS (mlops_tls_certificates: none)")
    return stack


@pytest.fixture(scope="module")
def student(stack: DeployedStack) -> Iterator[dict[str, str]]:
    run = stack.manage_users("add", username=STUDENT, role="developer")
    assert run.returncode == 0, run.tail()
    yield stack.user_env(STUDENT)
    run = stack.manage_users("remove", username=STUDENT, confirm=True)
    assert run.returncode == 0, run.tail()


def _handshake(host: str, port: int, context: ssl.SSLContext) -> dict:
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return {"version": tls.version(), "certificate": tls.getpeercert(binary_form=True)}


def _plain_answer(host: str, port: int) -> bytes:
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
        return b"".join(chunks)


def _database_certificate(stack: DeployedStack) -> bytes:
    """The certificate the database presents (MySQL's protocol upgrades to TLS after its greeting)."""
    with stack.mysql("root", stack.secrets["database_root_password"]) as connection:
        return connection._sock.getpeercert(binary_form=True)


def _front_door_certificate(stack: DeployedStack) -> bytes:
    context = ssl.create_default_context(cafile=stack.ca_file)
    return _handshake(stack.host, int(stack.vars["zenml_server_port"]), context)["certificate"]


@pytest.mark.parametrize("variable", FRONT_DOOR)
def test_front_door_port_answers_tls_that_verifies_against_the_ca(stack: DeployedStack, variable: str) -> None:
    context = ssl.create_default_context(cafile=stack.ca_file)
    answer = _handshake(stack.host, int(stack.vars[variable]), context)
    assert answer["version"] in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("variable", FRONT_DOOR)
def test_front_door_certificate_is_not_trusted_without_the_ca(stack: DeployedStack, variable: str) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(stack.host, int(stack.vars[variable]), ssl.create_default_context())


@pytest.mark.parametrize("variable", FRONT_DOOR)
def test_front_door_refuses_plain_text(stack: DeployedStack, variable: str) -> None:
    answer = _plain_answer(stack.host, int(stack.vars[variable]))
    status = answer.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.") and status.split()[1] in (b"400", b"301", b"308"), answer[:200]
    assert b"minio" not in answer.lower() and b"zenml" not in answer.lower()


def test_back_ends_are_published_on_loopback_only(stack: DeployedStack) -> None:
    for service in ("minio", "zenml"):
        name = f"{stack.vars['mlops_stack_name']}-{service}"
        bindings = json.loads(
            subprocess.run(
                ["docker", "inspect", "--format", "{{json .HostConfig.PortBindings}}", name],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert {binding["HostIp"] for entries in bindings.values() for binding in entries} == {"127.0.0.1"}


def test_database_refuses_a_persons_login_without_tls(stack: DeployedStack, student: dict[str, str]) -> None:
    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(
            host=student["MYSQL_HOST"],
            port=int(student["MYSQL_PORT"]),
            user=student["MYSQL_USER"],
            password=student["MYSQL_PASSWORD"],
            ssl_disabled=True,
            connect_timeout=10,
        )
    assert refused.value.args[0] == 1045
    assert stack.root_query("SELECT ssl_type FROM mysql.user WHERE User = %s", (STUDENT,)) == [("ANY",)]


def test_database_login_with_the_ca_is_encrypted_and_verified(student: dict[str, str]) -> None:
    with (
        pymysql.connect(
            host=student["MYSQL_HOST"],
            port=int(student["MYSQL_PORT"]),
            user=student["MYSQL_USER"],
            password=student["MYSQL_PASSWORD"],
            database=student["MYSQL_DATABASE"],
            ssl={"ca": student["MYSQL_SSL_CA"], "check_hostname": True},
            connect_timeout=10,
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cursor.fetchone()[1] in ("TLSv1.2", "TLSv1.3")


def test_env_carries_https_addresses_and_the_ca(student: dict[str, str]) -> None:
    for name in ("S3_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL", "ZENML_STORE_URL"):
        assert student[name].startswith("https://"), name
    ca = Path(student["MLOPS_CA_FILE"])
    assert ca.parent == CREDENTIALS and ca.exists()
    assert ca.read_bytes() == Path(CREDENTIALS / "tls" / "ca.crt").read_bytes()
    for name in ("AWS_CA_BUNDLE", "MYSQL_SSL_CA", "ZENML_STORE_VERIFY_SSL"):
        assert student[name] == str(ca)
    # The CA's private key never leaves the credentials directory's tls/ folder.
    assert not list(CREDENTIALS.glob("*.key"))
    assert oct((CREDENTIALS / "tls" / "ca.key").stat().st_mode & 0o777) == "0o600"


def test_students_clients_work_through_the_front_door(student: dict[str, str]) -> None:
    # boto3 reads AWS_CA_BUNDLE like the AWS CLI and s3fs: what the student's shell exports.
    machine_bundle = os.environ.get("AWS_CA_BUNDLE")
    os.environ["AWS_CA_BUNDLE"] = student["AWS_CA_BUNDLE"]
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=student["S3_ENDPOINT_URL"],
            aws_access_key_id=student["S3_ACCESS_KEY"],
            aws_secret_access_key=student["S3_SECRET_KEY"],
            region_name=student["AWS_DEFAULT_REGION"],
            config=botocore.config.Config(retries={"max_attempts": 1}),
        )
        body = os.urandom(10 * 1024 * 1024)
        s3.put_object(Bucket=student["S3_BUCKET"], Key="tls/10mb.bin", Body=body)
        fetched = s3.get_object(Bucket=student["S3_BUCKET"], Key="tls/10mb.bin")["Body"].read()
        assert hashlib.sha256(fetched).digest() == hashlib.sha256(body).digest()
        presigned = s3.generate_presigned_url(
            "get_object", Params={"Bucket": student["S3_BUCKET"], "Key": "tls/10mb.bin"}, ExpiresIn=60
        )
        assert requests.get(presigned, verify=student["AWS_CA_BUNDLE"], timeout=30).content == body
        s3.delete_object(Bucket=student["S3_BUCKET"], Key="tls/10mb.bin")
    finally:
        if machine_bundle is None:
            os.environ.pop("AWS_CA_BUNDLE", None)
        else:
            os.environ["AWS_CA_BUNDLE"] = machine_bundle
    login = requests.post(
        f"{student['ZENML_STORE_URL']}/api/v1/login",
        data={"username": student["ZENML_USERNAME"], "password": student["ZENML_PASSWORD"]},
        verify=student["ZENML_STORE_VERIFY_SSL"],
        timeout=15,
    )
    login.raise_for_status()
    stacks = requests.get(
        f"{student['ZENML_STORE_URL']}/api/v1/stacks",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        params={"name": student["ZENML_STACK"]},
        verify=student["ZENML_STORE_VERIFY_SSL"],
        timeout=15,
    )
    assert [item["name"] for item in stacks.json()["items"]] == [student["ZENML_STACK"]]


def test_zenml_client_logs_in_over_tls(student: dict[str, str], tmp_path: Path) -> None:
    """The ZenML client of the job image's version, with only the .env's variables (ZENML_STORE_VERIFY_SSL)."""
    script = "from zenml.client import Client; print(Client().active_user.name)"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "ZENML_CONFIG_PATH": str(tmp_path / "zenml"),
        "ZENML_ANALYTICS_OPT_IN": "false",
        **{name: student[name] for name in ("ZENML_STORE_URL", "ZENML_STORE_VERIFY_SSL")},
        "ZENML_STORE_USERNAME": student["ZENML_USERNAME"],
        "ZENML_STORE_PASSWORD": student["ZENML_PASSWORD"],
    }
    default = Path.home() / ".cache/onprem-mlops/zenml-cli-venv/bin/python"
    python = Path(os.environ.get("MLOPS_ZENML_CLI_PYTHON", default))
    if not python.exists():
        pytest.skip(f"no ZenML client at {python} (bench/provision builds it)")
    completed = subprocess.run([str(python), "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == STUDENT


def test_a_run_near_expiry_renews_the_certificate_and_every_service_serves_it(stack: DeployedStack) -> None:
    before = {"front door": _front_door_certificate(stack), "database": _database_certificate(stack)}
    ca_before = (CREDENTIALS / "tls" / "ca.crt").read_bytes()
    # The certificate (397 days) expires within 398 days: this run must renew it, and only it.
    run = stack.playbook(
        "run_server.yml", credentials_tls_server_days=400, credentials_tls_renew_days=398, mlops_administrator=""
    )
    assert run.returncode == 0, run.tail()
    after = {"front door": _front_door_certificate(stack), "database": _database_certificate(stack)}
    for service in before:
        assert after[service] != before[service], service
        assert after[service] == after["front door"], service
    assert (CREDENTIALS / "tls" / "ca.crt").read_bytes() == ca_before
    context = ssl.create_default_context(cafile=stack.ca_file)
    for variable in FRONT_DOOR:
        _handshake(stack.host, int(stack.vars[variable]), context)
