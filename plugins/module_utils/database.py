# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of the onprem.mlops database modules (MySQL 8.4 and MariaDB).

Login options, one PyMySQL connection per module run (``Session``), the server's dialect, identifier
quoting, and turning PyMySQL errors into ``fail_json`` messages that say what to check. The
per-resource logic lives in the private ``_database_<resource>`` files next to this one.
"""

import ssl
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ansible.module_utils.basic import AnsibleModule

try:
    import pymysql
    from pymysql.err import MySQLError
except ImportError:
    PYMYSQL_IMPORT_ERROR: str | None = traceback.format_exc()
    # A stand-in so that the modules still import and connect() can report the missing library.
    MySQLError = type("PyMySQLMissing", (Exception,), {})
else:
    PYMYSQL_IMPORT_ERROR = None

MYSQL = "mysql"
MARIADB = "mariadb"

# Server error numbers (ER_* and CR_* in the MySQL and MariaDB manuals).
ACCESS_DENIED = 1045
_UNREACHABLE = frozenset({2002, 2003, 2005, 2006, 2013})
_NOT_PERMITTED = frozenset({1044, 1142, 1143, 1227, 1370, 1410})
_NO_REGISTRY = frozenset({1049, 1146})
_AUTH_PLUGIN = frozenset({1251, 2059, 2061})
_CONCURRENT = frozenset({1007, 1062, 1396})

# Password checks log in once per account; a few at a time keep checking a class of fifty to about a second.
_LOGIN_WORKERS = 8
_PRIVILEGE_HINT = (
    "check that login_user may manage accounts: it needs CREATE USER, GRANT OPTION and every privilege it "
    "grants (ALL PRIVILEGES ON *.* WITH GRANT OPTION, as root has)"
)


class DatabaseModuleError(Exception):
    """A failure the module explains itself (as opposed to one raised by PyMySQL)."""


@dataclass(frozen=True)
class Statement:
    """One SQL statement with its parameters; the parameters (passwords among them) stay out of repr."""

    sql: str
    args: tuple = field(default=(), repr=False)


def database_argument_spec(**options: dict) -> dict:
    """Return the login options shared by every database module, plus the module's own ``options``."""
    spec: dict = {
        "login_host": {"type": "str", "default": "127.0.0.1"},
        "login_port": {"type": "int", "default": 3306},
        "login_user": {"type": "str", "default": "root"},
        "login_password": {"type": "str", "no_log": True},
        "connect_timeout": {"type": "int", "default": 30},
    }
    spec.update(options)
    return spec


def quote_identifier(name: str) -> str:
    """``name`` as a quoted identifier for a statement that PyMySQL formats with its parameters.

    Backticks are doubled for the server; ``%`` is doubled because PyMySQL runs ``sql % args``.
    """
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


def placeholders(count: int) -> str:
    """``%s, %s, ...`` for an ``IN (...)`` list of ``count`` parameters."""
    return ", ".join(["%s"] * count)


def dialect_of(version: str) -> str:
    """``mariadb`` or ``mysql`` from what ``SELECT VERSION()`` answered."""
    return MARIADB if "mariadb" in version.lower() else MYSQL


class Session:
    """The one connection of a module run, the server's dialect, and logins as other accounts."""

    def __init__(self, connection: Any, dialect: str, login_works: Callable[[str, str], bool]) -> None:
        self.connection = connection
        self.dialect = dialect
        self._login_works = login_works

    def rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, tuple(args))
            # MySQL 8 types some SHOW and information_schema columns as binary strings.
            return [tuple(_text(value) for value in row) for row in cursor.fetchall()]

    def value(self, sql: str, args: Sequence = ()) -> Any:
        rows = self.rows(sql, args)
        return rows[0][0] if rows else None

    def run(self, statement: Statement) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.args)

    def refused_logins(self, passwords: dict[str, str]) -> set[str]:
        """The users of ``passwords`` (user -> password) that the server does not let log in with it.

        Servers never return a password, and hashes depend on the authentication plugin, so the only
        comparison that works for every plugin is to try it.
        """
        if not passwords:
            return set()
        with ThreadPoolExecutor(max_workers=min(_LOGIN_WORKERS, len(passwords))) as pool:
            works = dict(zip(passwords, pool.map(self._login_works, passwords, passwords.values()), strict=True))
        return {user for user, ok in works.items() if not ok}

    def close(self) -> None:
        self.connection.close()


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else value


def _connect_kwargs(params: dict) -> dict:
    return {
        "host": params["login_host"],
        "port": params["login_port"],
        "connect_timeout": params["connect_timeout"],
        "charset": "utf8mb4",
        "autocommit": True,
    }


def _login_tls() -> dict:
    """TLS options for the password checks: one shared context, used whenever the server offers TLS.

    Accounts may REQUIRE SSL, so a check without TLS would find their password wrong. Left alone, PyMySQL
    builds a new TLS context for every connection (~70 ms of CPU each), which dominated checking a class of
    passwords; one shared context without certificate checks (the checks go to the administrator's own
    login address, which the main connection trusts already) keeps that cost once per run.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return {"ssl": context}


def open_session(params: dict, connect: Callable[..., Any] | None = None) -> Session:
    """Open the connection of this run and learn the server's dialect."""
    connect = connect or pymysql.connect
    connection = connect(user=params["login_user"], password=params["login_password"] or "", **_connect_kwargs(params))
    login_options: dict = {}

    def login_works(user: str, password: str) -> bool:
        try:
            connect(user=user, password=password, **_connect_kwargs(params), **login_options).close()
        except MySQLError as exc:
            if exc.args and exc.args[0] == ACCESS_DENIED:
                return False
            raise
        return True

    session = Session(connection, MYSQL, login_works)
    session.dialect = dialect_of(str(session.value("SELECT VERSION()")))
    login_options.update(_login_tls())
    return session


def error_message(exc: Exception, params: dict) -> str:
    """What PyMySQL raised, with what to check."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    text = f"{exc.args[1]} (error {code})" if code is not None and len(exc.args) > 1 else str(exc)
    text += "".join(f"; {note}" for note in getattr(exc, "__notes__", ()))
    endpoint = f"{params.get('login_host')}:{params.get('login_port')}"
    if code in _UNREACHABLE:
        return f"{text}; check that {endpoint} (login_host:login_port) is reachable and the server is running"
    if code == ACCESS_DENIED:
        return f"{text}; check login_user and login_password"
    if code in _NOT_PERMITTED:
        return f"{text}; {_PRIVILEGE_HINT}"
    if code in _NO_REGISTRY:
        return f"{text}; check registry_schema: the onprem.mlops.database role creates it with its users table"
    if code in _AUTH_PLUGIN:
        return f"{text}; check that the Python package cryptography is installed beside PyMySQL"
    if code in _CONCURRENT:
        return f"{text}; something else changed the same accounts while the module ran: run it again"
    return text


@contextmanager
def database_errors(module: AnsibleModule, action: str) -> Iterator[None]:
    """Turn what PyMySQL raises into ``fail_json`` saying what to check."""
    try:
        yield
    except DatabaseModuleError as exc:
        module.fail_json(msg=f"{action}: {exc}")
    except MySQLError as exc:
        module.fail_json(msg=f"{action}: {error_message(exc, module.params)}", exception=traceback.format_exc())
    except RuntimeError as exc:
        # PyMySQL's only RuntimeError: caching_sha2_password needs RSA and cryptography is missing.
        if "cryptography" not in str(exc):
            raise
        module.fail_json(
            msg=f"{action}: {exc}; install the Python package cryptography beside PyMySQL",
            exception=traceback.format_exc(),
        )


def connect(module: AnsibleModule) -> Session:
    """Open the session from the login options, or fail the module saying what is wrong."""
    if PYMYSQL_IMPORT_ERROR:
        module.fail_json(
            msg="Failed to import PyMySQL: install PyMySQL (pip install PyMySQL cryptography) for the Python "
            "interpreter that runs this module",
            exception=PYMYSQL_IMPORT_ERROR,
        )
    with database_errors(module, f"connecting to the database at {module.params['login_host']}"):
        return open_session(module.params)
