"""Unit tests of the database_tenant logic against a fake MySQL 8.4 / MariaDB server at PyMySQL's boundary."""

import ssl

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils._database_tenant import ensure_tenants
from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    DatabaseModuleError,
    Session,
    open_session,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_fakes import (
    LOGIN,
    FakeServer,
)
from pymysql.err import OperationalError, ProgrammingError

DIALECTS = pytest.mark.parametrize("dialect", ["mysql", "mariadb"])
OWNER_LIST = "ALTER, CREATE, DELETE, DROP, INDEX, INSERT, REFERENCES, SELECT, UPDATE"
CLASS = [
    {"name": "alice", "role": "developer", "password": "alice-pw-1"},
    {"name": "bob", "role": "developer", "password": "o'brien\\pw"},
    {"name": "carol", "role": "administrator", "password": "carol-pw-1"},
]


def params(users: list[dict] | None = None, **overrides: object) -> dict:
    base = {
        **LOGIN,
        "connect_timeout": 30,
        "users": CLASS if users is None else users,
        "state": "present",
        "update_password": "on_create",
        "schema_prefix": "mlflow_",
        "registry_schema": "stack_management",
        "account_host": "%",
        "usage": False,
    }
    return {**base, **overrides}


def run(server: FakeServer, options: dict, check_mode: bool = False) -> dict:
    session = open_session(options, connect=server.connect)
    try:
        return ensure_tenants(session, options, check_mode)
    finally:
        session.close()


def converge(server: FakeServer, options: dict) -> dict[str, dict]:
    """Check mode, apply, check again, apply again; assert only the apply wrote. Returns the four results."""
    server.writes.clear()
    runs = {"check": run(server, options, check_mode=True)}
    assert server.writes == [], "check mode wrote"
    runs["apply"] = run(server, options)
    applied = list(server.writes)
    server.writes.clear()
    runs["check_again"] = run(server, options, check_mode=True)
    runs["again"] = run(server, options)
    assert server.writes == [], "a second run wrote"
    assert runs["check"]["changed"] is runs["apply"]["changed"]
    assert runs["check"]["diff"] == runs["apply"]["diff"]
    assert not runs["check_again"]["changed"] and not runs["again"]["changed"]
    server.writes[:] = applied
    return runs


@DIALECTS
def test_class_is_provisioned_once(dialect: str) -> None:
    server = FakeServer(dialect)
    runs = converge(server, params())
    assert runs["apply"]["changed"]
    assert [user["changed"] for user in runs["again"]["users"]] == [False, False, False]
    assert set(server.accounts) == {("alice", "%"), ("bob", "%"), ("carol", "%")}
    assert {"mlflow_alice", "mlflow_bob", "mlflow_carol"} <= set(server.schemas)
    assert server.registry() == {"alice": "developer", "bob": "developer", "carol": "administrator"}
    assert server.accounts[("bob", "%")].password == "o'brien\\pw"


@DIALECTS
def test_one_connection_per_run(dialect: str) -> None:
    server = FakeServer(dialect)
    run(server, params())
    run(server, params())
    assert [connect["user"] for connect in server.connects] == ["root", "root"]


@pytest.mark.parametrize(
    ("dialect", "create", "plugin"),
    [
        (
            "mysql",
            "CREATE USER 'alice'@'%' IDENTIFIED WITH caching_sha2_password BY 'alice-pw-1'",
            "caching_sha2_password",
        ),
        ("mariadb", "CREATE USER 'alice'@'%' IDENTIFIED BY 'alice-pw-1'", "mysql_native_password"),
    ],
)
def test_statements_of_a_new_developer(dialect: str, create: str, plugin: str) -> None:
    server = FakeServer(dialect)
    run(server, params(CLASS[:1]))
    assert server.writes == [
        create,
        "CREATE DATABASE `mlflow_alice` CHARACTER SET utf8mb4",
        f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO 'alice'@'%'",
        "INSERT INTO `stack_management`.`users` (username, role) VALUES ('alice', 'developer')",
    ]
    assert server.accounts[("alice", "%")].plugin == plugin


@DIALECTS
def test_passwords_are_parameters_and_never_in_the_result(dialect: str) -> None:
    server = FakeServer(dialect)
    result = run(server, params())
    assert "CREATE USER 'bob'@'%' IDENTIFIED" in server.writes[4]
    assert server.writes[4].endswith("BY 'o\\'brien\\\\pw'")
    for user in CLASS:
        assert user["password"] not in str(result)


@DIALECTS
def test_administrator_reads_every_schema_and_holds_nothing_global(dialect: str) -> None:
    server = FakeServer(dialect)
    run(server, params())
    assert next(line for line in server.grants_of("carol") if " ON *.* " in line).startswith("GRANT USAGE ON *.*")
    assert sorted(server.grants_of("carol")[1:]) == [
        f"GRANT {', '.join(sorted(OWNER_LIST.split(', ')))} ON `mlflow\\_carol`.* TO `carol`@`%`",
        "GRANT SELECT ON `mlflow\\_%`.* TO `carol`@`%`",
    ]
    developer = server.grants_of("alice")
    assert developer[0].startswith("GRANT USAGE ON *.*")
    assert developer[1:] == [f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO `alice`@`%`"]
    result = run(server, params())
    assert not result["changed"]
    assert result["diff"]["after"]["users"]["carol"]["grants"] == [
        "SELECT ON `mlflow\\_%`.*",
        f"{OWNER_LIST} ON `mlflow\\_carol`.*",
    ]


@DIALECTS
def test_an_administrator_of_an_earlier_version_loses_all_on_everything(dialect: str) -> None:
    server = FakeServer(dialect)
    server.add_account("carol", "carol-pw-1", admin=True, schema_pattern="mlflow\\_carol")
    server.schemas["mlflow_carol"] = "utf8mb4"
    server.registry()["carol"] = "administrator"
    converge(server, params(CLASS[2:]))
    assert server.writes[0] == "REVOKE ALL PRIVILEGES ON *.* FROM 'carol'@'%'"
    assert server.accounts[("carol", "%")].global_privileges == set()


@DIALECTS
def test_connection_limit_is_set_and_corrected(dialect: str) -> None:
    server = FakeServer(dialect)
    converge(server, params(CLASS[:1], max_connections=30))
    assert "ALTER USER 'alice'@'%' WITH MAX_USER_CONNECTIONS 30" in server.writes
    server.accounts[("alice", "%")].max_connections = 0
    runs = converge(server, params(CLASS[:1], max_connections=30))
    assert server.writes == ["ALTER USER 'alice'@'%' WITH MAX_USER_CONNECTIONS 30"]
    assert runs["apply"]["diff"]["before"]["users"]["alice"]["max_connections"] == 0
    assert runs["apply"]["diff"]["after"]["users"]["alice"]["max_connections"] == 30
    server.writes.clear()
    assert not run(server, params(CLASS[:1]))["changed"]


@DIALECTS
def test_accounts_require_tls_when_asked_and_converge(dialect: str) -> None:
    server = FakeServer(dialect)
    converge(server, params(CLASS[:1], require_ssl=True))
    assert "ALTER USER 'alice'@'%' REQUIRE SSL" in server.writes
    assert server.accounts[("alice", "%")].ssl_type == "ANY"
    server.writes.clear()
    assert not run(server, params(CLASS[:1], require_ssl=True))["changed"]


@DIALECTS
def test_an_existing_account_gets_the_tls_requirement_and_can_lose_it(dialect: str) -> None:
    server = FakeServer(dialect)
    converge(server, params(CLASS[:1]))
    assert server.accounts[("alice", "%")].ssl_type == ""
    runs = converge(server, params(CLASS[:1], require_ssl=True))
    assert runs["apply"]["diff"]["before"]["users"]["alice"]["require_ssl"] is False
    assert runs["apply"]["diff"]["after"]["users"]["alice"]["require_ssl"] is True
    server.writes.clear()
    converge(server, params(CLASS[:1], require_ssl=False))
    assert server.writes == ["ALTER USER 'alice'@'%' REQUIRE NONE"]


@DIALECTS
def test_the_tls_requirement_is_left_alone_when_not_given(dialect: str) -> None:
    server = FakeServer(dialect)
    converge(server, params(CLASS[:1], require_ssl=True))
    server.writes.clear()
    result = run(server, params(CLASS[:1]))
    assert not result["changed"]
    assert "require_ssl" not in result["diff"]["after"]["users"]["alice"]


@DIALECTS
def test_diff_and_result_of_a_new_class(dialect: str) -> None:
    result = run(FakeServer(dialect), params(), check_mode=True)
    assert result["diff"]["before"]["users"] == {"alice": {}, "bob": {}, "carol": {}}
    assert result["diff"]["after"]["users"]["alice"] == {
        "account": "alice@%",
        "grants": [f"{OWNER_LIST} ON `mlflow\\_alice`.*"],
        "schema": "mlflow_alice",
        "charset": "utf8mb4",
        "role": "developer",
    }
    assert result["users"][2] == {
        "name": "carol",
        "role": "administrator",
        "previous_role": None,
        "schema": "mlflow_carol",
        "account_exists": False,
        "changed": True,
        "password_changed": False,
    }


@DIALECTS
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("developer", "administrator", ["GRANT SELECT ON `mlflow\\_%`.* TO 'bob'@'%'"]),
        ("administrator", "developer", ["REVOKE ALL PRIVILEGES ON `mlflow\\_%`.* FROM 'bob'@'%'"]),
    ],
)
def test_role_change(dialect: str, old: str, new: str, expected: list[str]) -> None:
    server = FakeServer(dialect)
    run(server, params([{"name": "bob", "role": old, "password": "bob-pw-1"}]))
    runs = converge(server, params([{"name": "bob", "role": new, "password": "bob-pw-1"}]))
    assert server.writes == [*expected, f"UPDATE `stack_management`.`users` SET role = '{new}' WHERE username = 'bob'"]
    assert runs["apply"]["users"][0]["previous_role"] == old
    assert server.registry() == {"bob": new}


@DIALECTS
@pytest.mark.parametrize(
    ("damage", "repair"),
    [
        pytest.param(
            lambda server: server.schemas.pop("mlflow_alice"),
            ["CREATE DATABASE `mlflow_alice` CHARACTER SET utf8mb4"],
            id="schema-dropped",
        ),
        pytest.param(
            lambda server: server.registry().pop("alice"),
            ["INSERT INTO `stack_management`.`users` (username, role) VALUES ('alice', 'developer')"],
            id="registry-row-deleted",
        ),
        pytest.param(
            lambda server: server.accounts[("alice", "%")].schemas.clear(),
            [f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO 'alice'@'%'"],
            id="grant-revoked",
        ),
        pytest.param(
            lambda server: server.schemas.update(mlflow_alice="latin1"),
            ["ALTER DATABASE `mlflow_alice` CHARACTER SET utf8mb4"],
            id="wrong-charset",
        ),
        pytest.param(
            lambda server: server.accounts.pop(("alice", "%")),
            [
                "CREATE USER 'alice'@'%' IDENTIFIED",
                f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO 'alice'@'%'",
            ],
            id="account-dropped",
        ),
        pytest.param(
            lambda server: server.accounts[("alice", "%")].schemas.update({"zenml": ({"SELECT"}, True)}),
            [
                "REVOKE ALL PRIVILEGES ON `zenml`.* FROM 'alice'@'%'",
                "REVOKE GRANT OPTION ON `zenml`.* FROM 'alice'@'%'",
            ],
            id="grant-on-zenml-added-by-hand",
        ),
    ],
)
def test_partial_state_is_completed(dialect: str, damage: object, repair: list[str]) -> None:
    server = FakeServer(dialect)
    run(server, params(CLASS[:1]))
    damage(server)
    converge(server, params(CLASS[:1]))
    assert len(server.writes) == len(repair)
    assert all(write.startswith(expected) for write, expected in zip(server.writes, repair, strict=True))


@DIALECTS
def test_unmanaged_grants_are_kept_and_shown(dialect: str) -> None:
    server = FakeServer(dialect)
    run(server, params(CLASS[:1]))
    server.accounts[("alice", "%")].extra_lines.append("GRANT SELECT ON `zenml`.`t` TO {grantee}")
    result = run(server, params(CLASS[:1]))
    assert not result["changed"]
    assert "GRANT SELECT ON `zenml`.`t`" in result["diff"]["after"]["users"]["alice"]["grants"]


@DIALECTS
def test_update_password_always(dialect: str) -> None:
    server = FakeServer(dialect)
    run(server, params())
    same = run(server, params(update_password="always"))
    assert not same["changed"]
    assert sorted(connect["user"] for connect in server.connects[1:]) == ["alice", "bob", "carol", "root"]

    new = [{**CLASS[0], "password": "alice-pw-2"}]
    server.writes.clear()
    check = run(server, params(new, update_password="always"), check_mode=True)
    assert check["changed"] and check["users"][0]["password_changed"] and server.writes == []
    assert check["diff"]["before"]["users"]["alice"]["password"] != check["diff"]["after"]["users"]["alice"]["password"]
    converge(server, params(new, update_password="always"))
    assert len(server.writes) == 1 and server.writes[0].startswith("ALTER USER 'alice'@'%' IDENTIFIED")
    assert ("WITH caching_sha2_password" in server.writes[0]) is (dialect == "mysql")
    assert server.accounts[("alice", "%")].password == "alice-pw-2"


def test_on_create_never_checks_passwords() -> None:
    server = FakeServer()
    run(server, params())
    result = run(server, params([{**CLASS[0], "password": "another"}]))
    assert not result["changed"]
    assert [connect["user"] for connect in server.connects] == ["root", "root"]


@pytest.mark.parametrize("cipher", ["", "TLS_AES_256_GCM_SHA384"])
def test_password_checks_offer_tls_with_one_shared_context(cipher: str) -> None:
    server = FakeServer("mysql")
    server.ssl_cipher = cipher
    run(server, params())
    options: list[dict] = []
    original = server.connect

    def spy(user: str, password: str, **kwargs: object) -> object:
        options.append(kwargs)
        return original(user, password, **kwargs)

    session = open_session(params(update_password="always"), connect=spy)
    ensure_tenants(session, params(update_password="always"), False)
    logins = options[1:]
    assert len(logins) == 3
    assert all(isinstance(login["ssl"], ssl.SSLContext) for login in logins)
    assert len({id(login["ssl"]) for login in logins}) == 1


@DIALECTS
def test_absent_removes_schema_then_account_then_row(dialect: str) -> None:
    server = FakeServer(dialect)
    run(server, params())
    runs = converge(server, params([{"name": "bob"}], state="absent"))
    assert server.writes == [
        "DROP DATABASE `mlflow_bob`",
        "DROP USER 'bob'@'%'",
        "DELETE FROM `stack_management`.`users` WHERE username = 'bob'",
    ]
    assert runs["apply"]["diff"]["after"]["users"] == {"bob": {}}
    assert runs["apply"]["users"][0]["previous_role"] == "developer"
    assert runs["again"]["users"][0] == {
        "name": "bob",
        "role": None,
        "previous_role": None,
        "schema": "mlflow_bob",
        "account_exists": False,
        "changed": False,
    }
    assert ("alice", "%") in server.accounts and "mlflow_alice" in server.schemas


def test_absent_of_a_half_removed_user_finishes_the_job() -> None:
    server = FakeServer()
    run(server, params(CLASS[:1]))
    server.schemas.pop("mlflow_alice")
    server.accounts.pop(("alice", "%"))
    converge(server, params([{"name": "alice"}], state="absent"))
    assert server.writes == ["DELETE FROM `stack_management`.`users` WHERE username = 'alice'"]


@pytest.mark.parametrize(
    "name",
    ["Alice", "al", "a-b", "1abc", "a" * 33, "alice;drop", "alice`", "bob_smith", "", "élise"],
)
def test_invalid_names_fail_before_anything_is_read(name: str) -> None:
    server = FakeServer()
    with pytest.raises(DatabaseModuleError, match="invalid user names"):
        run(server, params([CLASS[0], {"name": name, "role": "developer", "password": "x"}]))
    assert server.queries == [] and server.writes == []


@pytest.mark.parametrize(
    ("users", "overrides", "message"),
    [
        pytest.param([CLASS[0], CLASS[0]], {}, "more than once", id="duplicate"),
        pytest.param([{"name": "alice", "password": "x"}], {}, "have no role", id="no-role"),
        pytest.param([CLASS[0]], {"schema_prefix": "ml-flow_"}, "schema_prefix", id="bad-prefix"),
        pytest.param([CLASS[0]], {"registry_schema": "a`b"}, "registry_schema", id="bad-registry"),
        pytest.param([CLASS[0]], {"account_host": ""}, "account_host", id="empty-host"),
    ],
)
def test_option_refusals(users: list[dict], overrides: dict, message: str) -> None:
    server = FakeServer()
    with pytest.raises(DatabaseModuleError, match=message):
        run(server, params(users, **overrides))
    assert server.writes == []


def test_a_missing_password_fails_before_any_user_is_written() -> None:
    server = FakeServer()
    users = [CLASS[0], {"name": "dave", "role": "developer"}]
    with pytest.raises(DatabaseModuleError, match=r"\['dave'\] have no account yet and need a password"):
        run(server, params(users))
    assert server.writes == []


def test_an_existing_account_needs_no_password() -> None:
    server = FakeServer()
    run(server, params(CLASS[:1]))
    assert not run(server, params([{"name": "alice", "role": "developer"}]))["changed"]


@pytest.mark.parametrize(("dialect", "sets_expiry"), [("mysql", True), ("mariadb", False)])
def test_usage(dialect: str, sets_expiry: bool) -> None:
    server = FakeServer(dialect)
    run(server, params())
    server.usage["mlflow_alice"] = (12, 1130496)
    server.log.clear()
    result = run(server, params(usage=True), check_mode=True)
    assert ("SET SESSION information_schema_stats_expiry = 0" in server.log) is sets_expiry
    assert [user["usage"] for user in result["users"]] == [
        {"bytes": 1130496, "tables": 12},
        {"bytes": 0, "tables": 0},
        {"bytes": 0, "tables": 0},
    ]
    assert "usage" not in run(server, params())["users"][0]


def test_other_account_host() -> None:
    server = FakeServer()
    run(server, params(CLASS[:1], account_host="10.0.0.%"))
    assert ("alice", "10.0.0.%") in server.accounts
    assert server.writes[0].startswith("CREATE USER 'alice'@'10.0.0.%'")
    assert not run(server, params(CLASS[:1], account_host="10.0.0.%"))["changed"]


def test_missing_registry_is_an_error_before_writing() -> None:
    server = FakeServer()
    with pytest.raises(ProgrammingError):
        run(server, params(registry_schema="nowhere"))
    assert server.writes == []


def test_a_failure_half_way_names_the_user_and_a_rerun_completes() -> None:
    server = FakeServer()
    server.fail_on[r"^CREATE DATABASE `mlflow_bob`"] = OperationalError(1044, "Access denied")
    with pytest.raises(OperationalError) as failure:
        run(server, params())
    assert "while changing user bob (done before it: ['alice'])" in failure.value.__notes__[0]
    assert ("bob", "%") in server.accounts and "mlflow_bob" not in server.schemas
    server.fail_on.clear()
    converge(server, params())
    assert [write.split(" ", 2)[:2] for write in server.writes] == [
        ["CREATE", "DATABASE"],
        ["GRANT", "ALTER,"],
        ["INSERT", "INTO"],
        ["CREATE", "USER"],
        ["CREATE", "DATABASE"],
        ["GRANT", "SELECT"],
        ["GRANT", "ALTER,"],
        ["INSERT", "INTO"],
    ]


def test_binary_strings_in_results_are_read_as_text() -> None:
    server = FakeServer("mysql")
    run(server, params())
    server.binary_results = True
    server.usage["mlflow_alice"] = (3, 49152)
    result = run(server, params(usage=True))
    assert not result["changed"]
    assert result["users"][0]["previous_role"] == "developer"
    assert result["users"][0]["usage"] == {"bytes": 49152, "tables": 3}


def test_empty_list_changes_nothing() -> None:
    server = FakeServer()
    result = run(server, params([]))
    assert result == {"changed": False, "diff": {"before": {"users": {}}, "after": {"users": {}}}, "users": []}


def test_session_reads_through_one_cursor_each() -> None:
    server = FakeServer("mysql")
    session = open_session(params(), connect=server.connect)
    assert isinstance(session, Session) and session.dialect == "mysql"
    assert session.value("SELECT VERSION()") == "8.4.3"
