# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading ``SHOW GRANTS`` of MySQL 8.4 and MariaDB, and the GRANT/REVOKE statements that make an
account's global and schema-level privileges exactly what a tenant role needs.

The two servers print the same grants differently:

- MariaDB prints ``GRANT ALL PRIVILEGES ON *.* TO `bob`@`%` IDENTIFIED BY PASSWORD '*...'``;
- MySQL 8.4 prints ALL on ``*.*`` as the list of static privileges on one line and the dynamic ones
  (``APPLICATION_PASSWORD_ADMIN,AUDIT_ABORT_EXEMPT,...``) on a second line, and never the word ALL;
- both print ``GRANT ALL PRIVILEGES ON `db`.*`` at schema level, keeping a ``\\_`` escape as written;
- MySQL prints partial revokes as ``REVOKE ... FROM`` lines and roles as ``GRANT `role`@`%` TO ...``.

Grants on tables, columns, routines, proxies and roles are never written by the modules; they are kept
and reported as unmanaged.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ansible_collections.onprem.mlops.plugins.module_utils.database import Statement, quote_identifier

ALL = "ALL PRIVILEGES"
GLOBAL = "*.*"
# Privileges that ALL does not include, or that mean "none".
_NOT_IN_ALL = frozenset({"GRANT OPTION", "PROXY", "USAGE"})
_DATABASE_OBJECT = re.compile(r"^`((?:[^`]|``)*)`\.\*$")
_GRANT_OPTION = re.compile(r"\bWITH\b.*\bGRANT OPTION\b")
_HIDDEN = "\0"


@dataclass(frozen=True)
class Grant:
    """The privileges of one account at one level, without USAGE."""

    privileges: frozenset[str] = frozenset()
    grant_option: bool = False

    def merged(self, other: "Grant") -> "Grant":
        return Grant(self.privileges | other.privileges, self.grant_option or other.grant_option)

    def render(self, level: str, full: bool = False) -> list[str]:
        """The grant as ``PRIVILEGES ON level`` lines for a diff; nothing when there is no privilege."""
        if full or ALL in self.privileges:
            text = ALL
        elif self.privileges:
            text = ", ".join(sorted(self.privileges))
        elif self.grant_option:
            text = "USAGE"
        else:
            return []
        return [f"{text} ON {level}" + (" WITH GRANT OPTION" if self.grant_option else "")]


@dataclass
class AccountGrants:
    """An account's grants: global, per schema pattern (as the server spells it), and the rest."""

    global_: Grant = field(default_factory=Grant)
    schemas: dict[str, Grant] = field(default_factory=dict)
    unmanaged: list[str] = field(default_factory=list)


def _mask(text: str) -> str:
    """``text`` with everything inside quotes or parentheses hidden, so keywords are found only at top level."""
    out: list[str] = []
    quote = ""
    depth = 0
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote != "`":
                out.append(_HIDDEN * len(text[index : index + 2]))
                index += 2
                continue
            if char == quote and text[index + 1 : index + 2] == quote:
                out.append(_HIDDEN * 2)
                index += 2
                continue
            if char == quote:
                quote = ""
            out.append(_HIDDEN)
        elif char in "`'\"":
            quote = char
            out.append(_HIDDEN)
        elif char in "()":
            depth += 1 if char == "(" else -1
            out.append(_HIDDEN)
        else:
            out.append(_HIDDEN if depth else char)
        index += 1
    return "".join(out)


def _split_top(text: str, masked: str, separator: str) -> list[str]:
    parts, start = [], 0
    for index, char in enumerate(masked):
        if char == separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _privilege_name(text: str) -> str:
    name = " ".join(text.split()).upper()
    return ALL if name == "ALL" else name


def _parse_line(line: str, grants: AccountGrants) -> None:
    masked = _mask(line)
    if masked.startswith("REVOKE "):
        grants.unmanaged.append(line[: masked.find(" FROM ")] if " FROM " in masked else line)
        return
    if not masked.startswith("GRANT "):
        return
    on, to = masked.find(" ON "), masked.find(" TO ")
    if to == -1:
        grants.unmanaged.append(line)
        return
    if on == -1 or on > to:
        grants.unmanaged.append(line[:to])
        return
    level = line[on + 4 : to].strip()
    schema = _DATABASE_OBJECT.match(level)
    if level != GLOBAL and schema is None:
        grants.unmanaged.append(line[:to])
        return
    privileges = frozenset(
        _privilege_name(name) for name in _split_top(line[6:on], masked[6:on], ",") if name.upper() != "USAGE"
    )
    grant = Grant(privileges, bool(_GRANT_OPTION.search(masked[to:])))
    if schema is None:
        grants.global_ = grants.global_.merged(grant)
    else:
        pattern = schema.group(1).replace("``", "`")
        grants.schemas[pattern] = grants.schemas.get(pattern, Grant()).merged(grant)


def parse_grants(lines: Iterable[str]) -> AccountGrants:
    """Read the lines of ``SHOW GRANTS`` (either dialect) into global, schema-level and unmanaged grants."""
    grants = AccountGrants()
    for line in lines:
        _parse_line(line.strip().rstrip(";"), grants)
    return grants


def reference_privileges(login_grants: AccountGrants) -> frozenset[str]:
    """The global privileges of the login account that GRANT ALL also gives, to recognise ALL on MySQL.

    MySQL 8.4 never prints ALL for ``*.*``; an account holds ALL when it has every privilege the login
    account (which must hold them all to grant them) has. On MariaDB this is simply ``ALL PRIVILEGES``.
    """
    return login_grants.global_.privileges - _NOT_IN_ALL


def holds_all(grant: Grant, reference: frozenset[str]) -> bool:
    """Whether ``grant`` amounts to ALL PRIVILEGES, judged against the login account's ``reference``."""
    if ALL in grant.privileges:
        return True
    return bool(reference) and ALL not in reference and reference <= grant.privileges


def schema_pattern(schema: str) -> str:
    """The schema-level grant pattern that matches ``schema`` only: ``_`` and ``%`` are wildcards there."""
    return schema.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _level(pattern: str | None) -> str:
    return GLOBAL if pattern is None else f"{quote_identifier(pattern)}.*"


def _grant(account: tuple[str, str], pattern: str | None, privileges: Iterable[str]) -> Statement:
    return Statement(f"GRANT {', '.join(sorted(privileges))} ON {_level(pattern)} TO %s@%s", account)


def _revoke(account: tuple[str, str], pattern: str | None, grant: Grant) -> list[Statement]:
    statements = []
    if grant.privileges:
        statements.append(Statement(f"REVOKE ALL PRIVILEGES ON {_level(pattern)} FROM %s@%s", account))
    if grant.grant_option:
        statements.append(Statement(f"REVOKE GRANT OPTION ON {_level(pattern)} FROM %s@%s", account))
    return statements


def _converge(account: tuple[str, str], pattern: str, current: Grant, wanted: frozenset[str]) -> list[Statement]:
    """The statements that turn ``current`` into exactly ``wanted`` at one schema level, without GRANT OPTION."""
    statements: list[Statement] = []
    if current.privileges != wanted:
        extra = current.privileges - wanted
        if ALL in current.privileges or (extra and not wanted):
            statements += _revoke(account, pattern, Grant(current.privileges))
            missing = wanted
        else:
            if extra:
                statements.append(
                    Statement(f"REVOKE {', '.join(sorted(extra))} ON {_level(pattern)} FROM %s@%s", account)
                )
            missing = wanted - current.privileges
        if missing:
            statements.append(_grant(account, pattern, missing))
    return statements + _revoke(account, pattern, Grant(grant_option=current.grant_option))


def render(grants: AccountGrants, reference: frozenset[str]) -> list[str]:
    """The grants as sorted ``PRIVILEGES ON level`` lines for a diff, ALL recognised in both dialects."""
    lines = grants.global_.render(GLOBAL, full=holds_all(grants.global_, reference))
    for pattern in sorted(grants.schemas):
        lines += grants.schemas[pattern].render(f"`{pattern}`.*")
    return lines + sorted(grants.unmanaged)


def plan_grants(
    account: tuple[str, str], current: AccountGrants, wanted: dict[str, frozenset[str]]
) -> tuple[list[Statement], AccountGrants]:
    """The statements that leave exactly ``wanted`` (schema pattern -> privileges) at schema level and nothing
    at global level, never WITH GRANT OPTION, and the grants afterwards. Unmanaged grants are left as they are.
    """
    statements = _revoke(account, None, current.global_)
    for pattern in sorted(set(current.schemas) | set(wanted)):
        statements += _converge(
            account, pattern, current.schemas.get(pattern, Grant()), wanted.get(pattern, frozenset())
        )
    after = AccountGrants(
        schemas={pattern: Grant(privileges) for pattern, privileges in wanted.items() if privileges},
        unmanaged=list(current.unmanaged),
    )
    return statements, after
