# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the minio_group module: built-in IAM groups, their members and attached policies."""

from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioClients,
    Plan,
    admin_json,
    csv_set,
    result,
)


def group_state(clients: MinioClients, name: str) -> dict | None:
    """The group as {name, status, members, policies}, or None when MinIO has no such group."""
    info = admin_json(clients.admin.group_info, name, missing=("XMinioAdminNoSuchGroup",))
    if info is None:
        return None
    return {
        "name": name,
        "status": info.get("status", "enabled"),
        "members": sorted(info.get("members") or []),
        "policies": csv_set(info.get("policy")),
    }


def _sync_policies(plan: Plan, clients: MinioClients, name: str, current: list[str], wanted: list[str]) -> None:
    """Attach and detach so that exactly ``wanted`` is attached to the group ``name``."""
    attach = sorted(set(wanted) - set(current))
    detach = sorted(set(current) - set(wanted))
    if attach:
        plan.add(clients.admin.attach_policy, attach, group=name)
    if detach:
        plan.add(clients.admin.detach_policy, detach, group=name)


def ensure_group(clients: MinioClients, params: dict, check_mode: bool) -> dict:
    name = params["name"]
    before = group_state(clients, name)
    plan = Plan()
    if params["state"] == "absent":
        after = None
        if before is not None:
            # MinIO refuses to delete a group that still has members; its policy mapping goes with it.
            if before["members"]:
                plan.add(clients.admin.group_remove, name, before["members"])
            plan.add(clients.admin.group_remove, name)
        return result(plan, check_mode, "group", before, after)

    current = before or {"name": name, "status": "enabled", "members": [], "policies": []}
    members = current["members"] if params["members"] is None else sorted(set(params["members"]))
    policies = current["policies"] if params["policies"] is None else sorted(set(params["policies"]))
    after = {**current, "members": members, "policies": policies}

    if before is None:
        # The admin API creates a group from an empty member list, so a group and its policies can exist
        # before any user does; policies can only be attached once the group exists.
        plan.add(clients.admin.group_add, name, members)
    else:
        add = sorted(set(members) - set(current["members"]))
        remove = sorted(set(current["members"]) - set(members))
        if add:
            plan.add(clients.admin.group_add, name, add)
        if remove:
            plan.add(clients.admin.group_remove, name, remove)
    _sync_policies(plan, clients, name, current["policies"], policies)
    return result(plan, check_mode, "group", before, after)
