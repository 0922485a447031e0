"""Unit tests of the shared database helpers: options, quoting, dialects, sessions and error messages."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import database
from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    DatabaseModuleError,
    Statement,
    database_argument_spec,
    database_errors,
    dialect_of,
    error_message,
    open_session,
    placeholders,
    quote_identifier,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_fakes import LOGIN, FakeServer
from pymysql.err import InternalError, OperationalError, ProgrammingError

PARAMS = {**LOGIN, "connect_timeout": 30}


class FailingModule:
    """Just enough of AnsibleModule for database_errors and connect."""

    def __init__(self) -> None:
        self.params = dict(PARAMS)
        self.failure: dict | None = None

    def fail_json(self, **kwargs: object) -> None:
        self.failure = kwargs
        raise SystemExit(1)


def test_argument_spec_defaults_and_secrets() -> None:
    spec = database_argument_spec(users={"type": "list"})
    assert spec["login_host"]["default"] == "127.0.0.1"
    assert spec["login_port"] == {"type": "int", "default": 3306}
    assert spec["login_user"]["default"] == "root"
    assert spec["login_password"]["no_log"] is True
    assert spec["users"] == {"type": "list"}


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("mlflow_alice", "`mlflow_alice`"),
        ("we`ird", "`we``ird`"),
        ("per%cent", "`per%%cent`"),
        ("a; DROP DATABASE x", "`a; DROP DATABASE x`"),
    ],
)
def test_quote_identifier(name: str, quoted: str) -> None:
    assert quote_identifier(name) == quoted
    assert (quoted % ()).replace("``", "`")[1:-1] == name


@pytest.mark.parametrize(("count", "text"), [(1, "%s"), (3, "%s, %s, %s")])
def test_placeholders(count: int, text: str) -> None:
    assert placeholders(count) == text


@pytest.mark.parametrize(
    ("version", "dialect"),
    [
        ("8.4.3", "mysql"),
        ("8.4.0-commercial", "mysql"),
        ("10.11.19-MariaDB-0+deb12u1", "mariadb"),
        ("11.4.2-MariaDB-ubu2404", "mariadb"),
    ],
)
def test_dialect_of(version: str, dialect: str) -> None:
    assert dialect_of(version) == dialect


def test_statement_repr_hides_parameters() -> None:
    assert "secret" not in repr(Statement("ALTER USER %s@%s IDENTIFIED BY %s", ("alice", "%", "secret")))


@pytest.mark.parametrize(
    ("exc", "hint"),
    [
        pytest.param(OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1'"), "is reachable", id="down"),
        pytest.param(
            OperationalError(1045, "Access denied for user 'root'"), "login_user and login_password", id="login"
        ),
        pytest.param(
            OperationalError(1044, "Access denied for user 'ops'"), "CREATE USER, GRANT OPTION", id="db-denied"
        ),
        pytest.param(OperationalError(1227, "Access denied; you need"), "CREATE USER, GRANT OPTION", id="need-priv"),
        pytest.param(OperationalError(1410, "You are not allowed to create a user"), "GRANT OPTION", id="no-grant"),
        pytest.param(ProgrammingError(1146, "Table 'x.users' doesn't exist"), "registry_schema", id="no-table"),
        pytest.param(OperationalError(1049, "Unknown database 'x'"), "registry_schema", id="no-schema"),
        pytest.param(OperationalError(2059, "Authentication plugin cannot be loaded"), "cryptography", id="plugin"),
        pytest.param(OperationalError(1396, "Operation CREATE USER failed"), "run it again", id="race"),
        pytest.param(
            InternalError(1205, "Lock wait timeout exceeded"), "Lock wait timeout exceeded (error 1205)", id="other"
        ),
    ],
)
def test_error_message_says_what_to_check(exc: Exception, hint: str) -> None:
    assert hint in error_message(exc, PARAMS)


def test_error_message_keeps_notes() -> None:
    exc = OperationalError(1044, "Access denied")
    exc.add_note("while changing user bob")
    assert "Access denied (error 1044); while changing user bob; check that login_user" in error_message(exc, PARAMS)


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (
            DatabaseModuleError("users ['x'] are listed more than once"),
            "doing it: users ['x'] are listed more than once",
        ),
        (OperationalError(2003, "Can't connect"), "127.0.0.1:3306 (login_host:login_port) is reachable"),
        (RuntimeError("'cryptography' package is required"), "install the Python package cryptography"),
    ],
)
def test_database_errors_fail_the_module(exc: Exception, message: str) -> None:
    module = FailingModule()
    with pytest.raises(SystemExit), database_errors(module, "doing it"):
        raise exc
    assert message in module.failure["msg"]


def test_database_errors_let_other_runtime_errors_through() -> None:
    with pytest.raises(RuntimeError, match="unrelated"), database_errors(FailingModule(), "doing it"):
        raise RuntimeError("unrelated")


def test_missing_pymysql_says_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "PYMYSQL_IMPORT_ERROR", "Traceback: No module named 'pymysql'")
    module = FailingModule()
    with pytest.raises(SystemExit):
        database.connect(module)
    assert "install PyMySQL" in module.failure["msg"]


def test_connect_failure_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_kwargs: object) -> None:
        raise OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1' ([Errno 111])")

    monkeypatch.setattr(database.pymysql, "connect", refuse)
    module = FailingModule()
    with pytest.raises(SystemExit):
        database.connect(module)
    assert module.failure["msg"].startswith("connecting to the database at 127.0.0.1: Can't connect")
    assert "is reachable" in module.failure["msg"]


def test_open_session_options() -> None:
    server = FakeServer("mariadb")
    session = open_session(PARAMS, connect=server.connect)
    assert session.dialect == "mariadb"
    assert server.connects == [
        {
            "user": "root",
            "host": "127.0.0.1",
            "port": 3306,
            "connect_timeout": 30,
            "charset": "utf8mb4",
            "autocommit": True,
        }
    ]


def test_refused_logins() -> None:
    server = FakeServer()
    server.add_account("alice", "right")
    server.add_account("bob", "right")
    session = open_session(PARAMS, connect=server.connect)
    assert session.refused_logins({}) == set()
    assert len(server.connects) == 1
    assert session.refused_logins({"alice": "right", "bob": "wrong", "nobody": "x"}) == {"bob", "nobody"}


def test_a_login_error_other_than_access_denied_is_raised() -> None:
    server = FakeServer()

    def connect(user: str, password: str, **options: object) -> object:
        if user == "root":
            return server.connect(user, password, **options)
        raise OperationalError(1129, "Host is blocked because of many connection errors")

    session = open_session(PARAMS, connect=connect)
    with pytest.raises(OperationalError, match="blocked"):
        session.refused_logins({"alice": "x"})
