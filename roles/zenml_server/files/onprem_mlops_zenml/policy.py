"""Who may do what on a ZenML resource: administrators everything, developers their own objects only.

Pure Python, without ZenML, so the decision is unit-tested on its own. Resource types and actions are the
string values of ``zenml.zen_server.rbac.models.ResourceType`` and ``Action``.
"""

from __future__ import annotations

from enum import Enum

# Listed in full for everyone: projects (the default one) have no owner column, so a filtered list would be
# empty. Other types list the user's own objects plus the server's (the built-in flavors, the default stack).
SHARED_READ = frozenset({"project"})
# Types a developer may create: everything user-owned. Projects and service accounts are the administrator's.
NOT_CREATABLE = frozenset({"project", "service_account"})
READ = "read"
CREATE = "create"


class Owner(Enum):
    """Who owns one resource, from the requesting user's point of view."""

    SELF = "self"
    SERVER = "server"
    OTHER = "other"
    MISSING = "missing"


def owner_of(owner_id: str | None, user_id: str, exists: bool = True) -> Owner:
    """Classify a resource's owner column (``user_id``) against the requesting user."""
    if not exists:
        return Owner.MISSING
    if owner_id is None:
        return Owner.SERVER
    return Owner.SELF if str(owner_id) == str(user_id) else Owner.OTHER


def allowed(is_admin: bool, resource_type: str, action: str, owner: Owner | None) -> bool:
    """Whether a user may perform ``action`` on a resource.

    ``owner`` is None for a check on the type itself (create, prune, backup), else the owner of the instance.
    Developers: create user-owned types; everything on their own objects; read shared and server-owned
    objects; nothing on other users' objects, and no type-wide operation (prune, backup/restore, share).
    """
    if is_admin:
        return True
    if owner is None:
        return action == CREATE and resource_type not in NOT_CREATABLE
    if owner is Owner.SELF:
        return True
    if owner is Owner.SERVER:
        return action == READ
    # A missing row answers like another user's: the caller learns nothing about what exists.
    return False


def full_list_access(is_admin: bool, resource_type: str, action: str) -> bool:
    """Whether a list of ``resource_type`` needs no filter; if not, ZenML lists the user's and the server's."""
    return is_admin or (action == READ and resource_type in SHARED_READ)
