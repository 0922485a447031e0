"""An in-memory stand-in for the parts of ZenML 0.98's REST API the ZenML modules use.

It sits where ``requests.Session`` would be, so the module code under test runs unchanged down to the
HTTP call. It models the server behaviour the modules depend on, as measured on a real 0.98.0 server:
owners come from the caller's token, private secrets are visible only to their owner (404 for anyone
else, admins included), component secret references are resolved as the caller, an account that owns
anything cannot be deleted, only the deactivate/activate pair sets another account's password, and only an
admin creates and deletes projects (deleting one deletes what it holds).
The tests at the end pin those behaviours down.
"""

import json
import re
import threading
import uuid
from urllib.parse import urlsplit

import pytest

_REFERENCE = re.compile(r"^\{\{\s*(\S+?)\.(\S+)\s*\}\}$")
_PAGE = re.compile(r"^/api/v1/(users|components|stacks|secrets|projects)$")
_ITEM = re.compile(r"^/api/v1/(users|components|stacks|secrets|projects)/([^/]+)(/activate|/deactivate)?$")
# What a project holds, counted only: the fake keeps ``contents[project id][kind] = count``.
_CONTENTS = re.compile(r"^/api/v1/(pipelines|runs|artifacts|models|pipeline_snapshots|code_repositories)$")


class FakeResponse:
    def __init__(self, status_code: int, body: object = None) -> None:
        self.status_code = status_code
        self._body = body
        self.content = b"" if body is None else json.dumps(body).encode()
        self.text = self.content.decode()

    def json(self) -> object:
        return json.loads(self.content)


class ApiError(Exception):
    def __init__(self, status: int, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail


def _new_id() -> str:
    return str(uuid.uuid4())


class FakeZenml:
    """The server's state plus a ``request()`` with the signature of ``requests.Session.request``."""

    def __init__(self, admin: str = "root", admin_password: str = "admin-pw", version: str = "0.98.0") -> None:
        self.version = version
        self.users: dict[str, dict] = {}
        self.secrets: dict[str, dict] = {}
        self.components: dict[str, dict] = {}
        self.stacks: dict[str, dict] = {}
        self.projects: dict[str, dict] = {}
        self.contents: dict[str, dict[str, int]] = {}
        self.tokens: dict[str, str] = {}
        self.calls: list[tuple[str, str, str | None]] = []
        self.logins = 0
        self.fail_next: dict[tuple[str, str], tuple[int, object]] = {}
        self._lock = threading.RLock()
        self.add_user(admin, admin_password, is_admin=True)
        self.add_project("default")

    # ------------------------------------------------------------------ test helpers

    def add_user(self, name: str, password: str | None, is_admin: bool = False, active: bool = True) -> str:
        user_id = _new_id()
        self.users[user_id] = {
            "id": user_id,
            "name": name,
            "password": password,
            "is_admin": is_admin,
            "active": active,
            "activation_token": None,
            "other_resources": 0,
            "default_project_id": None,
        }
        return user_id

    def add_project(self, name: str) -> str:
        project_id = _new_id()
        self.projects[project_id] = {"id": project_id, "name": name}
        return project_id

    def project(self, name: str) -> dict | None:
        return next((item for item in self.projects.values() if item["name"] == name), None)

    def user(self, name: str) -> dict | None:
        return next((user for user in self.users.values() if user["name"] == name), None)

    def token_for(self, name: str) -> str:
        token = _new_id()
        self.tokens[token] = self.user(name)["id"]
        return token

    def owned_by(self, name: str) -> dict[str, list[str]]:
        user_id = self.user(name)["id"]
        return {
            kind: sorted(item["name"] for item in store.values() if item["user_id"] == user_id)
            for kind, store in (("secrets", self.secrets), ("components", self.components), ("stacks", self.stacks))
        }

    def writes(self) -> list[tuple[str, str, str | None]]:
        return [call for call in self.calls if call[0] != "GET" and call[1] != "/api/v1/login"]

    # ------------------------------------------------------------------ the HTTP boundary

    def request(
        self, method: str, url: str, headers=None, params=None, json=None, data=None, **_ignored
    ) -> FakeResponse:
        path = urlsplit(url).path
        with self._lock:
            caller = self._caller(headers or {})
            self.calls.append((method, path, self.users[caller]["name"] if caller else None))
            if (method, path) in self.fail_next:
                status, body = self.fail_next.pop((method, path))
                return FakeResponse(status, body)
            try:
                return FakeResponse(200, self._route(method, path, caller, params or {}, json, data))
            except ApiError as exc:
                return FakeResponse(exc.status, {"detail": [exc.kind, exc.detail]})

    def _caller(self, headers: dict) -> str | None:
        auth = headers.get("Authorization", "")
        return self.tokens.get(auth.removeprefix("Bearer ")) if auth else None

    def _route(self, method: str, path: str, caller: str | None, params: dict, body, form) -> object:
        if path == "/api/v1/info":
            return {"version": self.version, "name": "default"}
        if path == "/api/v1/login":
            return self._login(form)
        if path.endswith("/activate"):
            return self._activate(path.split("/")[-2], body)
        if caller is None or not self.users[caller]["active"]:
            raise ApiError(401, "CredentialsNotValid", "Authentication error")
        if path == "/api/v1/current-user":
            return self._user_answer(self.users[caller])
        contents = _CONTENTS.match(path)
        if contents and method == "GET":
            total = self.contents.get(params.get("project"), {}).get(contents.group(1), 0)
            return {"index": 1, "total_pages": 1, "total": total, "items": []}
        page = _PAGE.match(path)
        if page and method == "GET":
            return self._list(page.group(1), caller, params)
        if page and method == "POST":
            return getattr(self, f"_create_{page.group(1)}")(caller, body)
        item = _ITEM.match(path)
        if item:
            kind, key, action = item.groups()
            if action == "/deactivate":
                return self._deactivate(caller, key)
            return getattr(self, f"_{method.lower()}_{kind}")(caller, key, body)
        raise ApiError(404, "", "Not Found")

    # ------------------------------------------------------------------ users

    def _user_answer(self, user: dict) -> dict:
        return {
            "id": user["id"],
            "name": user["name"],
            "body": {
                "active": user["active"],
                "is_admin": user["is_admin"],
                "activation_token": user["activation_token"],
                "default_project_id": user["default_project_id"],
            },
        }

    def _login(self, form: dict) -> dict:
        self.logins += 1
        user = self.user(form["username"])
        if user is None or not user["active"] or user["password"] != form["password"]:
            raise ApiError(401, "CredentialsNotValid", "Authentication error: invalid username or password")
        token = _new_id()
        self.tokens[token] = user["id"]
        return {"access_token": token, "token_type": "bearer"}

    def _find_user(self, key: str) -> dict:
        user = self.users.get(key) or self.user(key)
        if user is None:
            raise ApiError(404, "KeyError", f"No user account with the '{key}' name or ID was found")
        return user

    def _require_admin(self, caller: str, action: str) -> None:
        if not self.users[caller]["is_admin"]:
            raise ApiError(
                403, "IllegalOperationError", f"Only admin users can perform `{action}` without RBAC enabled."
            )

    def _get_users(self, caller: str, key: str, _body) -> dict:
        user = self._find_user(key)
        if user["id"] != caller:
            self._require_admin(caller, "get other user")
        return self._user_answer(user)

    def _create_users(self, caller: str, body: dict) -> dict:
        self._require_admin(caller, "create user")
        if "is_admin" not in body:
            raise ApiError(422, "ValueError", "is_admin: Field required")
        if self.user(body["name"]):
            raise ApiError(409, "EntityExistsError", f"Found an existing user account with the name {body['name']}")
        user_id = self.add_user(body["name"], body.get("password"), body["is_admin"], body.get("password") is not None)
        return self._user_answer(self.users[user_id])

    def _put_users(self, caller: str, key: str, body: dict) -> dict:
        user = self._find_user(key)
        if "password" in body:
            raise ApiError(403, "IllegalOperationError", "Users cannot change the password of other users.")
        if "is_admin" in body:
            if user["id"] == caller:
                raise ApiError(403, "IllegalOperationError", "Cannot change the admin status of your own user account.")
            self._require_admin(caller, "update other user account")
            user["is_admin"] = body["is_admin"]
        if "default_project_id" in body:
            if user["id"] != caller:
                self._require_admin(caller, "update other user account")
            user["default_project_id"] = self._find_project(body["default_project_id"])["id"]
        return self._user_answer(user)

    def _deactivate(self, caller: str, key: str) -> dict:
        user = self._find_user(key)
        self._require_admin(caller, "deactivate user")
        user["active"] = False
        user["activation_token"] = _new_id()
        return self._user_answer(user)

    def _activate(self, key: str, body: dict) -> dict:
        user = self._find_user(key)
        if not body.get("activation_token") or body["activation_token"] != user["activation_token"]:
            raise ApiError(401, "CredentialsNotValid", "Authentication error: invalid activation token")
        if body.get("password") is not None:
            user["password"] = body["password"]
        user["active"], user["activation_token"] = True, None
        return self._user_answer(user)

    def _delete_users(self, caller: str, key: str, _body) -> None:
        user = self._find_user(key)
        self._require_admin(caller, "delete user")
        owned = [item for store in (self.secrets, self.components, self.stacks) for item in store.values()]
        if user["other_resources"] or any(item["user_id"] == user["id"] for item in owned):
            raise ApiError(
                403,
                "IllegalOperationError",
                "The user account has already been used to create other resources that it now owns and therefore "
                "cannot be deleted.",
            )
        del self.users[user["id"]]

    # ------------------------------------------------------------------ lists

    def _list(self, kind: str, caller: str, params: dict) -> dict:
        items = [item for item in getattr(self, kind).values() if self._visible(kind, item, caller)]
        items = [item for item in items if self._matches(item, params)]
        items.sort(key=lambda item: item["name"])
        size, page = int(params.get("size", 20)), int(params.get("page", 1))
        pages = max(1, -(-len(items) // size))
        answer_of = getattr(self, f"_{kind[:-1]}_answer")
        hydrate = str(params.get("hydrate", "false")).lower() == "true"
        chunk = items[(page - 1) * size : page * size]
        return {
            "index": page,
            "total_pages": pages,
            "total": len(items),
            "items": [answer_of(i, hydrate) for i in chunk],
        }

    # ------------------------------------------------------------------ projects

    def _project_answer(self, project: dict, _hydrate: bool = True) -> dict:
        return {"id": project["id"], "name": project["name"], "body": {"display_name": project["name"]}}

    def _find_project(self, key: str) -> dict:
        project = self.projects.get(key) or self.project(key)
        if project is None:
            raise ApiError(404, "KeyError", f"No project with the '{key}' name or ID was found")
        return project

    def _create_projects(self, caller: str, body: dict) -> dict:
        self._require_admin(caller, "create project")
        if self.project(body["name"]):
            raise ApiError(409, "EntityExistsError", f"Found an existing project with the name {body['name']}")
        return self._project_answer(self.projects[self.add_project(body["name"])])

    def _get_projects(self, caller: str, key: str, _body) -> dict:
        return self._project_answer(self._find_project(key))

    def _delete_projects(self, caller: str, key: str, _body) -> None:
        project = self._find_project(key)
        self._require_admin(caller, "delete project")
        if project["name"] == "default":
            raise ApiError(403, "IllegalOperationError", "The default project cannot be deleted.")
        del self.projects[project["id"]]
        self.contents.pop(project["id"], None)
        for user in self.users.values():
            if user["default_project_id"] == project["id"]:
                user["default_project_id"] = None

    def _visible(self, kind: str, item: dict, caller: str) -> bool:
        if kind == "users":
            return self.users[caller]["is_admin"] or item["id"] == caller
        if kind == "secrets":
            return not item["private"] or item["user_id"] == caller
        return True

    @staticmethod
    def _matches(item: dict, params: dict) -> bool:
        name = params.get("name")
        if name:
            operator, _, value = name.partition(":") if ":" in name else ("equals", "", name)
            if operator == "startswith" and not item["name"].startswith(value):
                return False
            if operator == "equals" and item["name"] != value:
                return False
        private = params.get("private")
        return private is None or item.get("private") == (str(private).lower() == "true")

    # ------------------------------------------------------------------ secrets

    def _secret_answer(self, secret: dict, with_values: bool) -> dict:
        return {
            "id": secret["id"],
            "name": secret["name"],
            "body": {
                "user_id": secret["user_id"],
                "private": secret["private"],
                "values": dict(secret["values"]) if with_values else {},
            },
        }

    def _visible_secret(self, caller: str, key: str) -> dict:
        secret = self.secrets.get(key)
        if secret is None or (secret["private"] and secret["user_id"] != caller):
            raise ApiError(404, "KeyError", f"Secret with name or ID {key} not found or is private and not owned")
        return secret

    def _create_secrets(self, caller: str, body: dict) -> dict:
        clash = [
            item
            for item in self.secrets.values()
            if item["name"] == body["name"]
            and item["private"] == body.get("private", False)
            and (not item["private"] or item["user_id"] == caller)
        ]
        if clash:
            raise ApiError(409, "EntityExistsError", f"Found an existing secret with the name {body['name']}")
        secret = {"id": _new_id(), "name": body["name"], "private": body.get("private", False), "user_id": caller}
        secret["values"] = dict(body.get("values") or {})
        self.secrets[secret["id"]] = secret
        return self._secret_answer(secret, True)

    def _get_secrets(self, caller: str, key: str, _body) -> dict:
        return self._secret_answer(self._visible_secret(caller, key), True)

    def _put_secrets(self, caller: str, key: str, body: dict) -> dict:
        secret = self._visible_secret(caller, key)
        if body.get("values") is not None:
            secret["values"] = {k: v for k, v in body["values"].items() if v is not None}
        return self._secret_answer(secret, True)

    def _delete_secrets(self, caller: str, key: str, _body) -> None:
        del self.secrets[self._visible_secret(caller, key)["id"]]

    # ------------------------------------------------------------------ components

    def _component_answer(self, component: dict, hydrate: bool = True) -> dict:
        answer = {
            "id": component["id"],
            "name": component["name"],
            "body": {"user_id": component["user_id"], "type": component["type"], "flavor_name": component["flavor"]},
        }
        if hydrate:
            answer["metadata"] = {"configuration": json.loads(json.dumps(component["configuration"]))}
        return answer

    def _resolve_references(self, caller: str, configuration: dict) -> None:
        for value in configuration.values():
            match = _REFERENCE.match(value) if isinstance(value, str) else None
            if match and not any(
                item["name"] == match.group(1) and (not item["private"] or item["user_id"] == caller)
                for item in self.secrets.values()
            ):
                raise ApiError(404, "KeyError", f"Failed to resolve secret reference: {match.group(1)} does not exist")

    def _create_components(self, caller: str, body: dict) -> dict:
        if any(item["name"] == body["name"] and item["type"] == body["type"] for item in self.components.values()):
            raise ApiError(409, "EntityExistsError", f"Found an existing component with the name {body['name']}")
        self._resolve_references(caller, body["configuration"])
        component = {key: body[key] for key in ("name", "type", "flavor", "configuration")}
        component.update(id=_new_id(), user_id=caller)
        self.components[component["id"]] = component
        return self._component_answer(component)

    def _find(self, kind: str, key: str) -> dict:
        item = getattr(self, kind).get(key)
        if item is None:
            raise ApiError(404, "KeyError", f"No {kind[:-1]} with ID {key}")
        return item

    def _put_components(self, caller: str, key: str, body: dict) -> dict:
        component = self._find("components", key)
        if "configuration" in body:
            self._resolve_references(caller, body["configuration"])
            component["configuration"] = body["configuration"]
        return self._component_answer(component)

    def _delete_components(self, caller: str, key: str, _body) -> None:
        component = self._find("components", key)
        if any(key in ids for stack in self.stacks.values() for ids in stack["components"].values()):
            raise ApiError(403, "IllegalOperationError", f"Stack Component `{component['name']}` is part of a stack")
        del self.components[key]

    # ------------------------------------------------------------------ stacks

    def _stack_answer(self, stack: dict, hydrate: bool = True) -> dict:
        answer = {"id": stack["id"], "name": stack["name"], "body": {"user_id": stack["user_id"]}}
        if hydrate:
            answer["metadata"] = {
                "components": {
                    kind: [self._component_answer(self.components[i], False) for i in ids]
                    for kind, ids in stack["components"].items()
                }
            }
        return answer

    def _create_stacks(self, caller: str, body: dict) -> dict:
        if any(item["name"] == body["name"] for item in self.stacks.values()):
            raise ApiError(409, "EntityExistsError", f"Found an existing stack with the name {body['name']}")
        stack = {"id": _new_id(), "name": body["name"], "user_id": caller, "components": body["components"]}
        self.stacks[stack["id"]] = stack
        return self._stack_answer(stack)

    def _put_stacks(self, caller: str, key: str, body: dict) -> dict:
        stack = self._find("stacks", key)
        stack["components"] = body.get("components", stack["components"])
        return self._stack_answer(stack)

    def _delete_stacks(self, caller: str, key: str, _body) -> None:
        del self.stacks[self._find("stacks", key)["id"]]


# ---------------------------------------------------------------------- the fake's own behaviour


def _call(fake: FakeZenml, method: str, path: str, token: str | None = None, **kwargs) -> FakeResponse:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return fake.request(method, f"http://zenml{path}", headers=headers, **kwargs)


@pytest.fixture
def fake() -> FakeZenml:
    server = FakeZenml()
    server.add_user("alice", "alice-pw")
    server.add_user("bob", "bob-pw")
    return server


def test_private_secret_is_hidden_from_the_admin_and_other_users(fake: FakeZenml) -> None:
    alice = fake.token_for("alice")
    created = _call(fake, "POST", "/api/v1/secrets", alice, json={"name": "s", "private": True, "values": {"k": "v"}})
    secret_id = created.json()["id"]
    for other in (fake.token_for("root"), fake.token_for("bob")):
        assert _call(fake, "GET", f"/api/v1/secrets/{secret_id}", other).status_code == 404
        assert _call(fake, "DELETE", f"/api/v1/secrets/{secret_id}", other).status_code == 404
        assert _call(fake, "GET", "/api/v1/secrets", other).json()["items"] == []
    assert _call(fake, "GET", f"/api/v1/secrets/{secret_id}", alice).json()["body"]["values"] == {"k": "v"}


def test_an_account_that_owns_something_cannot_be_deleted(fake: FakeZenml) -> None:
    alice = fake.token_for("alice")
    _call(fake, "POST", "/api/v1/secrets", alice, json={"name": "s", "private": True, "values": {}})
    answer = _call(fake, "DELETE", f"/api/v1/users/{fake.user('alice')['id']}", fake.token_for("root"))
    assert answer.status_code == 403
    assert answer.json()["detail"][0] == "IllegalOperationError"


def test_only_deactivate_and_activate_set_another_accounts_password(fake: FakeZenml) -> None:
    root, user_id = fake.token_for("root"), fake.user("alice")["id"]
    assert _call(fake, "PUT", f"/api/v1/users/{user_id}", root, json={"password": "new"}).status_code == 403
    token = _call(fake, "PUT", f"/api/v1/users/{user_id}/deactivate", root).json()["body"]["activation_token"]
    body = {"activation_token": token, "password": "new"}
    assert _call(fake, "PUT", f"/api/v1/users/{user_id}/activate", json=body).status_code == 200
    assert _call(fake, "POST", "/api/v1/login", data={"username": "alice", "password": "new"}).status_code == 200


def test_secret_references_resolve_as_the_caller(fake: FakeZenml) -> None:
    alice = fake.token_for("alice")
    _call(fake, "POST", "/api/v1/secrets", alice, json={"name": "s", "private": True, "values": {"k": "v"}})
    body = {"name": "c", "type": "experiment_tracker", "flavor": "mlflow", "configuration": {"u": "{{s.k}}"}}
    assert _call(fake, "POST", "/api/v1/components", fake.token_for("bob"), json=body).status_code == 404
    assert _call(fake, "POST", "/api/v1/components", alice, json=body).status_code == 200


def test_only_an_admin_creates_and_deletes_projects(fake: FakeZenml) -> None:
    alice, root = fake.token_for("alice"), fake.token_for("root")
    assert _call(fake, "POST", "/api/v1/projects", alice, json={"name": "alice"}).status_code == 403
    created = _call(fake, "POST", "/api/v1/projects", root, json={"name": "alice"}).json()
    user_id = fake.user("alice")["id"]
    update = {"default_project_id": created["id"]}
    assert _call(fake, "PUT", f"/api/v1/users/{user_id}", root, json=update).status_code == 200
    assert _call(fake, "DELETE", f"/api/v1/projects/{created['id']}", alice).status_code == 403
    assert _call(fake, "DELETE", f"/api/v1/projects/{created['id']}", root).status_code == 200
    assert fake.user("alice")["default_project_id"] is None
