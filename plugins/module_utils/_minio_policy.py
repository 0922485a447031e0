# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the minio_policy module: canned IAM policies."""

from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioAdminException,
    MinioClients,
    MinioModuleError,
    Plan,
    admin_error_code,
    admin_json,
    canonical_policy,
    result,
)


def policy_state(clients: MinioClients, name: str) -> dict | None:
    """The canned policy ``name`` as {name, policy}, or None when MinIO has no such policy."""
    document = admin_json(clients.admin.policy_info, name, missing=("XMinioAdminNoSuchPolicy",))
    if document is None:
        return None
    return {"name": name, "policy": canonical_policy(document)}


def _remove_policy(clients: MinioClients, name: str) -> None:
    try:
        clients.admin.policy_remove(name)
    except MinioAdminException as exc:
        if admin_error_code(exc) != "XMinioIAMPolicyInUse":
            raise
        entities = admin_json(clients.admin.get_policy_entities, [], [], [name])
        users: set[str] = set()
        groups: set[str] = set()
        for mapping in entities.get("policyMappings") or []:
            users.update(mapping.get("users") or [])
            groups.update(mapping.get("groups") or [])
        raise MinioModuleError(
            f"policy {name} is still attached to users {sorted(users)} and groups {sorted(groups)}; "
            "detach it (minio_user/minio_group policies) before removing it"
        ) from exc


def ensure_policy(clients: MinioClients, params: dict, check_mode: bool) -> dict:
    name = params["name"]
    before = policy_state(clients, name)
    plan = Plan()
    if params["state"] == "absent":
        after = None
        if before is not None:
            plan.add(_remove_policy, clients, name)
    else:
        desired = canonical_policy(params["policy"])
        if not desired or not desired.get("Statement"):
            raise MinioModuleError("policy must be an IAM policy document with at least one Statement")
        after = {"name": name, "policy": desired}
        if before != after:
            # The canonical form is what MinIO accepts: it refuses a single statement given as an object.
            plan.add(clients.admin.policy_add, name, policy=desired)
    return result(plan, check_mode, "policy", before, after)
