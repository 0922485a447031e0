# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the minio_user module: built-in MinIO users, their secret, status, groups and policies."""

from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    SECRET_CHANGED_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    MinioClients,
    MinioModuleError,
    Plan,
    admin_json,
    csv_set,
    result,
)


def user_state(clients: MinioClients, name: str) -> dict | None:
    """The user as {name, status, policies, groups, service_accounts}, or None when there is none."""
    info = admin_json(clients.admin.user_info, name, missing=("XMinioAdminNoSuchUser",))
    if info is None:
        return None
    accounts = admin_json(clients.admin.list_service_account, name) or {}
    return {
        "name": name,
        "status": info.get("status", "enabled"),
        "policies": csv_set(info.get("policyName")),
        "groups": sorted(info.get("memberOf") or []),
        "service_accounts": sorted(account["accessKey"] for account in accounts.get("accounts") or []),
    }


def _secret_differs(clients: MinioClients, params: dict, before: dict) -> bool:
    if params["password"] is None or params["update_password"] != "always":
        return False
    # A disabled user is refused before MinIO looks at the signature: its secret cannot be compared.
    if before["status"] != "enabled":
        return True
    return not clients.login_works(params["name"], params["password"])


def _check_groups_exist(clients: MinioClients, groups: list[str]) -> None:
    """Adding a user to a missing group would silently create it: refuse that instead."""
    if not groups:
        return
    missing = sorted(set(groups) - set(admin_json(clients.admin.group_list) or []))
    if missing:
        raise MinioModuleError(f"groups {missing} do not exist; create them first with onprem.mlops.minio_group")


def ensure_user(clients: MinioClients, params: dict, check_mode: bool) -> dict:
    name = params["name"]
    before = user_state(clients, name)
    plan = Plan()
    if params["state"] == "absent":
        # MinIO removes the user's service accounts and group memberships along with it.
        if before is not None:
            plan.add(clients.admin.user_remove, name)
        return result(plan, check_mode, "user", before, None)

    if before is None:
        if not params["password"]:
            raise MinioModuleError(f"password is required to create the user {name}")
        current = {"name": name, "status": "enabled", "policies": [], "groups": [], "service_accounts": []}
        new_secret = True
    else:
        current = before
        new_secret = _secret_differs(clients, params, before)

    status = params["status"] or current["status"]
    policies = current["policies"] if params["policies"] is None else sorted(set(params["policies"]))
    groups = current["groups"] if params["groups"] is None else sorted(set(params["groups"]))
    after = {**current, "status": status, "policies": policies, "groups": groups}

    if new_secret:
        # add-user writes the whole identity: it sets the secret and re-enables a disabled user.
        plan.add(clients.admin.user_add, name, params["password"])
    status_now = "enabled" if new_secret else current["status"]
    if status != status_now:
        plan.add(clients.admin.user_enable if status == "enabled" else clients.admin.user_disable, name)

    attach = sorted(set(policies) - set(current["policies"]))
    detach = sorted(set(current["policies"]) - set(policies))
    if attach:
        plan.add(clients.admin.attach_policy, attach, user=name)
    if detach:
        plan.add(clients.admin.detach_policy, detach, user=name)

    join = sorted(set(groups) - set(current["groups"]))
    _check_groups_exist(clients, join)
    for group in join:
        plan.add(clients.admin.group_add, group, [name])
    for group in sorted(set(current["groups"]) - set(groups)):
        plan.add(clients.admin.group_remove, group, [name])

    diff_before, diff_after = before, after
    if before is not None and new_secret:
        diff_before = {**before, "password": SECRET_PLACEHOLDER}
        diff_after = {**after, "password": SECRET_CHANGED_PLACEHOLDER}
    outcome = result(plan, check_mode, "user", diff_before, diff_after)
    outcome["user"] = after
    outcome["password_changed"] = before is not None and new_secret
    return outcome
