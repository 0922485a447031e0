"""Filters for per-user provisioning: username rules, resource names, S3 policies and rosters."""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.mlops.plugins.module_utils import _tenant
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import ROLES, user_resources

DOCUMENTATION = r"""
name: users
short_description: Username rules, per-user resource names, S3 policies and rosters
version_added: 0.1.0
description:
  - C(normalize_username) trims surrounding white space (and folds Unicode compatibility forms).
  - C(username_errors) lists why a name cannot be a user (empty when it can). One rule serves every
    service, MySQL account and schema names, MinIO users, S3 bucket names and ZenML names alike - 3 to 20 characters,
    lower-case ASCII letters and digits, starting with a letter - and reserved names are refused.
  - C(user_resources) names everything a user owns in each service.
  - C(s3_policy) renders the MinIO policy documents (developer, administrator, read-write on one bucket). The
    developer policy grants C(s3:ListAllMyBuckets) (every bucket's name) only with C(list_all_buckets=true).
  - C(parse_roster) reads a roster (CSV with a header, or YAML) into C(users) and C(errors).
  - C(roster_plan) compares a roster with the registered users.
  - C(users_table) formats the C(list) action's table.
  - C(secrets_of) picks one user's secrets out of the batch's.
  - C(credential_files) lists a batch of users' credential files (C(.env), C(.md)) for M(onprem.mlops.template_files).
  - C(tenant_users) builds the C(users) option of the C(*_tenant) modules from users and their secrets.
options:
  _input:
    description: The username, policy kind, roster text, or registered users, depending on the filter.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a bad name before changing anything
  ansible.builtin.assert:
    that: username | onprem.mlops.username_errors | length == 0
    fail_msg: "{{ username | onprem.mlops.username_errors | join('; ') }}"

- name: Names of alice's resources
  ansible.builtin.debug:
    msg: "{{ 'alice' | onprem.mlops.user_resources }}"

- name: Developer policy
  ansible.builtin.debug:
    msg: "{{ 'developer' | onprem.mlops.s3_policy(shared_prefix='shared') }}"
"""

RETURN = r"""
_value:
  description: See each filter's description.
  type: raw
"""


def normalize_username(name: object) -> str:
    """Trim white space around the name and fold Unicode compatibility forms; nothing else."""
    if name is None:
        return ""
    return unicodedata.normalize("NFKC", str(name)).strip()


def username_errors(name: object) -> list[str]:
    """Why ``name`` cannot be a username (the tenant modules' rule); empty when it can."""
    if name is None or str(name) == "":
        return ["a username is required (-e username=NAME)"]
    return _tenant.username_errors(name)


def _statement(sid: str, actions: list[str], resources: list[str] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions}
    if resources is not None:
        statement["Resource"] = resources
    return statement


def s3_policy(
    kind: str, shared_prefix: str = "shared", bucket: str | None = None, list_all_buckets: bool = False
) -> dict[str, Any]:
    """MinIO policy document of ``kind``: developer, administrator or bucket_readwrite (needs ``bucket``).

    The developer policy uses ``${aws:username}``, which MinIO expands per request, so one policy attached
    to the developers group gives each member their own bucket and nobody else's. ``list_all_buckets`` adds
    ``s3:ListAllMyBuckets`` (every bucket's name, the class list); boto3, s3fs, MLflow and the AWS CLI work
    on a named bucket without it.
    """
    list_actions = ["s3:ListBucket", "s3:GetBucketLocation"]
    object_rw = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    if kind == "developer":
        statements = [
            *([_statement("ListBuckets", ["s3:ListAllMyBuckets"], ["arn:aws:s3:::*"])] if list_all_buckets else []),
            _statement("OwnBucket", [*list_actions, "s3:ListBucketMultipartUploads"], ["arn:aws:s3:::${aws:username}"]),
            _statement(
                "OwnObjects",
                [*object_rw, "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                ["arn:aws:s3:::${aws:username}/*"],
            ),
            _statement(
                "SharedReadOnly",
                [*list_actions, "s3:GetObject"],
                [f"arn:aws:s3:::{shared_prefix}*", f"arn:aws:s3:::{shared_prefix}*/*"],
            ),
        ]
    elif kind == "administrator":
        statements = [
            _statement("Administration", ["admin:*"]),
            _statement("KeyManagement", ["kms:*"]),
            _statement("AllBucketsAndObjects", ["s3:*"], ["arn:aws:s3:::*"]),
        ]
    elif kind == "bucket_readwrite":
        if not bucket:
            raise AnsibleFilterError("s3_policy: bucket_readwrite needs bucket=NAME")
        statements = [
            _statement("Bucket", list_actions, [f"arn:aws:s3:::{bucket}"]),
            _statement("Objects", object_rw, [f"arn:aws:s3:::{bucket}/*"]),
        ]
    else:
        raise AnsibleFilterError(f"s3_policy: unknown kind {kind!r} (developer, administrator, bucket_readwrite)")
    return {"Version": "2012-10-17", "Statement": statements}


def _roster_rows(content: str, roster_format: str) -> list[tuple[int, dict[str, Any]]]:
    if roster_format == "csv":
        reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
        if not reader.fieldnames or "username" not in [f.strip().lower() for f in reader.fieldnames]:
            raise AnsibleFilterError("parse_roster: the CSV needs a header line with at least 'username' and 'role'")
        return [
            (reader.line_num, {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()})
            for row in reader
            if any((v or "").strip() for v in row.values())
        ]
    data = yaml.safe_load(content) or []
    if isinstance(data, dict):
        data = data.get("users", [])
    if not isinstance(data, list):
        raise AnsibleFilterError("parse_roster: a YAML roster is a list of {username, role} (or users: [...])")
    return [(index, row if isinstance(row, dict) else {"username": row}) for index, row in enumerate(data, start=1)]


def parse_roster(content: str, roster_format: str = "csv", default_role: str = "developer") -> dict[str, list]:
    """Read a roster into ``users`` (username, role) and ``errors`` (one line each, with where it is)."""
    if roster_format not in ("csv", "yaml"):
        raise AnsibleFilterError(f"parse_roster: format must be csv or yaml, not {roster_format!r}")
    users, errors, seen = [], [], {}
    where = "line" if roster_format == "csv" else "entry"
    for position, row in _roster_rows(content, roster_format):
        name = normalize_username(row.get("username"))
        role = normalize_username(row.get("role")) or default_role
        problems = username_errors(name)
        if role not in ROLES:
            problems.append(f"role '{role}' is not one of {', '.join(ROLES)}")
        if name in seen:
            problems.append(f"'{name}' is listed twice (first at {where} {seen[name]})")
        if problems:
            errors.append(f"{where} {position}: " + "; ".join(problems))
            continue
        seen[name] = position
        users.append({"username": name, "role": role})
    return {"users": users, "errors": errors}


def roster_plan(registered: list[dict[str, str]], roster: list[dict[str, str]]) -> dict[str, list]:
    """What syncing ``roster`` would do: users to add, to keep, absent from the roster, and role conflicts.

    Only developers absent from the roster are ``prunable``: a class roster never lists the teachers, so
    administrators are removed one by one with the remove action, never by a sync.
    """
    current = {user["username"]: user["role"] for user in registered}
    wanted = {user["username"]: user["role"] for user in roster}
    return {
        "add": [user for user in roster if user["username"] not in current],
        "keep": [user for user in roster if current.get(user["username"]) == user["role"]],
        "absent": [{"username": name, "role": role} for name, role in sorted(current.items()) if name not in wanted],
        "prunable": [
            {"username": name, "role": role}
            for name, role in sorted(current.items())
            if name not in wanted and role == "developer"
        ],
        "role_conflicts": [
            {"username": name, "registered": current[name], "roster": role}
            for name, role in wanted.items()
            if name in current and current[name] != role
        ],
    }


def tenant_users(
    batch: list[dict[str, str]],
    secrets: dict[str, str],
    same_as_name: list[str] | None = None,
    **secret_fields: str,
) -> list[dict[str, str]]:
    """The ``users`` option of a *_tenant module: name, role, each field from ``secrets["<name>/<secret>"]``,
    and the fields in ``same_as_name`` set to the username (the S3 access key and bucket, for instance)."""
    entries = []
    for user in batch:
        name = user["username"]
        entry = {"name": name, "role": user["role"]}
        entry.update({field: name for field in same_as_name or []})
        try:
            entry.update({field: secrets[f"{name}/{secret}"] for field, secret in secret_fields.items()})
        except KeyError as missing:
            raise AnsibleFilterError(f"tenant_users: no secret {missing} for {name}") from None
        entries.append(entry)
    return entries


def secrets_of(secrets: dict[str, str], name: str) -> dict[str, str]:
    """The secrets of one user, keyed by secret name, out of ``{"<name>/<secret>": value}``."""
    prefix = f"{name}/"
    return {key.removeprefix(prefix): value for key, value in secrets.items() if key.startswith(prefix)}


def credential_files(
    batch: list[dict[str, str]],
    directory: str,
    schema_prefix: str,
    secrets: dict[str, str],
    kinds: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The ``files`` option of ``template_files`` writing ``<directory>/<name>.<kind>`` from ``<kind>.j2`` for each
    user, with the template variables ``__user`` (resource names), ``__user_role`` and ``__user_secret``."""
    files = []
    for user in batch:
        name = user["username"]
        template_vars = {
            "__user": user_resources(name, schema_prefix),
            "__user_role": user["role"],
            "__user_secret": secrets_of(secrets, name),
        }
        for kind in kinds or ["env", "md"]:
            files.append({"src": f"{kind}.j2", "dest": f"{directory.rstrip('/')}/{name}.{kind}", "vars": template_vars})
    return files


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def users_table(
    registered: list[dict[str, str]],
    bucket_results: list[dict[str, Any]],
    schema_sizes: list[dict[str, Any]],
    schema_prefix: str = "mlflow_",
) -> list[str]:
    """Lines of a table: each registered user with role, bucket size and object count, and schema size."""
    buckets = {
        result.get("bucket", {}).get("name"): result.get("bucket", {}).get("usage")
        for result in bucket_results
        if result.get("bucket")
    }
    schemas = {row["name"]: int(row["size"]) for row in schema_sizes}
    header = f"{'USER':<20} {'ROLE':<13} {'BUCKET SIZE':>12} {'OBJECTS':>8} {'SCHEMA SIZE':>12}"
    lines = [header]
    for user in registered:
        name = user["username"]
        usage = buckets.get(name)
        bucket_size = _human_size(usage["size"]) if usage else "missing"
        objects = str(usage["objects"]) if usage else "-"
        schema = schemas.get(f"{schema_prefix}{name}")
        schema_size = _human_size(schema) if schema is not None else "missing"
        lines.append(f"{name:<20} {user['role']:<13} {bucket_size:>12} {objects:>8} {schema_size:>12}")
    lines.append(f"{len(registered)} user(s)")
    return lines


class FilterModule:
    """Per-user provisioning filters."""

    def filters(self) -> dict:
        return {
            "normalize_username": normalize_username,
            "username_errors": username_errors,
            "user_resources": user_resources,
            "s3_policy": s3_policy,
            "parse_roster": parse_roster,
            "roster_plan": roster_plan,
            "tenant_users": tenant_users,
            "secrets_of": secrets_of,
            "credential_files": credential_files,
            "users_table": users_table,
        }
