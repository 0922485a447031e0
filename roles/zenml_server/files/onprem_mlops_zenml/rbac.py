"""The RBACInterface implementation the ZenML server loads (ZENML_SERVER_RBAC_IMPLEMENTATION_SOURCE).

ZenML lets the owner of an object, and everyone for server-owned objects, act on it without asking this
class in most places, but not all (step logs, some connector and snapshot checks ask by id, and listing
pages asks about nested objects one by one); so the owner of every instance asked about is looked up here
too, one query per resource type and batch, and remembered: ids are never reused, and an owner only ever
changes to none when that user is deleted, where the remembered owner is the stricter answer.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING
from uuid import UUID

from sqlmodel import Session, select
from zenml.exceptions import IllegalOperationError
from zenml.zen_server.rbac.models import Action, Resource, ResourceType
from zenml.zen_server.rbac.rbac_interface import RBACInterface
from zenml.zen_server.rbac.utils import get_schema_for_resource_type
from zenml.zen_server.utils import zen_store

from onprem_mlops_zenml.policy import SHARED_READ, Owner, allowed, full_list_access, owner_of

if TYPE_CHECKING:
    from zenml.models import UserResponse


# (resource type, id) -> owner id ("" for server-owned), for objects that exist.
_KNOWN_OWNERS: dict[tuple[str, UUID], str] = {}
_KNOWN_OWNERS_LIMIT = 200_000


def _owners(user_id: str, resources: set[Resource]) -> dict[Resource, Owner]:
    """The owner of each resource with an id, from the server's database."""
    by_type: dict[str, list[Resource]] = defaultdict(list)
    owners: dict[Resource, Owner] = {}
    for resource in resources:
        if resource.id is None:
            continue
        known = _KNOWN_OWNERS.get((resource.type, resource.id))
        if known is not None:
            owners[resource] = owner_of(known or None, user_id)
        else:
            by_type[resource.type].append(resource)
    for resource_type, group in by_type.items():
        try:
            schema = get_schema_for_resource_type(ResourceType(resource_type))
        except (KeyError, ValueError):
            schema = None
        if schema is None or not hasattr(schema, "user_id"):
            shared = Owner.SERVER if resource_type in SHARED_READ else Owner.OTHER
            owners.update(dict.fromkeys(group, shared))
            continue
        with Session(zen_store().engine) as session:
            rows = session.exec(
                select(schema.id, schema.user_id).where(schema.id.in_([r.id for r in group]))  # type: ignore[attr-defined]
            ).all()
        found = {row_id: row_owner for row_id, row_owner in rows}
        if len(_KNOWN_OWNERS) > _KNOWN_OWNERS_LIMIT:
            _KNOWN_OWNERS.clear()
        _KNOWN_OWNERS.update({(resource_type, row_id): str(row_owner or "") for row_id, row_owner in found.items()})
        for resource in group:
            owners[resource] = owner_of(found.get(resource.id), user_id, exists=resource.id in found)
    return owners


class OwnerOnlyRBAC(RBACInterface):
    """Administrators may do everything, developers only act on what they own (see ``policy``)."""

    def check_permissions(self, user: UserResponse, resources: set[Resource], action: Action) -> dict[Resource, bool]:
        if user.is_admin:
            return dict.fromkeys(resources, True)
        owners = _owners(str(user.id), resources)
        return {
            resource: allowed(False, str(resource.type), str(action), owners.get(resource)) for resource in resources
        }

    def list_allowed_resource_ids(
        self, user: UserResponse, resource: Resource, action: Action
    ) -> tuple[bool, list[str]]:
        # Not full access: ZenML lists the user's own objects and the server's (rows without an owner).
        return full_list_access(user.is_admin, str(resource.type), str(action)), []

    def update_resource_membership(
        self,
        sharing_user: UserResponse,
        resource: Resource,
        actions: list[Action],
        user_id: str | None = None,
        team_id: str | None = None,
    ) -> None:
        raise IllegalOperationError("Sharing is not supported on this server: objects belong to their owner.")

    def delete_resources(self, resources: list[Resource]) -> None:
        """Nothing to forget: no memberships are stored."""
