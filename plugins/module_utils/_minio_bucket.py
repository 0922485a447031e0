# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the minio_bucket module: buckets, hard quota, expiry rule, versioning and bucket policy."""

import json
from typing import Any

from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioClients,
    MinioModuleError,
    Plan,
    S3Error,
    admin_json,
    canonical_policy,
    parse_size,
    result,
)

try:
    from minio.commonconfig import ENABLED, Filter
    from minio.deleteobjects import DeleteObject
    from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule
    from minio.versioningconfig import SUSPENDED, VersioningConfig
except ImportError:
    pass  # minio.connect() reports the missing library before any of these is used

# The one lifecycle rule this module owns; rules with other IDs are left as they are.
EXPIRY_RULE_ID = "onprem-mlops-expiry"
_NO_USAGE = {"objects": 0, "size": 0, "size_all_versions": 0}


def expiry_rule(days: int) -> "Rule":
    """The whole-bucket rule that expires current objects ``days`` after their creation."""
    return Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id=EXPIRY_RULE_ID, expiration=Expiration(days=days))


def merge_lifecycle_rules(rules: list, days: int) -> list:
    """The rules with ours set to ``days`` (in its place, else appended), or dropped when ``days`` is 0.

    Other rules keep their content and order, so an unchanged configuration compares equal.
    """
    ours = [expiry_rule(days)] if days > 0 else []
    merged: list = []
    for rule in rules:
        if rule.rule_id == EXPIRY_RULE_ID:
            merged.extend(ours)
            ours = []
        else:
            merged.append(rule)
    return merged + ours


def _lifetime(rules: list) -> int | None:
    for rule in rules:
        if rule.rule_id == EXPIRY_RULE_ID and rule.expiration is not None:
            return rule.expiration.days
    return None


def bucket_quota(clients: MinioClients, name: str, missing: tuple[str, ...] = ()) -> int | None:
    """The bucket's hard quota in bytes; None without one (or when MinIO answers one of ``missing``)."""
    config = admin_json(clients.admin.bucket_quota_get, name, missing=missing) or {}
    # "quota" is what the SDK writes; "size" is its successor in newer MinIO clients.
    size = max(int(config.get("size") or 0), int(config.get("quota") or 0))
    return size or None


def _bucket_policy(clients: MinioClients, name: str) -> dict | None:
    try:
        return canonical_policy(clients.s3.get_bucket_policy(name))
    except S3Error as exc:
        if exc.code == "NoSuchBucketPolicy":
            return None
        raise


def read_bucket(clients: MinioClients, name: str) -> tuple[dict | None, list]:
    """The bucket's state {name, quota, object_lifetime_days, versioning, policy} and its lifecycle
    rules, or (None, []) when there is no such bucket."""
    if not clients.s3.bucket_exists(name):
        return None, []
    lifecycle = clients.s3.get_bucket_lifecycle(name)
    rules = list(lifecycle.rules) if lifecycle else []
    state = {
        "name": name,
        "quota": bucket_quota(clients, name),
        "object_lifetime_days": _lifetime(rules),
        "versioning": clients.s3.get_bucket_versioning(name).status == ENABLED,
        "policy": _bucket_policy(clients, name),
    }
    return state, rules


def bucket_usage(clients: MinioClients, name: str) -> dict[str, int]:
    """Objects and bytes, counted by listing (MinIO's usage scanner can lag behind by minutes)."""
    usage = dict(_NO_USAGE)
    for entry in clients.s3.list_objects(name, recursive=True, include_version=True):
        if entry.is_delete_marker:
            continue
        usage["size_all_versions"] += entry.size or 0
        if entry.is_latest in (None, True, "true"):
            usage["objects"] += 1
            usage["size"] += entry.size or 0
    return usage


def _versions(clients: MinioClients, name: str) -> list:
    return [
        DeleteObject(entry.object_name, entry.version_id)
        for entry in clients.s3.list_objects(name, recursive=True, include_version=True)
    ]


def _empty_and_remove(clients: MinioClients, name: str, versions: list) -> None:
    errors = list(clients.s3.remove_objects(name, versions))
    if errors:
        raise MinioModuleError(f"could not delete {len(errors)} objects of {name}, first: {errors[0]}")
    clients.s3.remove_bucket(name)


def _set_lifecycle(clients: MinioClients, name: str, rules: list) -> None:
    if rules:
        clients.s3.set_bucket_lifecycle(name, LifecycleConfig(rules))
    else:
        clients.s3.delete_bucket_lifecycle(name)


def _set_policy(clients: MinioClients, name: str, policy: dict | None) -> None:
    if policy is None:
        clients.s3.delete_bucket_policy(name)
    else:
        clients.s3.set_bucket_policy(name, json.dumps(policy))


def _remove(clients: MinioClients, params: dict, before: dict | None, plan: Plan) -> None:
    if before is None:
        return
    name = params["name"]
    versions = _versions(clients, name)
    if versions and not params["force"]:
        raise MinioModuleError(
            f"bucket {name} is not empty ({len(versions)} object versions); set force=true to delete them"
        )
    plan.add(_empty_and_remove, clients, name, versions)


def _desired(params: dict, current: dict) -> dict:
    after: dict[str, Any] = dict(current)
    if params["quota"] is not None:
        after["quota"] = parse_size(params["quota"]) or None
    if params["object_lifetime_days"] is not None:
        if params["object_lifetime_days"] < 0:
            raise MinioModuleError("object_lifetime_days must be 0 (no expiry) or more")
        after["object_lifetime_days"] = params["object_lifetime_days"] or None
    if params["versioning"] is not None:
        after["versioning"] = params["versioning"]
    if params["policy"] is not None:
        after["policy"] = canonical_policy(params["policy"])
    return after


def ensure_bucket(clients: MinioClients, params: dict, check_mode: bool) -> dict:
    name = params["name"]
    before, rules = read_bucket(clients, name)
    plan = Plan()
    if params["state"] == "absent":
        _remove(clients, params, before, plan)
        return result(plan, check_mode, "bucket", before, None)

    current = before or {
        "name": name,
        "quota": None,
        "object_lifetime_days": None,
        "versioning": False,
        "policy": None,
    }
    after = _desired(params, current)
    if before is None:
        plan.add(clients.s3.make_bucket, name, params["region"])
    if after["quota"] != current["quota"]:
        if after["quota"]:
            plan.add(clients.admin.bucket_quota_set, name, after["quota"])
        else:
            plan.add(clients.admin.bucket_quota_clear, name)
    merged = merge_lifecycle_rules(rules, after["object_lifetime_days"] or 0)
    if params["object_lifetime_days"] is not None and merged != rules:
        plan.add(_set_lifecycle, clients, name, merged)
    if after["versioning"] != current["versioning"]:
        status = ENABLED if after["versioning"] else SUSPENDED
        plan.add(clients.s3.set_bucket_versioning, name, VersioningConfig(status))
    if after["policy"] != current["policy"]:
        plan.add(_set_policy, clients, name, after["policy"])

    outcome = result(plan, check_mode, "bucket", before, after)
    if params["usage"]:
        # A bucket that check mode only pretends to create holds nothing.
        usage = bucket_usage(clients, name) if before is not None or not check_mode else dict(_NO_USAGE)
        outcome["bucket"] = {**after, "usage": usage}
    return outcome
