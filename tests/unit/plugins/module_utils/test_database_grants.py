"""Unit tests of reading SHOW GRANTS in both dialects and of planning GRANT/REVOKE statements."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils._database_grants import (
    ALL,
    AccountGrants,
    Grant,
    holds_all,
    parse_grants,
    plan_grants,
    reference_privileges,
    render,
    schema_pattern,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_database_fakes import (
    MYSQL_ALL,
    MYSQL_DYNAMIC,
    MYSQL_STATIC,
)

ACCOUNT = ("alice", "%")
OWN = "mlflow\\_alice"
MARIADB_ROOT = (
    "GRANT ALL PRIVILEGES ON *.* TO `root`@`%` IDENTIFIED BY PASSWORD '*496949DB2292E3FBC292711C48F9BA100A91227E' "
    "WITH GRANT OPTION"
)
MYSQL_ROOT = [
    f"GRANT {MYSQL_STATIC} ON *.* TO `root`@`%` WITH GRANT OPTION",
    f"GRANT {MYSQL_DYNAMIC} ON *.* TO `root`@`%` WITH GRANT OPTION",
    "GRANT PROXY ON ``@`` TO `root`@`%` WITH GRANT OPTION",
]
MYSQL_REFERENCE = reference_privileges(parse_grants(MYSQL_ROOT))
MARIADB_REFERENCE = reference_privileges(parse_grants([MARIADB_ROOT]))


@pytest.mark.parametrize(
    ("lines", "global_", "schemas", "unmanaged"),
    [
        pytest.param(
            ["GRANT USAGE ON *.* TO `alice`@`%` IDENTIFIED BY PASSWORD '*6891F9D51EB5A38D1BB310DDBC6379A189A4F575'"],
            Grant(),
            {},
            [],
            id="mariadb-new-account",
        ),
        pytest.param(
            [
                "GRANT USAGE ON *.* TO `alice`@`%` IDENTIFIED BY PASSWORD '*6891F9D51EB5A38D1BB310DDBC6379A189A4F575'",
                "GRANT ALL PRIVILEGES ON `mlflow\\_alice`.* TO `alice`@`%`",
            ],
            Grant(),
            {OWN: Grant(frozenset({ALL}))},
            [],
            id="mariadb-developer",
        ),
        pytest.param(
            ["GRANT USAGE ON *.* TO `alice`@`%`", "GRANT ALL PRIVILEGES ON `mlflow\\_alice`.* TO `alice`@`%`"],
            Grant(),
            {OWN: Grant(frozenset({ALL}))},
            [],
            id="mysql-developer",
        ),
        pytest.param(
            [MARIADB_ROOT],
            Grant(frozenset({ALL}), grant_option=True),
            {},
            [],
            id="mariadb-root",
        ),
        pytest.param(
            MYSQL_ROOT,
            Grant(MYSQL_ALL, grant_option=True),
            {},
            ["GRANT PROXY ON ``@``"],
            id="mysql-root-two-lines-and-proxy",
        ),
        pytest.param(
            ["GRANT SELECT, INSERT ON `zenml`.* TO `alice`@`%` WITH GRANT OPTION"],
            Grant(),
            {"zenml": Grant(frozenset({"SELECT", "INSERT"}), grant_option=True)},
            [],
            id="schema-with-grant-option",
        ),
        pytest.param(
            ["GRANT USAGE ON `zenml`.* TO `alice`@`%` WITH GRANT OPTION"],
            Grant(),
            {"zenml": Grant(grant_option=True)},
            [],
            id="grant-option-only",
        ),
        pytest.param(
            ["GRANT SELECT (`a`, `b`), INSERT ON `zenml`.`t` TO `alice`@`%`"],
            Grant(),
            {},
            ["GRANT SELECT (`a`, `b`), INSERT ON `zenml`.`t`"],
            id="column-grant-is-unmanaged",
        ),
        pytest.param(
            ["GRANT SELECT ON `we``ird`.`a TO b` TO `alice`@`%`"],
            Grant(),
            {},
            ["GRANT SELECT ON `we``ird`.`a TO b`"],
            id="keywords-inside-identifiers",
        ),
        pytest.param(
            ["GRANT ALL PRIVILEGES ON `we``ird`.* TO `alice`@`%`"],
            Grant(),
            {"we`ird": Grant(frozenset({ALL}))},
            [],
            id="doubled-backtick-in-schema",
        ),
        pytest.param(
            ["GRANT EXECUTE ON PROCEDURE `db`.`p` TO `alice`@`%`"],
            Grant(),
            {},
            ["GRANT EXECUTE ON PROCEDURE `db`.`p`"],
            id="routine-grant-is-unmanaged",
        ),
        pytest.param(
            ["GRANT `reader`@`%` TO `alice`@`%`", "GRANT `reader` TO `alice`@`%`"],
            Grant(),
            {},
            ["GRANT `reader`@`%`", "GRANT `reader`"],
            id="mysql-and-mariadb-role-grants",
        ),
        pytest.param(
            ["GRANT SELECT ON *.* TO `alice`@`%`", "REVOKE SELECT ON `mysql`.* FROM `alice`@`%`"],
            Grant(frozenset({"SELECT"})),
            {},
            ["REVOKE SELECT ON `mysql`.*"],
            id="mysql-partial-revoke",
        ),
        pytest.param(
            ["GRANT USAGE ON *.* TO `alice`@`%` IDENTIFIED VIA ed25519 USING 'WITH GRANT OPTION x'"],
            Grant(),
            {},
            [],
            id="quoted-text-is-not-a-keyword",
        ),
        pytest.param(
            ["GRANT all ON *.* TO `alice`@`%`;", "SET DEFAULT ROLE `reader` FOR `alice`@`%`"],
            Grant(frozenset({ALL})),
            {},
            [],
            id="lower-case-all-and-default-role-line",
        ),
    ],
)
def test_parse_grants(lines: list[str], global_: Grant, schemas: dict, unmanaged: list[str]) -> None:
    grants = parse_grants(lines)
    assert grants.global_ == global_
    assert grants.schemas == schemas
    assert grants.unmanaged == unmanaged


@pytest.mark.parametrize(
    ("grant", "reference", "expected"),
    [
        pytest.param(Grant(frozenset({ALL})), MARIADB_REFERENCE, True, id="mariadb-all"),
        pytest.param(Grant(frozenset({"SELECT", "INSERT"})), MARIADB_REFERENCE, False, id="mariadb-some"),
        pytest.param(Grant(MYSQL_ALL), MYSQL_REFERENCE, True, id="mysql-both-lists"),
        pytest.param(Grant(MYSQL_ALL | {"NEW_DYNAMIC_ADMIN"}), MYSQL_REFERENCE, True, id="mysql-more-than-root"),
        pytest.param(Grant(MYSQL_ALL - {"SYSTEM_USER"}), MYSQL_REFERENCE, False, id="mysql-one-revoked"),
        pytest.param(Grant(frozenset(MYSQL_STATIC.split(", "))), MYSQL_REFERENCE, False, id="mysql-static-line-only"),
        pytest.param(Grant(), MYSQL_REFERENCE, False, id="mysql-nothing"),
        pytest.param(Grant(), frozenset(), False, id="no-reference-is-never-all"),
    ],
)
def test_holds_all(grant: Grant, reference: frozenset[str], expected: bool) -> None:
    assert holds_all(grant, reference) is expected


def test_reference_leaves_out_what_all_does_not_give() -> None:
    assert MYSQL_REFERENCE == MYSQL_ALL
    assert {"GRANT OPTION", "PROXY", "USAGE"}.isdisjoint(MYSQL_REFERENCE)
    assert frozenset({ALL}) == MARIADB_REFERENCE


@pytest.mark.parametrize(
    ("schema", "pattern"),
    [
        ("mlflow_alice", "mlflow\\_alice"),
        ("mlflowalice", "mlflowalice"),
        ("a_b_c", "a\\_b\\_c"),
        ("odd%name", "odd\\%name"),
    ],
)
def test_schema_pattern_escapes_wildcards(schema: str, pattern: str) -> None:
    assert schema_pattern(schema) == pattern


def sql(statements: list) -> list[str]:
    assert all(statement.args == ACCOUNT for statement in statements)
    return [statement.sql for statement in statements]


OWNER = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES"})
OWNER_LIST = "ALTER, CREATE, DELETE, DROP, INDEX, INSERT, REFERENCES, SELECT, UPDATE"
READABLE = "mlflow\\_%"
DEVELOPER = {OWN: OWNER}
ADMINISTRATOR = {OWN: OWNER, READABLE: frozenset({"SELECT"})}


@pytest.mark.parametrize(
    ("current", "wanted", "expected"),
    [
        pytest.param(
            AccountGrants(), DEVELOPER, [f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO %s@%s"], id="new-developer"
        ),
        pytest.param(
            AccountGrants(),
            ADMINISTRATOR,
            [
                "GRANT SELECT ON `mlflow\\_%%`.* TO %s@%s",
                f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO %s@%s",
            ],
            id="new-administrator",
        ),
        pytest.param(AccountGrants(schemas={OWN: Grant(OWNER)}), DEVELOPER, [], id="developer-in-place"),
        pytest.param(
            AccountGrants(schemas={OWN: Grant(OWNER), READABLE: Grant(frozenset({"SELECT"}))}),
            ADMINISTRATOR,
            [],
            id="administrator-in-place",
        ),
        pytest.param(
            AccountGrants(schemas={OWN: Grant(frozenset({ALL}))}),
            DEVELOPER,
            [
                "REVOKE ALL PRIVILEGES ON `mlflow\\_alice`.* FROM %s@%s",
                f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO %s@%s",
            ],
            id="developer-of-an-earlier-version",
        ),
        pytest.param(
            AccountGrants(global_=Grant(frozenset({ALL})), schemas={OWN: Grant(frozenset({ALL}))}),
            ADMINISTRATOR,
            [
                "REVOKE ALL PRIVILEGES ON *.* FROM %s@%s",
                "GRANT SELECT ON `mlflow\\_%%`.* TO %s@%s",
                "REVOKE ALL PRIVILEGES ON `mlflow\\_alice`.* FROM %s@%s",
                f"GRANT {OWNER_LIST} ON `mlflow\\_alice`.* TO %s@%s",
            ],
            id="administrator-of-an-earlier-version",
        ),
        pytest.param(
            AccountGrants(schemas={OWN: Grant(OWNER), READABLE: Grant(frozenset({"SELECT"}))}),
            DEVELOPER,
            ["REVOKE ALL PRIVILEGES ON `mlflow\\_%%`.* FROM %s@%s"],
            id="administrator-to-developer",
        ),
        pytest.param(
            AccountGrants(schemas={OWN: Grant(OWNER | {"CREATE VIEW", "TRIGGER"})}),
            DEVELOPER,
            ["REVOKE CREATE VIEW, TRIGGER ON `mlflow\\_alice`.* FROM %s@%s"],
            id="extra-privileges-revoked",
        ),
        pytest.param(
            AccountGrants(schemas={OWN: Grant(frozenset({"SELECT"}))}),
            DEVELOPER,
            ["GRANT ALTER, CREATE, DELETE, DROP, INDEX, INSERT, REFERENCES, UPDATE ON `mlflow\\_alice`.* TO %s@%s"],
            id="missing-privileges-granted",
        ),
        pytest.param(
            AccountGrants(
                global_=Grant(frozenset({"CREATE"}), grant_option=True),
                schemas={
                    OWN: Grant(OWNER, grant_option=True),
                    "zenml": Grant(frozenset({"SELECT"})),
                    "stack\\_management": Grant(grant_option=True),
                    "mlflow_alice": Grant(frozenset({ALL})),
                },
            ),
            DEVELOPER,
            [
                "REVOKE ALL PRIVILEGES ON *.* FROM %s@%s",
                "REVOKE GRANT OPTION ON *.* FROM %s@%s",
                "REVOKE GRANT OPTION ON `mlflow\\_alice`.* FROM %s@%s",
                "REVOKE ALL PRIVILEGES ON `mlflow_alice`.* FROM %s@%s",
                "REVOKE GRANT OPTION ON `stack\\_management`.* FROM %s@%s",
                "REVOKE ALL PRIVILEGES ON `zenml`.* FROM %s@%s",
            ],
            id="developer-with-drift",
        ),
        pytest.param(
            AccountGrants(schemas={OWN: Grant(OWNER)}, unmanaged=["GRANT SELECT ON `zenml`.`t`"]),
            DEVELOPER,
            [],
            id="unmanaged-left-alone",
        ),
    ],
)
def test_plan_grants(current: AccountGrants, wanted: dict, expected: list[str]) -> None:
    statements, after = plan_grants(ACCOUNT, current, wanted)
    assert sql(statements) == expected
    assert after.schemas == {pattern: Grant(privileges) for pattern, privileges in wanted.items()}
    assert after.global_ == Grant()
    assert after.unmanaged == current.unmanaged


def test_grant_on_a_pattern_with_percent_survives_pymysql_formatting() -> None:
    current = AccountGrants(schemas={OWN: Grant(OWNER), "test%": Grant(frozenset({"SELECT"}))})
    statements, _after = plan_grants(ACCOUNT, current, DEVELOPER)
    revoke = statements[-1]
    assert revoke.sql == "REVOKE ALL PRIVILEGES ON `test%%`.* FROM %s@%s"
    assert revoke.sql % ("'alice'", "'%'") == "REVOKE ALL PRIVILEGES ON `test%`.* FROM 'alice'@'%'"


@pytest.mark.parametrize(
    ("grants", "reference", "lines"),
    [
        pytest.param(
            AccountGrants(global_=Grant(MYSQL_ALL), schemas={OWN: Grant(frozenset({ALL}))}),
            MYSQL_REFERENCE,
            ["ALL PRIVILEGES ON *.*", "ALL PRIVILEGES ON `mlflow\\_alice`.*"],
            id="mysql-all-shown-as-all",
        ),
        pytest.param(
            AccountGrants(
                global_=Grant(frozenset({"SELECT", "CREATE"}), grant_option=True),
                schemas={"zenml": Grant(grant_option=True)},
                unmanaged=["GRANT `reader`@`%`"],
            ),
            MARIADB_REFERENCE,
            ["CREATE, SELECT ON *.* WITH GRANT OPTION", "USAGE ON `zenml`.* WITH GRANT OPTION", "GRANT `reader`@`%`"],
            id="partial-and-unmanaged",
        ),
        pytest.param(AccountGrants(), MARIADB_REFERENCE, [], id="nothing"),
    ],
)
def test_render(grants: AccountGrants, reference: frozenset[str], lines: list[str]) -> None:
    assert render(grants, reference) == lines
