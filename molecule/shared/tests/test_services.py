"""Each service accepts the generated credentials, refuses a wrong password, and is set up as designed."""

from __future__ import annotations

import io
import uuid

import pymysql
import pytest
from conftest import full_server, remote
from minio.error import S3Error
from mlops_clients import ZenMLSession, mysql_connect, s3_client, zenml_login

WRONG = "not-the-password-0000000000000000"


def test_database_root_login_and_refusal(stack_vars, secrets, root_sql):
    schemas = {row[0] for row in root_sql("SHOW DATABASES")}
    assert {"stack_management", "zenml"} <= schemas
    with pytest.raises(pymysql.err.OperationalError):
        mysql_connect(stack_vars, "root", WRONG)


def test_administrative_accounts_refused_from_outside_the_server(stack_vars, secrets):
    if not remote(stack_vars):
        pytest.skip("this machine is the server")
    for user, password in (("root", "database_root_password"), ("zenml", "database_zenml_password")):
        with pytest.raises(pymysql.err.OperationalError) as refused:
            mysql_connect(stack_vars, user, secrets[password])
        assert refused.value.args[0] in (1045, 1130)  # no such account here, or no such host at all


def test_registry_table(root_sql):
    columns = {row[0]: row[1] for row in root_sql("SHOW COLUMNS FROM stack_management.users")}
    assert set(columns) >= {"username", "role", "created_at"}
    assert columns["role"].startswith("enum('developer','administrator')")


def test_zenml_account_limited_to_its_schema(stack_vars, secrets):
    if remote(stack_vars):
        pytest.skip("ZenML's account logs in from the server's networks only (the test above)")
    password = secrets["database_zenml_password"]
    with mysql_connect(stack_vars, "zenml", password, "zenml") as connection, connection.cursor() as cursor:
        cursor.execute("SHOW DATABASES")
        assert {row[0] for row in cursor.fetchall()} <= {
            "zenml",
            "information_schema",
            "performance_schema",
        }
    with pytest.raises(pymysql.err.OperationalError):
        mysql_connect(stack_vars, "zenml", password, "stack_management")
    with pytest.raises(pymysql.err.OperationalError):
        mysql_connect(stack_vars, "zenml", WRONG, "zenml")


def test_minio_root_login_and_refusal(stack_vars, secrets):
    client = s3_client(stack_vars, "root", secrets["minio_root_password"])
    buckets = {bucket.name for bucket in client.list_buckets()}
    assert set(stack_vars["minio_shared_buckets"]) | {"runner-cache"} <= buckets
    with pytest.raises(S3Error):
        s3_client(stack_vars, "root", WRONG).list_buckets()


def test_runner_cache_account_limited_to_its_bucket(stack_vars, secrets):
    client = s3_client(stack_vars, "gitlab-runner-cache", secrets["minio_runner_cache_secret_key"])
    key = f"verify/{uuid.uuid4().hex}"
    client.put_object("runner-cache", key, io.BytesIO(b"cache"), 5)
    assert client.get_object("runner-cache", key).read() == b"cache"
    client.remove_object("runner-cache", key)
    with pytest.raises(S3Error):
        client.put_object("shared", key, io.BytesIO(b"x"), 1)
    with pytest.raises(S3Error):
        client.make_bucket(f"not-allowed-{uuid.uuid4().hex[:8]}")


@full_server
def test_zenml_admin_login_and_refusal(stack_vars, secrets):
    assert zenml_login(stack_vars, "root", secrets["zenml_admin_password"]).status_code == 200
    assert zenml_login(stack_vars, "root", WRONG).status_code in (401, 403)
    session = ZenMLSession(stack_vars, "root", secrets["zenml_admin_password"])
    assert session.get("/current-user")["name"] == "root"
