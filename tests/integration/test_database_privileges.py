"""Least privilege in the database of the deployed stack, tried as students and a teacher would.

Two developers and an administrator are added with manage_users.yml. Checked from outside with PyMySQL,
logged in as them: a developer holds on their own schema only what MLflow needs (no views, routines,
triggers, events), cannot read another schema and cannot exceed their MAX_USER_CONNECTIONS; the teacher
reads every student's schema and writes none. A student who planted hostile objects in their schema (table
and column names with backticks, quotes and comment markers, a view) is inspected by the teacher, migrated
(with their own account) and archived: the view is refused with a clear message, the hostile names are
archived faithfully, and nothing outside their schema changes. Root cannot log in from a container on
another Docker network (nor from any other network the database answers on, such as the jobs network),
while it can from the host.

Containers of the job image run on the stack's networks, named after the stack, and are removed at the end.
MLOPS_TEST_JOB_IMAGE picks another job image than the stack's mlops_job_image.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import pymysql
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from deployed_stack import DeployedStack
from mlflow_scripts import OLD_SCHEMA

RUN = uuid.uuid4().hex[:5]
STUDENT, OLDIE, TEACHER = f"dbstu{RUN}", f"dbold{RUN}", f"dbteach{RUN}"
# Names a student may give their tables and columns; each would break out of naive backtick quoting.
HOSTILE = ["we`ird", "quo'te\"s", "x`; DROP DATABASE zenml; --", "a` LIKE `mysql`.`user", "#hash /* c */"]
HOSTILE_COLUMN = "c`ol -- x"
# What MySQL and MariaDB answer when a privilege is missing (table, schema, routine, connection limit).
DENIED = {1044, 1142, 1143, 1370, 1227}
TOO_MANY_CONNECTIONS = 1226
STEPS_BACK = 8
REGISTRY = "stack_management"
LOGIN_PROBE = """
import os, pymysql
try:
    pymysql.connect(host=os.environ["DB_HOST"], user=os.environ["DB_USER"], password=os.environ["DB_PASSWORD"],
                    connect_timeout=10, ssl={"check_hostname": False}).close()
    print("LOGIN ok")
except pymysql.err.MySQLError as error:
    print("LOGIN refused", error.args[0])
"""


def docker(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """The docker CLI; secrets go in ``env`` and reach containers as ``-e NAME``, never on a command line."""
    return subprocess.run(
        ["docker", *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, check=check, timeout=600
    )


@pytest.fixture(scope="module")
def people(stack, image) -> Iterator[dict[str, dict[str, str]]]:
    """Two students and a teacher; whoever is left is removed (and every archive of them dropped) at the end."""
    roles = {STUDENT: "developer", OLDIE: "developer", TEACHER: "administrator"}
    for name, role in roles.items():
        run = stack.manage_users("add", username=name, role=role, mlops_job_image=image)
        assert run.returncode == 0, run.tail()
    yield {name: stack.user_env(name) for name in roles}
    registered = {row[0] for row in stack.root_query("SELECT username FROM stack_management.users")}
    for name in roles:
        if name in registered:
            stack.manage_users("remove", username=name, confirm="yes")
    for (schema,) in stack.root_query("SHOW DATABASES LIKE %s", (f"archive\\_{STUDENT}\\_%",)):
        stack.root_query(f"DROP DATABASE `{schema}`")


def login(stack: DeployedStack, env: dict[str, str], database: str | None = None) -> pymysql.Connection:
    return stack.mysql(env["MYSQL_USER"], env["MYSQL_PASSWORD"], database)


def refused(connection: pymysql.Connection, sql: str) -> int:
    """The error number the server answers ``sql`` with; fails the test if it is accepted."""
    with connection.cursor() as cursor, pytest.raises(pymysql.err.MySQLError) as error:
        cursor.execute(sql)
    return error.value.args[0]


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def snapshot(stack: DeployedStack, excluded: set[str]) -> dict[str, object]:
    """Every schema but ``excluded`` (tables and checksums; ZenML's own schema by table names, as it writes
    all the time; the registry but the test's students' rows) and every account, grant and limit of the other
    accounts.
    """
    found: dict[str, object] = {}
    for (schema,) in stack.root_query("SHOW DATABASES"):
        if (
            schema in excluded
            or schema.startswith("archive_")
            or schema in ("information_schema", "performance_schema")
        ):
            continue
        tables = [
            row[0]
            for row in stack.root_query(f"SHOW FULL TABLES FROM {quoted(schema)} WHERE Table_type = 'BASE TABLE'")
        ]
        if schema == stack.vars.get("database_zenml_schema", "zenml") or schema == "mysql":
            found[schema] = sorted(tables)
        elif schema == REGISTRY:
            rows = stack.root_query(f"SELECT * FROM {REGISTRY}.users WHERE username NOT IN (%s, %s)", (STUDENT, OLDIE))
            found[schema] = sorted(tables), sorted(rows)
        elif tables:
            names = ", ".join(f"{quoted(schema)}.{quoted(table)}" for table in tables)
            found[schema] = sorted(stack.root_query(f"CHECKSUM TABLE {names}"))
    users = [STUDENT, OLDIE]
    found["accounts"] = sorted(
        (user, host, int(limit))
        for user, host, limit in stack.root_query("SELECT User, Host, max_user_connections FROM mysql.user")
        if user not in users
    )
    for table in ("db", "tables_priv", "procs_priv"):
        found[table] = sorted(row for row in stack.root_query(f"SELECT * FROM mysql.{table}") if row[2] not in users)
    return found


# --- the grants matrix --------------------------------------------------------------------------------


def test_a_developer_holds_only_what_mlflow_needs_on_their_own_schema(stack, people):
    student, other = people[STUDENT], people[OLDIE]
    schema = student["MYSQL_DATABASE"]
    with closing(login(stack, student, schema)) as own, own.cursor() as cursor:
        cursor.execute("CREATE TABLE probe (id INT PRIMARY KEY, v INT)")
        cursor.execute("INSERT INTO probe VALUES (1, 1)")
        cursor.execute("ALTER TABLE probe ADD COLUMN w INT, ADD INDEX (v)")
        cursor.execute("UPDATE probe SET w = 2")
        cursor.execute("SELECT id, v, w FROM probe")
        assert cursor.fetchall() == ((1, 1, 2),)
        cursor.execute("DROP TABLE probe")
        assert refused(own, "CREATE VIEW v AS SELECT 1") in DENIED
        assert refused(own, "CREATE PROCEDURE p() SELECT 1") in DENIED
        assert refused(own, "CREATE FUNCTION f() RETURNS INT RETURN 1") in DENIED
        assert refused(own, "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1") in DENIED
        assert refused(own, "CREATE TRIGGER t BEFORE INSERT ON experiments FOR EACH ROW SET NEW.name = 'x'") in DENIED
        assert refused(own, f"SELECT * FROM {quoted(other['MYSQL_DATABASE'])}.experiments") in DENIED
        assert refused(own, "SELECT * FROM stack_management.users") in DENIED
        assert refused(own, "CREATE DATABASE mlflow_sneaky") in DENIED
        cursor.execute("SHOW GRANTS")
        grants = "\n".join(row[0] for row in cursor.fetchall())
    assert not re.search(r"GRANT (?!USAGE)\S.* ON \*\.\*", grants), grants
    assert not re.search(r"ALL PRIVILEGES|CREATE VIEW|CREATE ROUTINE|EVENT|EXECUTE", grants), grants
    with pytest.raises(pymysql.err.MySQLError) as error:
        login(stack, student, other["MYSQL_DATABASE"])
    assert error.value.args[0] in DENIED


def test_a_developer_cannot_exceed_their_connection_limit(stack, people):
    student = people[STUDENT]
    limit = int(stack.vars.get("users_database_max_connections", 30))
    with ExitStack() as connections:
        for _ in range(limit):
            connections.enter_context(closing(login(stack, student)))
        with pytest.raises(pymysql.err.MySQLError) as error:
            login(stack, student).close()
        assert error.value.args[0] == TOO_MANY_CONNECTIONS
        # Everybody else still gets in.
        assert stack.root_query("SELECT 1") == [(1,)]
        login(stack, people[OLDIE]).close()


def test_a_teacher_reads_every_students_schema_and_writes_none(stack, people):
    teacher, student = people[TEACHER], people[STUDENT]
    schema = quoted(student["MYSQL_DATABASE"])
    with closing(login(stack, teacher)) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {schema}.experiments")
        cursor.execute(f"SELECT version_num FROM {schema}.alembic_version")
        assert refused(connection, f"INSERT INTO {schema}.experiments (name) VALUES ('x')") in DENIED
        assert refused(connection, f"UPDATE {schema}.workspaces SET name = name") in DENIED
        assert refused(connection, f"DELETE FROM {schema}.alembic_version") in DENIED
        assert refused(connection, f"CREATE TABLE {schema}.planted (id INT)") in DENIED
        assert refused(connection, f"DROP TABLE {schema}.experiments") in DENIED
        assert refused(connection, "CREATE TABLE stack_management.planted (id INT)") in DENIED
        assert refused(connection, "SELECT * FROM zenml.user") in DENIED
        assert refused(connection, "SELECT User FROM mysql.user") in DENIED
        assert refused(connection, "CREATE USER intruder IDENTIFIED BY 'x'") in DENIED
        cursor.execute(f"CREATE TABLE {quoted(teacher['MYSQL_DATABASE'])}.notes (id INT)")
        cursor.execute(f"DROP TABLE {quoted(teacher['MYSQL_DATABASE'])}.notes")
        cursor.execute("SHOW GRANTS")
        grants = "\n".join(row[0] for row in cursor.fetchall())
    assert not re.search(r"GRANT (?!USAGE)\S.* ON \*\.\*", grants), grants


# --- administrative logins ---------------------------------------------------------------------------


def _probe_login(stack: DeployedStack, image: str, network: str, host: str, user: str, password: str) -> str:
    env = {"DB_HOST": host, "DB_USER": user, "DB_PASSWORD": password}
    completed = docker(
        "run", "--rm", "--name", f"{stack.vars['mlops_stack_name']}-test-dbprobe-{RUN}", "--network", network,
        "--label", f"org.onprem-mlops.stack={stack.vars['mlops_stack_name']}",
        "-e", "DB_HOST", "-e", "DB_USER", "-e", "DB_PASSWORD", image, "python", "-c", LOGIN_PROBE,
        env=env, check=False,
    )  # fmt: skip
    return completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else completed.stderr[-500:]


def test_root_logs_in_from_the_host_but_not_from_another_network(stack, people, image):
    assert stack.root_query("SELECT CURRENT_USER()")[0][0].startswith("root@")
    database = f"{stack.vars['mlops_stack_name']}-database"
    network = f"{stack.vars['mlops_stack_name']}-test-dbnet-{RUN}"
    docker("network", "create", "--label", f"org.onprem-mlops.stack={stack.vars['mlops_stack_name']}", network)
    try:
        docker("network", "connect", "--alias", "dbprobe", network, database)
        student = people[STUDENT]
        # The database answers there (the student gets in), root and ZenML's account do not.
        assert _probe_login(stack, image, network, "dbprobe", STUDENT, student["MYSQL_PASSWORD"]) == "LOGIN ok"
        root = _probe_login(stack, image, network, "dbprobe", "root", stack.secrets["database_root_password"])
        assert root == "LOGIN refused 1045", root
        zenml = stack.vars.get("database_zenml_user", "zenml")
        assert _probe_login(stack, image, network, "dbprobe", zenml, stack.secrets["database_zenml_password"]) == (
            "LOGIN refused 1045"
        )
    finally:
        docker("network", "disconnect", network, database, check=False)
        docker("network", "rm", network, check=False)
    # Every other network the database answers on (the jobs network) refuses root too.
    networks = json.loads(docker("inspect", "--format", "{{json .NetworkSettings.Networks}}", database).stdout)
    for other in sorted(set(networks) - {stack.vars["mlops_network_name"]}):
        root = _probe_login(stack, image, other, "database", "root", stack.secrets["database_root_password"])
        assert root == "LOGIN refused 1045", (other, root)


# --- hostile objects: inspected, migrated, archived -------------------------------------------------------


def _plant(stack: DeployedStack, env: dict[str, str]) -> dict[str, list]:
    """Tables with hostile names (and rows) made by the student; returns each table's rows."""
    planted = {}
    with closing(login(stack, env, env["MYSQL_DATABASE"])) as connection, connection.cursor() as cursor:
        for index, name in enumerate(HOSTILE):
            cursor.execute(f"CREATE TABLE {quoted(name)} (id INT PRIMARY KEY, {quoted(HOSTILE_COLUMN)} VARCHAR(64))")
            cursor.execute(f"INSERT INTO {quoted(name)} VALUES (%s, %s), (%s, %s)", (1, name, 2, f"row{index}"))
            planted[name] = [(1, name), (2, f"row{index}")]
        assert refused(connection, "CREATE FUNCTION leak() RETURNS INT RETURN 1") in DENIED
    return planted


def _rows(stack: DeployedStack, schema: str, table: str) -> list[tuple]:
    return sorted(stack.root_query(f"SELECT * FROM {quoted(schema)}.{quoted(table)}"))


def test_hostile_schemas_are_inspected_migrated_and_archived_without_touching_anything_else(stack, people, image):
    student, oldie, teacher = people[STUDENT], people[OLDIE], people[TEACHER]
    schema, old_schema = student["MYSQL_DATABASE"], oldie["MYSQL_DATABASE"]
    before = snapshot(stack, {schema, old_schema})
    head = stack.root_query(f"SELECT version_num FROM {quoted(old_schema)}.alembic_version")[0][0]
    planted = _plant(stack, student)
    # A view the student's account could make under the grants of earlier versions, running as its invoker.
    stack.root_query(
        f"CREATE DEFINER = %s@'%%' SQL SECURITY INVOKER VIEW {quoted(schema)}.`v``iew` AS SELECT 1 AS one", (STUDENT,)
    )

    # The teacher inspects: every hostile table reads, nothing writes.
    with closing(login(stack, teacher)) as connection, connection.cursor() as cursor:
        for name, rows in planted.items():
            cursor.execute(f"SELECT * FROM {quoted(schema)}.{quoted(name)} ORDER BY id")
            assert [tuple(row) for row in cursor.fetchall()] == rows
            assert refused(connection, f"DELETE FROM {quoted(schema)}.{quoted(name)}") in DENIED

    # An outdated schema (MLflow's own migrations stopped below the head, as root built it) with hostile tables
    # is migrated by the next provisioning, with its owner's account.
    stack.root_query(f"DROP DATABASE {quoted(old_schema)}")
    stack.root_query(f"CREATE DATABASE {quoted(old_schema)} CHARACTER SET utf8mb4")
    env = {
        "MLOPS_DB_PASSWORD": stack.secrets["database_root_password"],
        "SCHEMA": old_schema,
        "STEPS_BACK": str(STEPS_BACK),
    }
    built = docker(
        "run", "--rm", "--name", f"{stack.vars['mlops_stack_name']}-test-dbold-{RUN}",
        "--network", stack.vars["mlops_network_name"],
        "-e", "MLOPS_DB_PASSWORD", "-e", "SCHEMA", "-e", "STEPS_BACK", image, "python", "-c", OLD_SCHEMA, env=env,
    )  # fmt: skip
    assert built.stdout.split()[-1] != head
    old_planted = _plant(stack, oldie)
    run = stack.manage_users("add", username=OLDIE, role="developer", mlops_job_image=image)
    assert run.returncode == 0, run.tail()
    migrations = [json.loads(line) for line in re.findall(r'\{"schema": "' + old_schema + r'"[^}]*\}', run.stdout)]
    assert migrations and all(entry["account"] == OLDIE for entry in migrations), run.tail()
    assert stack.root_query(f"SELECT version_num FROM {quoted(old_schema)}.alembic_version")[0][0] == head
    assert all(_rows(stack, old_schema, name) == rows for name, rows in old_planted.items())
    definers = stack.root_query(
        "SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s", (old_schema,)
    )
    assert definers and all(definer == f"{OLDIE}@%" for (definer,) in definers)
    again = stack.manage_users("add", username=OLDIE, role="developer", mlops_job_image=image)
    assert again.returncode == 0 and again.changed == 0, again.tail()

    # The view cannot be archived faithfully: refused, with its name, before anything changes.
    refusal = stack.manage_users("remove", username=STUDENT, confirm="yes", archive="yes")
    assert refusal.returncode != 0
    assert "cannot be archived faithfully" in refusal.stdout and "'v`iew'" in refusal.stdout, refusal.tail()
    assert stack.root_query("SELECT username FROM stack_management.users WHERE username = %s", (STUDENT,))
    assert all(_rows(stack, schema, name) == rows for name, rows in planted.items())
    assert not stack.root_query("SHOW DATABASES LIKE %s", (f"archive\\_{STUDENT}\\_%",))

    # Once the student drops it, the hostile tables are archived with their names and rows.
    with closing(login(stack, student, schema)) as connection, connection.cursor() as cursor:
        cursor.execute("DROP VIEW `v``iew`")
    tables = {row[0] for row in stack.root_query(f"SHOW TABLES FROM {quoted(schema)}")}
    removal = stack.manage_users("remove", username=STUDENT, confirm="yes", archive="yes")
    assert removal.returncode == 0, removal.tail()
    (archive,) = [row[0] for row in stack.root_query("SHOW DATABASES LIKE %s", (f"archive\\_{STUDENT}\\_%",))]
    assert {row[0] for row in stack.root_query(f"SHOW TABLES FROM {quoted(archive)}")} == tables
    assert all(_rows(stack, archive, name) == rows for name, rows in planted.items())
    assert not stack.root_query("SHOW DATABASES LIKE %s", (schema,))
    assert not stack.root_query("SELECT User FROM mysql.user WHERE User = %s", (STUDENT,))

    assert snapshot(stack, {schema, old_schema}) == before
