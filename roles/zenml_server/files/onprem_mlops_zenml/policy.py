"""Who may do what on a ZenML resource: administrators everything, developers their own objects only.

Pure Python, without ZenML, so the decision is unit-tested on its own. Resource types and actions are the
string values of ``zenml.zen_server.rbac.models.ResourceType`` and ``Action``.
"""

from __future__ import annotations

from enum import Enum

PROJECT = "project"
# Types a developer may create: everything user-owned. Projects and service accounts are the administrator's.
NOT_CREATABLE = frozenset({PROJECT, "service_account"})
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


def project_owner(project_name: str | None, user_name: str, default_project: str) -> Owner:
    """Projects have no owner column: a user's project is the one named like them (made by zenml_tenant)."""
    if project_name is None:
        return Owner.MISSING
    if project_name == user_name:
        return Owner.SELF
    return Owner.SERVER if project_name == default_project else Owner.OTHER


def allowed(is_admin: bool, resource_type: str, action: str, owner: Owner | None, in_own_project: bool = True) -> bool:
    """Whether a user may perform ``action`` on a resource.

    ``owner`` is None for a check on the type itself (create, prune, backup), else the owner of the instance.
    ``in_own_project`` says whether a project-scoped resource belongs to the user's own project (True for
    types outside projects). Developers: create user-owned types in their own project; everything on their
    own objects; read their own project, the default one and server-owned objects; nothing on other users'
    objects or projects, and no type-wide operation (prune, backup/restore, share).
    """
    if is_admin:
        return True
    if resource_type == PROJECT:
        # Names are ZenML's unique keys within a project: each developer works in their own, so the same
        # pipeline name in two students' code neither collides nor tells one about the other.
        return action == READ and owner in (Owner.SELF, Owner.SERVER)
    if owner is None:
        return action == CREATE and resource_type not in NOT_CREATABLE and in_own_project
    if owner is Owner.SELF:
        return True
    if owner is Owner.SERVER:
        return action == READ
    # A missing row answers like another user's: the caller learns nothing about what exists.
    return False


def full_list_access(is_admin: bool) -> bool:
    """Whether a list needs no filter; if not, ZenML lists the user's objects and the server's.

    Projects have no owner column: a developer's list of them is their own and the default one, by id.
    """
    return is_admin
