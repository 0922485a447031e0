"""run_server.yml provisions the inventory's personal administrator like any user."""

from __future__ import annotations

import stat

import pymysql
import pytest
from conftest import full_server
from mlops_clients import ZenMLSession, mysql_connect, s3_client

pytestmark = full_server


@pytest.fixture(scope="module")
def admin_env(stack_vars, credentials_dir) -> dict[str, str]:
    path = credentials_dir / f"{stack_vars['mlops_administrator']}.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_registered_as_administrator(stack_vars, root_sql):
    rows = root_sql("SELECT username, role FROM stack_management.users")
    assert (stack_vars["mlops_administrator"], "administrator") in rows


def test_administrator_logs_in_everywhere_and_reads_all(stack_vars, admin_env):
    name = admin_env["MLOPS_USER"]
    with mysql_connect(stack_vars, name, admin_env["MYSQL_PASSWORD"]) as connection, connection.cursor() as cursor:
        # Every MLflow schema, read-only (the template stands for a student's); nothing else of the server's.
        cursor.execute("SELECT COUNT(*) FROM mlflow_template.alembic_version")
        assert cursor.fetchone()[0] == 1
        for statement in ("DELETE FROM mlflow_template.alembic_version", "SELECT COUNT(*) FROM stack_management.users"):
            with pytest.raises(pymysql.err.OperationalError, match="command denied"):
                cursor.execute(statement)
    s3 = s3_client(stack_vars, admin_env["S3_ACCESS_KEY"], admin_env["S3_SECRET_KEY"])
    assert {bucket.name for bucket in s3.list_buckets()} >= {name, "shared"}
    session = ZenMLSession(stack_vars, name, admin_env["ZENML_PASSWORD"])
    assert admin_env["ZENML_STACK"] in session.stack_names()
