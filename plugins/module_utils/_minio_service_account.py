# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the minio_service_account module: access keys that act for a built-in user."""

from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    SECRET_CHANGED_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    MinioClients,
    MinioModuleError,
    Plan,
    admin_json,
    canonical_policy,
    result,
)


def service_account_state(clients: MinioClients, access_key: str) -> dict | None:
    """The service account as {access_key, user, status, name, description, policy}, or None."""
    info = admin_json(clients.admin.get_service_account, access_key, missing=("XMinioInvalidIAMCredentials",))
    if info is None:
        return None
    return {
        "access_key": access_key,
        "user": info.get("parentUser", ""),
        "status": "enabled" if info.get("accountStatus") in ("on", "enabled") else "disabled",
        "name": info.get("name", ""),
        "description": info.get("description", ""),
        # With impliedPolicy the account has no policy of its own and acts with its user's policies.
        "policy": None if info.get("impliedPolicy") else canonical_policy(info.get("policy")),
    }


def _desired_policy(params: dict, current: dict) -> dict | None:
    if params["policy"] is None:
        return current["policy"]
    policy = canonical_policy(params["policy"])
    if policy is not None and not policy.get("Statement"):
        raise MinioModuleError("policy must be an IAM policy document with at least one Statement, or {}")
    return policy


def _create(clients: MinioClients, params: dict, policy: dict | None) -> None:
    request = {
        "accessKey": params["service_access_key"],
        "secretKey": params["service_secret_key"],
        "status": "enabled",
    }
    for option in ("name", "description"):
        if params[option]:
            request[option] = params[option]
    if policy is not None:
        request["policy"] = policy
    clients.add_service_account(params["user"], request)


def _update(clients: MinioClients, current: dict, after: dict, secret: str | None) -> None:
    """Send one update that also restates the inline policy.

    MinIO drops an account's inline policy on every update that does not carry one (the account then
    inherits all its user's rights), so the policy is always sent. An update must carry at least one
    field; to drop the policy alone, the unchanged status is that field.
    """
    changes: dict = {"access_key": current["access_key"]}
    if secret is not None:
        changes["secret_key"] = secret
    for option in ("name", "description"):
        if after[option] != current[option]:
            changes[option] = after[option]
    if after["policy"] is not None:
        changes["policy"] = after["policy"]
    if len(changes) == 1:
        changes["status"] = "on" if current["status"] == "enabled" else "off"
    clients.admin.update_service_account(**changes)


def ensure_service_account(clients: MinioClients, params: dict, check_mode: bool) -> dict:
    access_key = params["service_access_key"]
    before = service_account_state(clients, access_key)
    plan = Plan()
    if params["state"] == "absent":
        if before is not None:
            plan.add(clients.admin.delete_service_account, access_key)
        return result(plan, check_mode, "service_account", before, None)

    if before is not None and before["user"] != params["user"]:
        raise MinioModuleError(
            f"service account {access_key} belongs to user {before['user']}, not {params['user']}; "
            "MinIO cannot move it: remove it first (state=absent)"
        )
    if before is None:
        if not params["service_secret_key"]:
            raise MinioModuleError(f"service_secret_key is required to create the service account {access_key}")
        current = {
            "access_key": access_key,
            "user": params["user"],
            "status": "enabled",
            "name": "",
            "description": "",
            "policy": None,
        }
    else:
        current = before

    # MinIO ignores an empty name or description in an update, so empty means "leave as it is".
    after = {
        **current,
        "name": params["name"] or current["name"],
        "description": params["description"] or current["description"],
        "policy": _desired_policy(params, current),
    }
    new_secret = before is None or (
        params["service_secret_key"] is not None
        and params["update_password"] == "always"
        and not clients.login_works(access_key, params["service_secret_key"])
    )

    if before is None:
        plan.add(_create, clients, params, after["policy"])
    elif new_secret or after != current:
        plan.add(_update, clients, current, after, params["service_secret_key"] if new_secret else None)

    diff_before, diff_after = before, after
    if before is not None and new_secret:
        diff_before = {**before, "service_secret_key": SECRET_PLACEHOLDER}
        diff_after = {**after, "service_secret_key": SECRET_CHANGED_PLACEHOLDER}
    outcome = result(plan, check_mode, "service_account", diff_before, diff_after)
    outcome["service_account"] = after
    outcome["password_changed"] = before is not None and new_secret
    return outcome
