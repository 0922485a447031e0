"""The ZenML routes the RBAC class cannot protect, and what a developer may do on them.

- Admin-only routes: ZenML 0.98 guards them with ``verify_admin_status_if_no_rbac()`` or an inline
  ``rbac_enabled`` test, a guard that switches off as soon as an RBAC implementation is configured, and
  the routes never ask that implementation.
- Routes that never ask it either: tags (read and list) and the model version link lists.
- Requests that name no project, or the default one, on project-scoped routes: ZenML answers them for the
  default project, where a developer creates nothing (each works in the project named like them). The
  open-source dashboard only ever asks that way, so a developer's requests go to their own project.

The wrapping app (``app.py``) applies the decision made here before ZenML sees the request. Pure Python,
without ZenML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qsl, unquote, urlencode

PREFIX = "/api/v1"
DEFAULT_PROJECT = "default"


class Rule(Enum):
    """What a non-administrator may do on a guarded route."""

    ADMIN_ONLY = "admin_only"
    SELF_ONLY = "self_only"
    OWN_USER_LIST = "own_user_list"
    OWN_LIST = "own_list"
    OWN_TAG = "own_tag"
    SETTINGS = "settings"
    OWN_PROJECT_QUERY = "own_project_query"
    OWN_PROJECT_PATH = "own_project_path"


@dataclass(frozen=True)
class Guard:
    rule: Rule
    target: str | None = None


_USER = re.compile(rf"^{PREFIX}/users/(?P<user>[^/]+)$")
_USER_ACTION = re.compile(rf"^{PREFIX}/users/[^/]+/(?P<action>[^/]+)$")
# Own email/analytics answer; ZenML already refuses it for another user.
_SELF_SERVICE_ACTIONS = frozenset({"email-opt-in"})
_ADMIN_PREFIXES = (f"{PREFIX}/service_accounts", f"{PREFIX}/secrets_operations")
# Lists ZenML does not filter by access: a developer's are filtered by owner (query parameter ``user``).
_OWNER_FILTERED_LISTS = frozenset(
    {f"{PREFIX}/tags", f"{PREFIX}/model_version_artifacts", f"{PREFIX}/model_version_pipeline_runs"}
)
_TAG = re.compile(rf"^{PREFIX}/tags/(?P<tag>[^/]+)$")
_DEFAULT_PROJECT_PATH = re.compile(rf"^{PREFIX}/projects/{DEFAULT_PROJECT}(?P<rest>/.*)?$")


def _names_default_project(query_string: str) -> bool:
    projects = [value for name, value in parse_qsl(query_string, keep_blank_values=True) if name == "project"]
    return not projects or all(value in ("", DEFAULT_PROJECT) for value in projects)


def classify(
    method: str, path: str, query_string: str = "", project_scoped_lists: frozenset[str] = frozenset()
) -> Guard | None:
    """The guard of a request, or None when ZenML's own checks (and the RBAC class) decide alone.

    ``project_scoped_lists`` are the paths of the list routes that take a ``project`` query parameter.
    """
    path = path.rstrip("/") or "/"
    method = method.upper()
    if method == "GET" and path in project_scoped_lists and _names_default_project(query_string):
        return Guard(Rule.OWN_PROJECT_QUERY)
    match = _DEFAULT_PROJECT_PATH.match(path)
    if method == "GET" and match:
        return Guard(Rule.OWN_PROJECT_PATH, match["rest"] or "")
    if any(path == prefix or path.startswith(prefix + "/") for prefix in _ADMIN_PREFIXES):
        return Guard(Rule.ADMIN_ONLY)
    if method == "GET" and path in _OWNER_FILTERED_LISTS:
        return Guard(Rule.OWN_LIST)
    match = _TAG.match(path)
    if method == "GET" and match:
        return Guard(Rule.OWN_TAG, unquote(match["tag"]))
    if path == f"{PREFIX}/users":
        return Guard(Rule.OWN_USER_LIST) if method == "GET" else Guard(Rule.ADMIN_ONLY)
    if path == f"{PREFIX}/settings" and method in ("PUT", "PATCH"):
        return Guard(Rule.SETTINGS)
    if path == f"{PREFIX}/users/resource_membership":
        return Guard(Rule.ADMIN_ONLY)
    match = _USER.match(path)
    if match:
        return Guard(Rule.SELF_ONLY, unquote(match["user"]))
    match = _USER_ACTION.match(path)
    if match and match["action"] not in _SELF_SERVICE_ACTIONS:
        # deactivate (and anything ZenML adds later) is an administrator's; activate carries its own token.
        return None if match["action"] == "activate" else Guard(Rule.ADMIN_ONLY)
    return None


def own_project_path(user_name: str, rest: str) -> str:
    """``/projects/default[/…]`` for the developer: their own project (named like them)."""
    return f"{PREFIX}/projects/{user_name}{rest}"


def is_self(target: str, user_id: str, user_name: str) -> bool:
    """Whether a ``/users/{user_name_or_id}`` path names the requesting user."""
    return target.lower() == str(user_id).lower() or target == user_name


def restricted_query(query_string: str, parameter: str, value: str) -> str:
    """A query string with ``parameter`` forced to ``value``, whatever the client sent for it.

    ``GET /users`` gets ``id=<the user>`` (what ZenML does without RBAC), the owner-filtered lists
    ``user=<the user>``, a developer's project-scoped lists ``project=<their project>``.
    """
    kept = [(name, v) for name, v in parse_qsl(query_string, keep_blank_values=True) if name != parameter]
    return urlencode([*kept, (parameter, str(value))])


def settings_update_allowed(body: bytes) -> bool:
    """Whether a settings update touches only the user's onboarding state (what ZenML lets non-admins do)."""
    try:
        update = json.loads(body or b"{}")
    except ValueError:
        return False
    if not isinstance(update, dict):
        return False
    return all(value is None for name, value in update.items() if name != "onboarding_state")
