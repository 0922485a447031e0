# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the minio_tenant module: per person a MinIO user in the group of their role and a private
bucket with quota and expiry, for a whole class in one run.

The request is checked and every user read before the first write, so an invalid name, a missing group or
a new user without password changes nothing. The writes of different users then run a few at a time, and
group memberships change with one call per group.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from ansible_collections.onprem.mlops.plugins.module_utils._minio_bucket import ensure_bucket
from ansible_collections.onprem.mlops.plugins.module_utils._minio_group import group_state
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import (
    ROLES,
    SECRET_CHANGED_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    Outcome,
    TenantsResult,
    tenants_result,
    user_problems,
)
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioClients,
    MinioModuleError,
    Plan,
    admin_json,
    csv_set,
    parse_size,
)

try:
    from minio.commonconfig import CopySource
    from minio.helpers import check_bucket_name
except ImportError:
    pass  # minio.connect() reports the missing library before any of these is used

# MinIO's limits for a secret key.
SECRET_LENGTH = (8, 40)
_ARCHIVE_SUFFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The SDK's HTTP pool keeps four connections per host: more workers would only wait for one.
_WORKERS = 4

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass
class Tenant:
    """One listed person: what was asked, what MinIO holds, and what the run does about it."""

    name: str
    role: str | None = None
    password: str | None = None
    user: dict | None = None
    steps: Plan = field(default_factory=Plan)
    groups_after: list[str] = field(default_factory=list)
    password_changed: bool = False
    bucket: dict = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)


def _each(call: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
    """``call`` on every item, a few at a time since each call mostly waits on MinIO; results in order."""
    items = list(items)
    if len(items) < 2:
        return [call(item) for item in items]
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        return list(pool.map(call, items))


@contextmanager
def _working_on(name: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        exc.add_note(f"while changing the MinIO user or bucket {name}; a re-run completes what is missing")
        raise


def _problems(params: dict) -> list[str]:
    names = [user["name"] for user in params["users"]]
    problems = user_problems(params["users"], params["access_key"], role_required=params["state"] == "present")
    if params["state"] == "present":
        problems += _present_problems(params)
    else:
        problems += _absent_problems(params, names)
    return problems


def _present_problems(params: dict) -> list[str]:
    problems = []
    low, high = SECRET_LENGTH
    bad_secrets = [
        user["name"] for user in params["users"] if user.get("password") and not low <= len(user["password"]) <= high
    ]
    if bad_secrets:
        problems.append(f"the passwords of users {bad_secrets} must be {low} to {high} characters, as MinIO requires")
    if params["developer_group"] == params["administrator_group"]:
        problems.append("developer_group and administrator_group must be two different groups")
    try:
        if params["quota"] is not None:
            parse_size(params["quota"])
    except MinioModuleError as exc:
        problems.append(f"quota: {exc}")
    if (params["object_lifetime_days"] or 0) < 0:
        problems.append("object_lifetime_days must be 0 (no expiry) or more")
    return problems


def _absent_problems(params: dict, names: list[str]) -> list[str]:
    archive, suffix = params["archive_bucket"], params["archive_prefix_suffix"]
    problems = []
    if archive is not None:
        try:
            check_bucket_name(archive, strict=True)
        except ValueError as exc:
            problems.append(f"archive_bucket: {exc}")
        if archive in names:
            problems.append(f"archive_bucket {archive} is the bucket of a user being removed")
    if suffix is not None and not _ARCHIVE_SUFFIX.match(suffix):
        problems.append(f"archive_prefix_suffix {suffix!r} must match {_ARCHIVE_SUFFIX.pattern}")
    return problems


def validate(params: dict) -> list[Tenant]:
    """Refuse a bad request before anything is read or written; return the tenants in the order given."""
    problems = _problems(params)
    if problems:
        raise MinioModuleError("; ".join(problems) + "; nothing was changed")
    return [Tenant(user["name"], user.get("role"), user.get("password")) for user in params["users"]]


def _bucket_params(params: dict, name: str, state: str) -> dict:
    """The options of minio_bucket that give a tenant's bucket its quota and expiry, and nothing else."""
    return {
        "name": name,
        "state": state,
        "force": True,
        "quota": params["quota"],
        "object_lifetime_days": params["object_lifetime_days"],
        "versioning": None,
        "policy": None,
        "usage": False,
        "region": params["region"],
    }


def _read_users(clients: MinioClients, tenants: list[Tenant]) -> None:
    """Each tenant's user as {status, groups, policies}, or None, from one listing of all users.

    One listing costs one Argon2id decryption of its answer; per-user reads would cost one for the service
    accounts of each user (minio_user's user_state), seconds for a class.
    """
    listing = admin_json(clients.admin.user_list) or {}
    for tenant in tenants:
        info = listing.get(tenant.name)
        if info is not None:
            tenant.user = {
                "status": info.get("status", "enabled"),
                "groups": sorted(info.get("memberOf") or []),
                "policies": csv_set(info.get("policyName")),
            }


def _role_groups(clients: MinioClients, params: dict, tenants: list[Tenant]) -> dict[str, str]:
    """Role -> group, after checking that the groups of the roles in use exist (the minio role creates them)."""
    groups = {role: params[f"{role}_group"] for role in ROLES}
    missing = sorted(
        groups[role] for role in {tenant.role for tenant in tenants} if group_state(clients, groups[role]) is None
    )
    if missing:
        raise MinioModuleError(
            f"groups {missing} do not exist; create them with their policies first (the onprem.mlops.minio "
            "role, or onprem.mlops.minio_group); nothing was changed"
        )
    return groups


def _stale_secrets(clients: MinioClients, params: dict, tenants: list[Tenant]) -> set[str]:
    """Existing users whose secret is not the given one, when update_password=always asks.

    MinIO never returns a secret, so each one is tried; a disabled user is refused before its signature is
    looked at, so its secret counts as stale (rewriting it also enables the user, which is wanted here).
    """
    if params["update_password"] != "always":
        return set()
    candidates = [tenant for tenant in tenants if tenant.user is not None and tenant.password]
    disabled = {tenant.name for tenant in candidates if tenant.user["status"] != "enabled"}
    enabled = [tenant for tenant in candidates if tenant.name not in disabled]
    works = _each(lambda tenant: clients.login_works(tenant.name, tenant.password), enabled)
    return disabled | {tenant.name for tenant, ok in zip(enabled, works, strict=True) if not ok}


def _plan_user(clients: MinioClients, tenant: Tenant, stale: bool, groups: dict, moves: dict) -> None:
    """Plan the user's secret and status into ``tenant.steps`` and its group changes into ``moves``."""
    target = groups[tenant.role]
    others = {group for role, group in groups.items() if role != tenant.role}
    current = tenant.user or {"status": "enabled", "groups": []}
    if tenant.user is None or stale:
        tenant.steps.add(clients.set_user_secret, tenant.name, tenant.password)
        tenant.password_changed = tenant.user is not None
    elif current["status"] != "enabled":
        tenant.steps.add(clients.admin.user_enable, tenant.name)
    for group in sorted(others & set(current["groups"])):
        moves["remove"].setdefault(group, []).append(tenant.name)
    if target not in current["groups"]:
        moves["add"].setdefault(target, []).append(tenant.name)
    tenant.groups_after = sorted((set(current["groups"]) - others) | {target})


def _membership_plan(clients: MinioClients, moves: dict) -> Plan:
    """One call per group: out of the old group before into the new one, so a move never holds both roles."""
    plan = Plan()
    for group, names in sorted(moves["remove"].items()):
        plan.add(clients.admin.group_remove, group, sorted(names))
    for group, names in sorted(moves["add"].items()):
        plan.add(clients.admin.group_add, group, sorted(names))
    return plan


def _status(existed: bool, changed: bool) -> str:
    if not existed:
        return "created"
    return "updated" if changed else "unchanged"


def _present(clients: MinioClients, params: dict, tenants: list[Tenant], check_mode: bool) -> list[Outcome]:
    groups = _role_groups(clients, params, tenants)
    _read_users(clients, tenants)
    secretless = [tenant.name for tenant in tenants if tenant.user is None and not tenant.password]
    if secretless:
        raise MinioModuleError(f"users {secretless} do not exist yet and need a password; nothing was changed")
    stale = _stale_secrets(clients, params, tenants)
    moves: dict = {"add": {}, "remove": {}}
    for tenant in tenants:
        _plan_user(clients, tenant, tenant.name in stale, groups, moves)
    memberships = _membership_plan(clients, moves)
    moved = {name for names in (*moves["add"].values(), *moves["remove"].values()) for name in names}

    def apply(tenant: Tenant) -> None:
        with _working_on(tenant.name):
            tenant.steps.run(check_mode)
            tenant.bucket = ensure_bucket(clients, _bucket_params(params, tenant.name, "present"), check_mode)

    # Users exist before they join a group, and a bucket is complete before its owner's group grants it.
    _each(apply, tenants)
    memberships.run(check_mode)
    return [_present_result(tenant, groups[tenant.role], tenant.name in moved) for tenant in tenants]


def _present_result(tenant: Tenant, group: str, moved: bool) -> Outcome:
    user_changed = bool(tenant.steps) or moved
    before = dict(tenant.user or {})
    after = {"policies": [], **before, "status": "enabled", "groups": tenant.groups_after}
    if tenant.password_changed:
        before["password"], after["password"] = SECRET_PLACEHOLDER, SECRET_CHANGED_PLACEHOLDER
    bucket_diff = tenant.bucket["diff"]
    result = {
        "name": tenant.name,
        "role": tenant.role,
        "group": group,
        "user": _status(tenant.user is not None, user_changed),
        "bucket": _status(bool(bucket_diff["before"]), tenant.bucket["changed"]),
        "password_changed": tenant.password_changed,
        "changed": user_changed or tenant.bucket["changed"],
    }
    return Outcome(result, _view(before, bucket_diff["before"]), _view(after, bucket_diff["after"]))


def _view(user: dict, bucket: dict) -> dict:
    """One side of a tenant's diff: what exists of its user and bucket."""
    return {key: value for key, value in (("user", user), ("bucket", bucket)) if value}


def _archive_prefix(params: dict, name: str, stamp: str) -> str:
    return f"{name}-{params['archive_prefix_suffix'] or stamp}/"


def _read_objects(clients: MinioClients, tenants: list[Tenant]) -> None:
    """The keys of the current objects of each tenant's bucket, which the archive receives."""

    def keys(tenant: Tenant) -> list[str]:
        if not clients.s3.bucket_exists(tenant.name):
            return []
        return [entry.object_name for entry in clients.s3.list_objects(tenant.name, recursive=True)]

    for tenant, found in zip(tenants, _each(keys, tenants), strict=True):
        tenant.objects = found


def _archive(clients: MinioClients, params: dict, tenants: list[Tenant], stamp: str) -> None:
    """Copy every listed object server-side into the archive bucket, then check each one arrived."""
    archive = params["archive_bucket"]
    copies = [(tenant, key) for tenant in tenants for key in tenant.objects]
    if not copies:
        return
    if not clients.s3.bucket_exists(archive):
        clients.s3.make_bucket(archive, params["region"])

    def copy(item: tuple[Tenant, str]) -> None:
        tenant, key = item
        with _working_on(tenant.name):
            clients.s3.copy_object(
                archive, _archive_prefix(params, tenant.name, stamp) + key, CopySource(tenant.name, key)
            )

    def missing(tenant: Tenant) -> list[str]:
        prefix = _archive_prefix(params, tenant.name, stamp)
        copied = {entry.object_name for entry in clients.s3.list_objects(archive, prefix=prefix, recursive=True)}
        return sorted({prefix + key for key in tenant.objects} - copied)

    _each(copy, copies)
    holding = [tenant for tenant in tenants if tenant.objects]
    lost = {tenant.name: keys for tenant, keys in zip(holding, _each(missing, holding), strict=True) if keys}
    if lost:
        raise MinioModuleError(
            f"the archive {archive} lacks copies of {sum(map(len, lost.values()))} objects of {sorted(lost)} "
            f"(first: {next(iter(lost.values()))[0]}); no bucket was removed"
        )


def _absent(clients: MinioClients, params: dict, tenants: list[Tenant], check_mode: bool) -> list[Outcome]:
    _read_users(clients, tenants)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")

    for tenant in tenants:
        if tenant.user is not None:
            # MinIO removes the user's group memberships and service accounts with it.
            tenant.steps.add(clients.admin.user_remove, tenant.name)

    def remove_user(tenant: Tenant) -> None:
        with _working_on(tenant.name):
            tenant.steps.run(check_mode)

    def remove_bucket(tenant: Tenant) -> None:
        with _working_on(tenant.name):
            tenant.bucket = ensure_bucket(clients, _bucket_params(params, tenant.name, "absent"), check_mode)

    # The user goes first, so that it writes nothing into the bucket after its objects are listed.
    _each(remove_user, tenants)
    if params["archive_bucket"] is not None:
        _read_objects(clients, tenants)
        if not check_mode:
            _archive(clients, params, tenants, stamp)
    _each(remove_bucket, tenants)
    return [_absent_result(params, tenant, stamp) for tenant in tenants]


def _absent_result(params: dict, tenant: Tenant, stamp: str) -> Outcome:
    bucket_before = tenant.bucket["diff"]["before"]
    result = {
        "name": tenant.name,
        "role": tenant.role,
        "group": None,
        "user": "removed" if tenant.user is not None else "absent",
        "bucket": "removed" if bucket_before else "absent",
        "changed": bool(tenant.steps) or tenant.bucket["changed"],
    }
    if params["archive_bucket"] is not None:
        result["archived_objects"] = len(tenant.objects)
        result["archive_prefix"] = _archive_prefix(params, tenant.name, stamp) if tenant.objects else None
    return Outcome(result, _view(tenant.user or {}, bucket_before))


def ensure_tenants(clients: MinioClients, params: dict, check_mode: bool) -> TenantsResult:
    """The tenant modules' contract (``_tenant.EnsureTenants``) for MinIO users and buckets."""
    tenants = validate(params)
    if params["state"] == "present":
        return tenants_result(_present(clients, params, tenants, check_mode))
    return tenants_result(_absent(clients, params, tenants, check_mode))
