"""The ASGI app the ZenML server runs: ZenML's own behind a guard of the routes the RBAC class cannot reach.

uvicorn onprem_mlops_zenml.app:app (same arguments as the images' zenml.zen_server.zen_server_api:app).
With an RBAC implementation configured, ZenML stops enforcing the admin-only checks it makes when there
is none (creating, reading, changing and deleting other users, service accounts and their API keys,
server settings): those routes never consult the RBAC class, so this wrapper enforces them instead. It
also filters the few lists and reads ZenML serves without asking the RBAC class (tags, model version
links), and sends a developer's requests for the default project (all the open-source dashboard makes) to
their own project. ``routes`` decides; this module authenticates the caller exactly as ZenML does and
applies it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from zenml.exceptions import AuthorizationException
from zenml.zen_server.auth import authenticate_credentials
from zenml.zen_server.utils import server_config, zen_store
from zenml.zen_server.zen_server_api import app as zenml_app

from onprem_mlops_zenml.routes import (
    Guard,
    Rule,
    classify,
    is_self,
    own_project_path,
    restricted_query,
    settings_update_allowed,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def project_scoped_lists(app: Any) -> frozenset[str]:
    """The paths of ZenML's GET routes that list objects of one project (a ``project`` query parameter).

    Read from the OpenAPI description (built once, ~2 s, and kept by FastAPI for /openapi.json): ZenML's
    routers are wrapped in ways that change between FastAPI releases, the description does not.
    """
    paths = set()
    for path, operations in app.openapi()["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        if "{" not in path and any(item.get("in") == "query" and item.get("name") == "project" for item in parameters):
            paths.add(path.rstrip("/"))
    return frozenset(paths)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _token(scope: Scope) -> str | None:
    """The access token exactly where ZenML looks: its cookie first, then the bearer header."""
    cookie_name = server_config().get_auth_cookie_name()
    for part in (_header(scope, b"cookie") or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == cookie_name and value:
            return value
    authorization = _header(scope, b"authorization") or ""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _tag_owner(tag: str) -> str | None:
    """The id of the user owning a tag; None for a server-owned one, or when ZenML answers (404, 422)."""
    try:
        owner = zen_store().get_tag(uuid.UUID(tag), hydrate=False).user_id
    except (KeyError, ValueError):
        return None
    return str(owner) if owner else None


def _user(scope: Scope) -> Any | None:
    """The authenticated user, or None for credentials ZenML itself refuses with 401.

    Any other failure propagates (500): the guard fails closed.
    """
    token = _token(scope)
    if not token:
        return None
    try:
        return authenticate_credentials(access_token=token, csrf_token=_header(scope, b"x-csrf-token")).user
    except AuthorizationException:
        return None


async def _forbid(send: Send, message: str) -> None:
    body = json.dumps({"detail": ["IllegalOperationError", message]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class AdminRouteGuard:
    """Refuse the admin-only routes to everyone but ZenML administrators."""

    def __init__(self, app: ASGIApp, scoped_lists: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.scoped_lists = scoped_lists

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        guard = None
        if scope["type"] == "http":
            query_string = scope.get("query_string", b"").decode("latin-1")
            guard = classify(scope["method"], scope["path"], query_string, self.scoped_lists)
        if guard is None:
            await self.app(scope, receive, send)
            return
        user = await anyio.to_thread.run_sync(_user, scope)
        if user is None or user.is_admin:
            await self.app(scope, receive, send)
            return
        await self._developer(guard, user, scope, receive, send)

    async def _developer(self, guard: Guard, user: Any, scope: Scope, receive: Receive, send: Send) -> None:
        query_string = scope.get("query_string", b"").decode("latin-1")
        if guard.rule in (Rule.OWN_USER_LIST, Rule.OWN_LIST):
            parameter = "id" if guard.rule is Rule.OWN_USER_LIST else "user"
            query = restricted_query(query_string, parameter, str(user.id))
            await self.app({**scope, "query_string": query.encode("latin-1")}, receive, send)
        elif guard.rule is Rule.OWN_PROJECT_QUERY:
            query = restricted_query(query_string, "project", user.name)
            await self.app({**scope, "query_string": query.encode("latin-1")}, receive, send)
        elif guard.rule is Rule.OWN_PROJECT_PATH:
            path = own_project_path(user.name, guard.target or "")
            await self.app({**scope, "path": path, "raw_path": path.encode()}, receive, send)
        elif guard.rule is Rule.OWN_TAG:
            owner = await anyio.to_thread.run_sync(_tag_owner, guard.target or "")
            if owner and owner != str(user.id):
                await _forbid(send, "Insufficient permissions to READ this tag.")
                return
            await self.app(scope, receive, send)
        elif guard.rule is Rule.SELF_ONLY and is_self(guard.target or "", str(user.id), user.name):
            await self.app(scope, receive, send)
        elif guard.rule is Rule.SETTINGS:
            body = await _read_body(receive)
            if not settings_update_allowed(body):
                await _forbid(send, "Only administrators can update the server settings.")
                return
            await self.app(scope, _replay(body), send)
        else:
            await _forbid(send, "Only administrators can manage users, service accounts and their API keys.")


app = AdminRouteGuard(zenml_app, project_scoped_lists(zenml_app))
