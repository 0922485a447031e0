# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tenant modules (database_tenant, minio_tenant, zenml_tenant) and the users filters agree on.

One username serves as MySQL account and schema suffix, MinIO user, access key and bucket, and ZenML
account and name prefix, so one rule decides which names are possible everywhere: the strictest of the
services' own limits (MinIO's access keys and S3 bucket names), minus the names the server keeps for itself.
The same goes for the roles, the names of a user's resources, the placeholders that stand for secrets in a
diff, the ``users``/``update_password`` options, and the shape of a run (``EnsureTenants``).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, TypeVar

USERNAME_LENGTH = (3, 20)
ROLES = ("developer", "administrator")
RESERVED_NAMES = frozenset(
    {
        "root",
        "admin",
        "admins",
        "administrator",
        "administrators",
        "developer",
        "developers",
        "mlops",
        "mysql",
        "mariadb",
        "minio",
        "zenml",
        "mlflow",
        "gitlab",
        "runner",
        "server",
        "default",
        "system",
        "sys",
        "guest",
        "anonymous",
        "nobody",
        "everyone",
        "public",
        "database",
        "zenmlserver",
        "stackmanagement",
        # Its MLflow schema would be the template new users' schemas are copied from (users_mlflow_template_schema).
        "template",
    }
)
RESERVED_PREFIXES = ("shared", "archive", "mlflow", "gitlabrunner", "minio")
# Shown in a diff in place of a secret, and of one that the run changes.
SECRET_PLACEHOLDER = "<hidden>"
SECRET_CHANGED_PLACEHOLDER = "<hidden, changed>"
UPDATE_PASSWORD = ("always", "on_create")


def username_errors(name: object) -> list[str]:
    """Why ``name`` cannot be a username; empty when it can."""
    text = "" if name is None else str(name)
    if not text:
        return ["a username is required"]
    errors = []
    if text != text.lower():
        errors.append(f"'{text}' has upper-case letters: use '{text.lower()}'")
    low, high = USERNAME_LENGTH
    if not low <= len(text) <= high:
        errors.append(f"'{text}' has {len(text)} characters: a username has {low} to {high}")
    if not text.isascii() or not text.isalnum():
        errors.append(f"'{text}' may hold only letters a-z and digits (no spaces, dashes, dots, quotes or symbols)")
    elif not text[0].isalpha():
        errors.append(f"'{text}' must start with a letter")
    lowered = text.lower()
    if lowered in RESERVED_NAMES:
        errors.append(f"'{text}' is reserved for the server itself")
    elif lowered.startswith(RESERVED_PREFIXES):
        errors.append(f"'{text}' starts with a reserved prefix ({', '.join(RESERVED_PREFIXES)})")
    return errors


def user_resources(name: str, schema_prefix: str = "mlflow_") -> dict[str, str]:
    """Names of everything ``name`` owns, in every service."""
    return {
        "username": name,
        "mysql_user": name,
        "mysql_schema": f"{schema_prefix}{name}",
        "bucket": name,
        "s3_access_key": name,
        "zenml_user": name,
        "zenml_project": name,
        "zenml_stack": f"{name}-stack",
        "zenml_artifact_store": f"{name}-artifact-store",
        "zenml_experiment_tracker": f"{name}-mlflow",
        "zenml_orchestrator": f"{name}-orchestrator",
        "zenml_s3_secret": f"{name}-s3",
        "zenml_mlflow_secret": f"{name}-mlflow",
    }


def users_argument_spec(role_default: str | None = None, **user_options: dict) -> dict[str, dict]:
    """The ``users`` and ``update_password`` options: each user's name, role and password, plus ``user_options``."""
    role: dict[str, Any] = {"type": "str", "choices": list(ROLES)}
    if role_default is not None:
        role["default"] = role_default
    return {
        "users": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "name": {"type": "str", "required": True},
                "role": role,
                "password": {"type": "str", "no_log": True},
                **user_options,
            },
        },
        "update_password": {"type": "str", "choices": list(UPDATE_PASSWORD), "default": "on_create", "no_log": False},
    }


def user_problems(users: Sequence[dict], login_account: str | None = None, role_required: bool = False) -> list[str]:
    """What makes a ``users`` list unusable, before anything is read: names, repeats, roles, the module's own login."""
    names = [user["name"] for user in users]
    problems = []
    invalid = {name: username_errors(name) for name in names}
    invalid = {name: errors for name, errors in invalid.items() if errors}
    if invalid:
        reasons = "; ".join(error for errors in invalid.values() for error in errors)
        problems.append(f"invalid user names {list(invalid)}: {reasons}")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"users {duplicates} are listed more than once")
    if login_account is not None and login_account in names:
        problems.append(f"{login_account} is the admin account this module logs in with, not a tenant")
    if role_required:
        roleless = [user["name"] for user in users if not user.get("role")]
        if roleless:
            problems.append(f"users {roleless} have no role; state=present needs one of {list(ROLES)}")
    return problems


@dataclass
class Outcome:
    """One user's part of a run: the entry of the ``users`` result (with its own ``changed``) and the diff."""

    result: dict[str, Any]
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.result["name"]


class TenantsResult(TypedDict):
    """What a tenant module exits with: ``diff`` holds every listed user under ``users.NAME``, ``{}`` for nothing."""

    changed: bool
    diff: dict[str, dict[str, dict[str, Any]]]
    users: list[dict[str, Any]]


def tenants_result(outcomes: Sequence[Outcome], changed: bool = False) -> TenantsResult:
    """The module's result from each user's outcome, in the order given; ``changed`` adds a change of no user."""
    return {
        "changed": changed or any(outcome.result["changed"] for outcome in outcomes),
        "diff": {
            "before": {"users": {outcome.name: outcome.before for outcome in outcomes}},
            "after": {"users": {outcome.name: outcome.after for outcome in outcomes}},
        },
        "users": [outcome.result for outcome in outcomes],
    }


class PartialFailure(Exception):
    """Some users failed after the others went through; ``result`` tells what was done for those."""

    def __init__(self, result: TenantsResult, failures: Sequence[tuple[str, Exception]]) -> None:
        super().__init__(f"{len(failures)} user(s) failed, the first {failures[0][0]}: {failures[0][1]}")
        self.result = result
        self.failures = list(failures)


_Client = TypeVar("_Client", contravariant=True)


class EnsureTenants(Protocol[_Client]):
    """The contract of each ``_<service>_tenant.ensure_tenants``, called by the module with its client.

    In this order: refuse a bad ``users`` list (``user_problems``) and bad options before anything is read;
    read what the service holds for every listed user; plan the writes that bring each user to
    ``params["state"]``; run them unless ``check_mode``; return ``tenants_result`` of one ``Outcome`` per
    user. A user whose writes fail does not undo the others': the error says which user it was, or, when
    users are handled independently, ``PartialFailure`` carries the result of the others.
    """

    def __call__(self, client: _Client, params: dict[str, Any], check_mode: bool) -> TenantsResult: ...
