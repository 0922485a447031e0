"""The RBACInterface implementation the ZenML server loads (ZENML_SERVER_RBAC_IMPLEMENTATION_SOURCE).

ZenML lets the owner of an object, and everyone for server-owned objects, act on it without asking this
class in most places, but not all (step logs, some connector and snapshot checks ask by id, and listing
pages asks about nested objects one by one); so the owner of every instance asked about is looked up here
too, one query per resource type and batch, and remembered: ids are never reused, and an owner only ever
changes to none when that user is deleted, where the remembered owner is the stricter answer.

Projects have no owner column: a developer's project is the one named like them. Listing a page asks about
the project of every object on it, so project names are remembered for a few seconds only (an
administrator may rename, delete or recreate a project). Developers create only inside their own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING
from uuid import UUID

from sqlmodel import Session, select
from zenml.constants import DEFAULT_PROJECT_NAME
from zenml.exceptions import IllegalOperationError
from zenml.zen_server.rbac.models import Action, Resource, ResourceType
from zenml.zen_server.rbac.rbac_interface import RBACInterface
from zenml.zen_server.rbac.utils import get_schema_for_resource_type
from zenml.zen_server.utils import zen_store
from zenml.zen_stores.schemas import ProjectSchema

from onprem_mlops_zenml.policy import PROJECT, Owner, allowed, full_list_access, owner_of, project_owner

if TYPE_CHECKING:
    from zenml.models import UserResponse


# (resource type, id) -> owner id ("" for server-owned), for objects that exist.
_KNOWN_OWNERS: dict[tuple[str, UUID], str] = {}
_KNOWN_OWNERS_LIMIT = 200_000


_PROJECTS_TTL = 5.0
# (when read, {project id: name}); all projects, a few hundred rows at most (one per person).
_projects: tuple[float, dict[UUID, str]] = (0.0, {})


def _all_projects(refresh: bool = False) -> dict[UUID, str]:
    global _projects
    read_at, projects = _projects
    if refresh or time.monotonic() - read_at > _PROJECTS_TTL:
        with Session(zen_store().engine) as session:
            rows = session.exec(select(ProjectSchema.id, ProjectSchema.name)).all()
        projects = {row_id: name for row_id, name in rows}
        _projects = (time.monotonic(), projects)
    return projects


def _project_names(ids: set[UUID]) -> dict[UUID, str]:
    projects = _all_projects()
    if not ids <= projects.keys():  # created since: read again rather than refuse
        projects = _all_projects(refresh=True)
    return {project_id: projects[project_id] for project_id in ids if project_id in projects}


def _project_ids(names: list[str]) -> list[UUID]:
    found = [project_id for project_id, name in _all_projects().items() if name in names]
    if len(found) < len(set(names)):
        found = [project_id for project_id, name in _all_projects(refresh=True).items() if name in names]
    return found


def _project_owners(user_name: str, group: list[Resource]) -> dict[Resource, Owner]:
    names = _project_names({resource.id for resource in group if resource.id is not None})
    return {resource: project_owner(names.get(resource.id), user_name, DEFAULT_PROJECT_NAME) for resource in group}


def _owners(user_id: str, user_name: str, resources: set[Resource]) -> dict[Resource, Owner]:
    """The owner of each resource with an id, from the server's database."""
    by_type: dict[str, list[Resource]] = defaultdict(list)
    owners: dict[Resource, Owner] = {}
    for resource in resources:
        if resource.id is None:
            continue
        if resource.type == PROJECT:
            by_type[PROJECT].append(resource)
            continue
        known = _KNOWN_OWNERS.get((resource.type, resource.id))
        if known is not None:
            owners[resource] = owner_of(known or None, user_id)
        else:
            by_type[resource.type].append(resource)
    for resource_type, group in by_type.items():
        if resource_type == PROJECT:
            owners.update(_project_owners(user_name, group))
            continue
        try:
            schema = get_schema_for_resource_type(ResourceType(resource_type))
        except (KeyError, ValueError):
            schema = None
        if schema is None or not hasattr(schema, "user_id"):
            owners.update(dict.fromkeys(group, Owner.OTHER))
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


class Permissions(dict):
    """The answer of ``check_permissions``; true even when empty.

    ZenML asks about a page's nested objects once and then, for every object on the page, asks again
    whenever that first answer is falsy (``if not permissions``), which an empty one is: a developer's
    page of their own runs holds nothing to ask about. Answering "nothing" as true spares listing 1,000
    runs about 3,000 repeated walks; anything not in the answer is still asked about one by one.
    """

    def __bool__(self) -> bool:
        return True


class OwnerOnlyRBAC(RBACInterface):
    """Administrators may do everything, developers only act on what they own (see ``policy``)."""

    def check_permissions(self, user: UserResponse, resources: set[Resource], action: Action) -> dict[Resource, bool]:
        if user.is_admin:
            return Permissions(dict.fromkeys(resources, True))
        owners = _owners(str(user.id), user.name, resources)
        scoped = {resource.project_id for resource in resources if resource.project_id is not None}
        own_project = set(_project_ids([user.name])) if scoped else set()
        return Permissions(
            (
                resource,
                allowed(
                    False,
                    str(resource.type),
                    str(action),
                    owners.get(resource),
                    in_own_project=resource.project_id is None or resource.project_id in own_project,
                ),
            )
            for resource in resources
        )

    def list_allowed_resource_ids(
        self, user: UserResponse, resource: Resource, action: Action
    ) -> tuple[bool, list[str]]:
        if full_list_access(user.is_admin):
            return True, []
        if resource.type == PROJECT and action == Action.READ:
            return False, [str(project_id) for project_id in _project_ids([user.name, DEFAULT_PROJECT_NAME])]
        # ZenML adds the user's own objects and the server's (rows without an owner) to the ids given here.
        return False, []

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
