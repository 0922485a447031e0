"""ZenML access control on the deployed server: a cross-user matrix through the REST API and the Python client.

Two developers and one administrator are created through the administrator's REST session; each developer
creates one object of every kind through their own login. Then, for every kind: the other developer's read,
list, update and delete are refused (403/404, absent from lists) and change nothing (re-read as the
administrator), the owner's and the administrator's succeed; the admin-only routes are refused to a
developer. The summary line at the end gives the counts the issue's closing note quotes.

Settings: MLOPS_TEST_ZENML_URL, MLOPS_TEST_ZENML_USERNAME, MLOPS_TEST_ZENML_PASSWORD (stack-env.sh); the
Python client runs in the CI job image (MLOPS_TEST_JOB_IMAGE, default the Molecule scenario's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

REPO = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:6]
ALICE, BOB, CAROL = f"acl-alice-{RUN}", f"acl-bob-{RUN}", f"acl-carol-{RUN}"
REFUSED = (403, 404)
MATRIX: Counter[str] = Counter()


def _setting(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f'{name} is not set: eval "$(tests/integration/stack-env.sh)" after the Molecule default scenario')
    return value


class Api:
    """One user's REST session on the ZenML server."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.base = f"{url.rstrip('/')}/api/v1"
        response = requests.post(f"{self.base}/login", data={"username": username, "password": password}, timeout=20)
        assert response.status_code == 200, f"login of {username}: {response.status_code} {response.text[:200]}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self.name = username

    def call(self, method: str, path: str, body: dict | None = None, **params: object) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", json=body, params=params or None, timeout=30)

    def ok(self, method: str, path: str, body: dict | None = None, **params: object) -> dict:
        response = self.call(method, path, body, **params)
        assert response.ok, f"{self.name}: {method} {path}: {response.status_code} {response.text[:300]}"
        data = response.json() if response.content else {}
        # POST /runs answers [run, created].
        return data[0] if isinstance(data, list) else data

    def ids(self, path: str, **params: object) -> set[str]:
        return {item["id"] for item in self.ok("GET", path, size=1000, **params)["items"]}


@dataclass
class Objects:
    """One developer's objects: kind -> id, and what to send to update each."""

    ids: dict[str, str] = field(default_factory=dict)


# Query parameters DELETE needs.
DELETE_PARAMS = {"schedule": {"soft": False}}
# Collection path, update body, and the field an update changes (to prove a refused one changed nothing).
KINDS = {
    "stack": ("/stacks", {"description": "changed"}, "description"),
    "component": ("/components", {"labels": {"changed": "yes"}}, "labels"),
    "secret": ("/secrets", {"values": {"token": "changed"}}, "values"),
    "service_connector": ("/service_connectors", {"description": "changed"}, "description"),
    "pipeline": ("/pipelines", {"description": "changed"}, "description"),
    "snapshot": ("/pipeline_snapshots", {"description": "changed"}, "description"),
    "run": ("/runs", {"status_reason": "changed"}, "status_reason"),
    "build": ("/pipeline_builds", None, None),
    "schedule": ("/schedules", {"active": True}, "active"),
    "model": ("/models", {"description": "changed"}, "description"),
    "model_version": ("/model_versions", {"description": "changed"}, "description"),
    "artifact": ("/artifacts", {"has_custom_name": False}, "has_custom_name"),
    "artifact_version": ("/artifact_versions", {"add_tags": [f"changed-{RUN}"]}, "tags"),
    "code_repository": ("/code_repositories", {"description": "changed"}, "description"),
    "tag": ("/tags", {"color": "red"}, "color"),
}


def _create_objects(api: Api, project: str, o: Objects) -> None:
    """Fill ``o`` as objects are created, so a failure half-way still cleans up what exists."""
    name = api.name
    orchestrator = api.ok("GET", "/components", type="orchestrator", name="default")["items"][0]["id"]
    o.ids["component"] = api.ok(
        "POST",
        "/components",
        {"name": f"{name}-as", "type": "artifact_store", "flavor": "s3", "configuration": {"path": f"s3://{name}/z"}},
    )["id"]
    o.ids["stack"] = api.ok(
        "POST",
        "/stacks",
        {
            "name": f"{name}-stack",
            "components": {"artifact_store": [o.ids["component"]], "orchestrator": [orchestrator]},
        },
    )["id"]
    o.ids["secret"] = api.ok(
        "POST", "/secrets", {"name": f"{name}-secret", "private": False, "values": {"token": "t"}}
    )["id"]
    o.ids["service_connector"] = api.ok(
        "POST",
        "/service_connectors",
        {
            "name": f"{name}-connector",
            "connector_type": "docker",
            "auth_method": "password",
            "configuration": {"username": name, "password": "pw", "registry": "registry.invalid:5000"},
            "resource_types": ["docker-registry"],
            "resource_id": "registry.invalid:5000",
        },
    )["id"]
    o.ids["pipeline"] = api.ok("POST", "/pipelines", {"name": f"{name}-pipe", "project": project})["id"]
    o.ids["snapshot"] = api.ok(
        "POST",
        "/pipeline_snapshots",
        {
            "project": project,
            "stack": o.ids["stack"],
            "pipeline": o.ids["pipeline"],
            "run_name_template": "run",
            "pipeline_configuration": {"name": f"{name}-pipe"},
            "client_version": "0.98.0",
        },
    )["id"]
    o.ids["run"] = api.ok(
        "POST", "/runs", {"project": project, "name": f"{name}-run", "snapshot": o.ids["snapshot"], "status": "running"}
    )["id"]
    o.ids["build"] = api.ok(
        "POST", "/pipeline_builds", {"project": project, "is_local": True, "contains_code": False, "images": {}}
    )["id"]
    o.ids["schedule"] = api.ok(
        "POST",
        "/schedules",
        {
            "project": project,
            "name": f"{name}-schedule",
            "cron_expression": "0 0 * * *",
            "active": False,
            "orchestrator_id": None,
            "pipeline_id": None,
        },
    )["id"]
    o.ids["model"] = api.ok("POST", "/models", {"project": project, "name": f"{name}-model"})["id"]
    o.ids["model_version"] = api.ok(
        "POST", "/model_versions", {"project": project, "model": o.ids["model"], "name": "v1"}
    )["id"]
    o.ids["artifact"] = api.ok("POST", "/artifacts", {"project": project, "name": f"{name}-artifact"})["id"]
    o.ids["artifact_version"] = api.ok(
        "POST",
        "/artifact_versions",
        {
            "project": project,
            "artifact_id": o.ids["artifact"],
            "version": "1",
            "uri": f"s3://{name}/artifacts/1",
            "type": "DataArtifact",
            "save_type": "manual",
            "materializer": {"module": "zenml.materializers", "attribute": "BuiltInMaterializer", "type": "internal"},
            "data_type": {"module": "builtins", "attribute": "int", "type": "builtin"},
        },
    )["id"]
    o.ids["code_repository"] = api.ok(
        "POST",
        "/code_repositories",
        {
            "project": project,
            "name": f"{name}-code",
            "source": {"module": "repo.Repo", "type": "unknown"},
            "config": {},
        },
    )["id"]
    o.ids["tag"] = api.ok("POST", "/tags", {"name": f"{name}-tag"})["id"]


def _comparable(item: dict) -> dict:
    """What a refused request must not change: the body and metadata minus timestamps.

    A run's configuration carries date/time substitutions computed at every read.
    """
    keep = {}
    for part in ("body", "metadata"):
        keep[part] = {k: v for k, v in (item.get(part) or {}).items() if k not in ("updated", "created")}
    config = keep["metadata"].get("config")
    if isinstance(config, dict):
        keep["metadata"]["config"] = {k: v for k, v in config.items() if k != "substitutions"}
    return keep


def _settings_chosen_by_admins(settings: dict | Api) -> dict:
    """The server settings an administrator sets, without the activity clock every request moves."""
    body = settings.ok("GET", "/settings")["body"] if isinstance(settings, Api) else settings
    return {k: v for k, v in body.items() if k not in ("last_user_activity", "updated")}


def _purge(admin: Api, user: dict) -> None:
    """Delete everything a test user owns (ZenML refuses to delete a user who owns objects), the user, and
    their project."""
    order = ["run", "snapshot", "schedule", "build", "pipeline", "artifact_version", "artifact", "model_version"]
    order += ["model", "code_repository", "tag", "secret", "stack", "component", "service_connector"]
    projects = [item["id"] for item in admin.ok("GET", "/projects", size=1000)["items"]]
    for kind in order:
        path = KINDS[kind][0]
        for project in projects:
            for item in admin.ok("GET", path, user=user["id"], project=project, size=1000)["items"]:
                admin.call("DELETE", f"{path}/{item['id']}", **DELETE_PARAMS.get(kind, {}))
    response = admin.call("DELETE", f"/users/{user['id']}")
    assert response.status_code == 200, f"test user {user['name']} left behind: {response.text[:300]}"
    admin.call("DELETE", f"/projects/{user['name']}")


def _own_project(admin: Api, user: dict) -> str:
    """The project named like the user and made their default, as zenml_tenant does."""
    project = admin.ok("POST", "/projects", {"name": user["name"], "display_name": user["name"]})["id"]
    admin.ok("PUT", f"/users/{user['id']}", {"default_project_id": project})
    return project


@pytest.fixture(scope="module")
def world():
    url = _setting("MLOPS_TEST_ZENML_URL")
    admin = Api(url, _setting("MLOPS_TEST_ZENML_USERNAME"), _setting("MLOPS_TEST_ZENML_PASSWORD"))
    passwords = {name: f"Acl-{uuid.uuid4().hex}" for name in (ALICE, BOB, CAROL)}
    users: dict[str, dict] = {}
    objects: dict[str, Objects] = {}
    try:
        for name, is_admin in ((ALICE, False), (BOB, False), (CAROL, True)):
            body = {"name": name, "password": passwords[name], "is_admin": is_admin}
            users[name] = admin.ok("POST", "/users", body)
        apis = {name: Api(url, name, passwords[name]) for name in users}
        projects = {name: _own_project(admin, users[name]) for name in (ALICE, BOB)}
        for name in (ALICE, BOB):
            objects[name] = Objects()
            _create_objects(apis[name], projects[name], objects[name])
        yield {
            "url": url,
            "admin": admin,
            "api": apis,
            "users": users,
            "objects": objects,
            "passwords": passwords,
            "projects": projects,
        }
    finally:
        for user in users.values():
            _purge(admin, user)


@pytest.fixture(scope="module", autouse=True)
def summary(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    line = (
        f"zenml access matrix: {MATRIX['refused']} cross-user requests refused, {MATRIX['owner']} owner and "
        f"{MATRIX['admin']} administrator requests allowed, {MATRIX['admin_only']} admin-only requests refused, "
        f"{MATRIX['client']} Python-client checks; {MATRIX['unchanged']} refused requests verified to change nothing"
    )
    # Printed past the output capture, so CI logs show it on success too.
    with capture.global_and_fixture_disabled():
        print(f"\n{line}")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_other_developer_is_refused_everything(world, kind):
    path, update, _field = KINDS[kind]
    alice, admin = world["api"][ALICE], world["admin"]
    target = world["objects"][BOB].ids[kind]
    before = _comparable(admin.ok("GET", f"{path}/{target}", hydrate=True))

    assert alice.call("GET", f"{path}/{target}").status_code in REFUSED
    assert target not in alice.ids(path)
    assert target not in alice.ids(path, id=target)
    MATRIX["refused"] += 3
    if update is not None:
        assert alice.call("PUT", f"{path}/{target}", update).status_code in REFUSED
        MATRIX["refused"] += 1
    assert alice.call("DELETE", f"{path}/{target}", **DELETE_PARAMS.get(kind, {})).status_code in REFUSED
    MATRIX["refused"] += 1

    if kind == "service_connector":
        assert alice.call("GET", f"{path}/{target}/client").status_code in REFUSED
        MATRIX["refused"] += 1

    after = _comparable(admin.ok("GET", f"{path}/{target}", hydrate=True))
    assert after == before
    MATRIX["unchanged"] += 1


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_owner_and_administrator_succeed(world, kind):
    path, update, _field = KINDS[kind]
    target = world["objects"][BOB].ids[kind]
    for name, counter in ((BOB, "owner"), (CAROL, "admin")):
        api = world["api"][name]
        assert api.ok("GET", f"{path}/{target}")["id"] == target
        # The project is ignored by lists of objects outside projects (stacks, secrets, tags, ...).
        assert target in api.ids(path, id=target, project=world["projects"][BOB])
        MATRIX[counter] += 2
        if update is not None:
            api.ok("PUT", f"{path}/{target}", update)
            MATRIX[counter] += 1


def test_owner_and_administrator_delete(world):
    bob, carol = world["api"][BOB], world["api"][CAROL]
    for api, counter in ((bob, "owner"), (carol, "admin")):
        tag = bob.ok("POST", "/tags", {"name": f"{BOB}-gone-{api.name}"})["id"]
        assert api.call("DELETE", f"/tags/{tag}").status_code == 200
        assert bob.call("GET", f"/tags/{tag}").status_code == 404
        MATRIX[counter] += 1


def test_secret_values_stay_private(world):
    alice = world["api"][ALICE]
    bob_secret = world["objects"][BOB].ids["secret"]
    listed = alice.ok("GET", "/secrets", size=1000, hydrate=True)["items"]
    assert bob_secret not in {item["id"] for item in listed}
    assert all(item["body"]["user_id"] == world["users"][ALICE]["id"] for item in listed if item["body"])
    MATRIX["refused"] += 1


def test_developer_sees_only_themself_among_users(world):
    alice, bob_id = world["api"][ALICE], world["users"][BOB]["id"]
    assert alice.ids("/users") == {world["users"][ALICE]["id"]}
    assert bob_id not in alice.ids("/users", id=bob_id)
    assert not alice.ids("/users", name=BOB)
    assert alice.call("GET", f"/users/{bob_id}").status_code == 403
    assert alice.call("GET", f"/users/{BOB}").status_code == 403
    assert alice.ok("GET", f"/users/{ALICE}")["name"] == ALICE
    assert alice.ok("GET", "/current-user")["name"] == ALICE
    assert len(world["admin"].ids("/users")) >= 3
    MATRIX["admin_only"] += 5


def test_developer_cannot_manage_users_or_the_server(world):
    alice, admin, users = world["api"][ALICE], world["admin"], world["users"]
    bob_id, alice_id = users[BOB]["id"], users[ALICE]["id"]
    settings_before = admin.ok("GET", "/settings")["body"]
    sneaky = f"acl-sneaky-{RUN}"
    service_account = admin.ok("POST", "/service_accounts", {"name": f"acl-sa-{RUN}", "active": True})
    try:
        refused = [
            alice.call("POST", "/users", {"name": sneaky, "password": "Sneaky-0123456789", "is_admin": True}),
            alice.call("POST", "/users", {"name": sneaky, "password": "Sneaky-0123456789", "is_admin": False}),
            alice.call("PUT", f"/users/{alice_id}", {"is_admin": True}),
            alice.call("PUT", "/current-user", {"is_admin": True}),
            alice.call("PUT", f"/users/{bob_id}", {"is_admin": True}),
            alice.call("PUT", f"/users/{bob_id}", {"full_name": "changed"}),
            alice.call("PUT", f"/users/{bob_id}", {"active": False}),
            alice.call("PUT", f"/users/{bob_id}/deactivate"),
            alice.call("DELETE", f"/users/{bob_id}"),
            alice.call("POST", "/service_accounts", {"name": sneaky, "active": True}),
            alice.call("GET", "/service_accounts"),
            alice.call("POST", f"/service_accounts/{service_account['id']}/api_keys", {"name": sneaky}),
            alice.call("PUT", "/settings", {"server_name": "changed", "enable_analytics": True}),
            alice.call("PUT", "/secrets_operations/backup"),
            alice.call("POST", "/projects", {"name": sneaky}),
        ]
        statuses = [response.status_code for response in refused]
        # PUT /current-user ignores is_admin (200) but must not make anyone an administrator.
        assert statuses[3] in (200, 403)
        assert all(status in (401, 403) for index, status in enumerate(statuses) if index != 3), statuses
        MATRIX["admin_only"] += len(statuses)

        assert admin.call("GET", f"/users/{sneaky}").status_code == 404
        assert admin.call("GET", f"/projects/{sneaky}").status_code == 404
        assert admin.ok("GET", f"/users/{alice_id}")["body"]["is_admin"] is False
        bob_now = admin.ok("GET", f"/users/{bob_id}")
        assert bob_now["body"]["is_admin"] is False and bob_now["body"]["active"] is True
        assert bob_now["body"]["full_name"] == users[BOB]["body"]["full_name"]
        assert not admin.ok("GET", f"/service_accounts/{service_account['id']}/api_keys")["items"]
        assert _settings_chosen_by_admins(admin) == _settings_chosen_by_admins(settings_before)
        MATRIX["unchanged"] += 1
    finally:
        admin.call("DELETE", f"/service_accounts/{service_account['id']}")
        # Only there if a refusal failed: leave the server as it was.
        admin.call("DELETE", f"/users/{sneaky}")
        admin.call("DELETE", f"/projects/{sneaky}")


def test_developer_works_on_their_own_objects(world):
    """What the CLI, the Python client and the dashboard do for a developer keeps working."""
    alice, own = world["api"][ALICE], world["objects"][ALICE].ids
    assert own["stack"] in alice.ids("/stacks")
    assert own["run"] in alice.ids("/runs")
    stack = alice.ok("GET", f"/stacks/{own['stack']}", hydrate=True)
    assert not stack.get("permission_denied")
    assert alice.ids("/flavors")
    assert alice.ids("/projects")
    assert alice.ok("GET", "/settings")["body"]
    alice.ok("PUT", "/settings", {"onboarding_state": {}})
    secret = alice.ok("POST", "/secrets", {"name": f"{ALICE}-tmp", "private": True, "values": {"a": "b"}})
    assert alice.call("DELETE", f"/secrets/{secret['id']}").status_code == 200


def test_dashboard_session_cookie(world):
    """The dashboard authenticates with the login cookie: the guard reads it like ZenML does."""
    url = world["url"].rstrip("/")
    login = requests.post(
        f"{url}/api/v1/login", data={"username": ALICE, "password": world["passwords"][ALICE]}, timeout=20
    )
    assert login.status_code == 200
    cookie = "; ".join(f"{c.name}={c.value}" for c in login.cookies)
    assert cookie, "the login set no cookie"
    headers = {"Cookie": cookie}
    assert requests.get(f"{url}/", timeout=20).status_code == 200
    users = requests.get(f"{url}/api/v1/users", headers=headers, timeout=20)
    assert users.status_code == 200
    assert {u["name"] for u in users.json()["items"]} == {ALICE}
    stacks = requests.get(f"{url}/api/v1/stacks", params={"size": 1000}, headers=headers, timeout=20).json()["items"]
    assert f"{ALICE}-stack" in {s["name"] for s in stacks} and f"{BOB}-stack" not in {s["name"] for s in stacks}
    created = requests.post(f"{url}/api/v1/users", json={"name": f"acl-cookie-{RUN}"}, headers=headers, timeout=20)
    assert created.status_code == 403
    MATRIX["admin_only"] += 2


CLIENT_SCRIPT = textwrap.dedent(
    """
    import json, os
    from zenml.client import Client

    client = Client()
    other = json.loads(os.environ["ACL_OTHER"])
    own = json.loads(os.environ["ACL_OWN"])
    out = {"me": client.active_user.name, "admin": client.active_user.is_admin}
    out["project"] = client.active_project.name
    out["projects"] = sorted(p.name for p in client.list_projects(size=1000).items)
    out["stacks"] = [s.id.hex for s in client.list_stacks(size=1000).items]
    out["components"] = [c.id.hex for c in client.list_stack_components(size=1000).items]
    out["secrets"] = [s.id.hex for s in client.list_secrets(size=1000).items]
    out["runs"] = [r.id.hex for r in client.list_pipeline_runs(size=1000).items]
    out["users"] = [u.name for u in client.list_users(size=1000).items]

    def attempt(key, call):
        try:
            call()
            out[key] = "allowed"
        except Exception as error:
            out[key] = type(error).__name__

    attempt("get_other_stack", lambda: client.get_stack(other["stack"]))
    attempt("get_other_secret", lambda: client.get_secret(other["secret"]))
    attempt("get_other_run", lambda: client.get_pipeline_run(other["run"]))
    attempt("update_other_component", lambda: client.update_stack_component(
        other["component"], component_type="artifact_store", labels={"x": "y"}))
    attempt("delete_other_stack", lambda: client.delete_stack(other["stack"]))
    attempt("create_admin", lambda: client.create_user(os.environ["ACL_SNEAKY"], password="Sneaky-0123456789",
                                                       is_admin=True))
    out["own_stack"] = client.get_stack(own["stack"]).name
    secret = client.create_secret(os.environ["ACL_SNEAKY"] + "-client", values={"a": "b"})
    client.delete_secret(secret.id)
    out["own_secret_roundtrip"] = True
    print("ACL-RESULT " + json.dumps(out))
    """
)


def test_python_client(world):
    image = os.environ.get("MLOPS_TEST_JOB_IMAGE") or yaml.safe_load(
        (REPO / "molecule" / "shared" / "group_vars" / "mlops_servers.yml").read_text(encoding="utf-8")
    ).get("mlops_job_image")
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.skip(f"the Python client runs in the job image {image}, which is not on this host")
    own, other = world["objects"][ALICE].ids, world["objects"][BOB].ids
    env = {
        **os.environ,
        "ZENML_STORE_URL": world["url"],
        "ZENML_STORE_USERNAME": ALICE,
        "ZENML_STORE_PASSWORD": world["passwords"][ALICE],
        "ACL_OWN": json.dumps(own),
        "ACL_OTHER": json.dumps(other),
        "ACL_SNEAKY": f"acl-client-{RUN}",
    }
    # No project given: a new client works in the account's default project, the user's own.
    passed = ["ZENML_STORE_URL", "ZENML_STORE_USERNAME", "ZENML_STORE_PASSWORD"]
    passed += ["ACL_OWN", "ACL_OTHER", "ACL_SNEAKY"]
    command = [docker, "run", "--rm", "-i", "--network", "host", "--entrypoint", "/opt/mlops/bin/python"]
    command += [arg for name in passed for arg in ("-e", name)]
    command += ["-e", "ZENML_CONFIG_PATH=/tmp/zenml-config", "-e", "ZENML_ANALYTICS_OPT_IN=false", image, "-"]
    done = subprocess.run(command, input=CLIENT_SCRIPT, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("ACL-RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    out = json.loads(lines[-1].removeprefix("ACL-RESULT "))

    def hexes(ids: dict) -> set[str]:
        return {uuid.UUID(value).hex for value in ids.values()}

    assert out["me"] == ALICE and out["admin"] is False
    assert out["project"] == ALICE and out["projects"] == sorted([ALICE, "default"])
    assert uuid.UUID(own["stack"]).hex in out["stacks"] and uuid.UUID(own["run"]).hex in out["runs"]
    listed = set(out["stacks"] + out["components"] + out["secrets"] + out["runs"])
    assert not listed & hexes(other)
    assert out["users"] == [ALICE]
    for key in ("get_other_stack", "get_other_secret", "get_other_run", "update_other_component"):
        assert out[key] in ("IllegalOperationError", "KeyError", "EntityExistsError"), (key, out[key])
    assert out["delete_other_stack"] != "allowed" and out["create_admin"] != "allowed"
    assert out["own_stack"] == f"{ALICE}-stack" and out["own_secret_roundtrip"]
    assert world["admin"].ok("GET", f"/stacks/{other['stack']}")["id"] == other["stack"]
    assert world["admin"].call("GET", f"/users/acl-client-{RUN}").status_code == 404
    MATRIX["client"] += 13


def test_projects_are_private(world):
    """Each developer reads their own project and the default one, and creates only in their own."""
    alice, admin = world["api"][ALICE], world["admin"]
    bob_project = world["projects"][BOB]
    default = admin.ok("GET", "/projects/default")["id"]
    assert {item["name"] for item in alice.ok("GET", "/projects", size=1000)["items"]} == {ALICE, "default"}
    assert alice.ok("GET", f"/projects/{world['projects'][ALICE]}")["name"] == ALICE
    MATRIX["owner"] += 2
    pipelines_before = admin.ok("GET", "/pipelines", project=bob_project, size=1000)["total"]
    refused = [
        alice.call("GET", f"/projects/{bob_project}"),
        alice.call("GET", f"/projects/{BOB}"),
        alice.call("PUT", f"/projects/{bob_project}", {"description": "changed"}),
        alice.call("DELETE", f"/projects/{bob_project}"),
        alice.call("PUT", f"/projects/{world['projects'][ALICE]}", {"description": "changed"}),
        alice.call("DELETE", f"/projects/{world['projects'][ALICE]}"),
        alice.call("POST", "/pipelines", {"name": f"{ALICE}-in-bobs", "project": bob_project}),
        alice.call("POST", "/pipelines", {"name": f"{ALICE}-in-default", "project": default}),
        alice.call("POST", "/models", {"name": f"{ALICE}-in-bobs", "project": bob_project}),
    ]
    assert all(response.status_code in REFUSED for response in refused), [r.status_code for r in refused]
    MATRIX["refused"] += len(refused)
    assert not alice.ids("/pipelines", project=bob_project)
    assert admin.ok("GET", "/pipelines", project=bob_project, size=1000)["total"] == pipelines_before
    assert admin.ok("GET", f"/projects/{bob_project}")["name"] == BOB
    MATRIX["unchanged"] += 1


def test_same_names_in_two_students_projects(world):
    """Students run the same starter code: the same pipeline and model names in two projects do not collide."""
    created = {}
    for name in (ALICE, BOB):
        api, project = world["api"][name], world["projects"][name]
        created[name] = api.ok("POST", "/pipelines", {"name": "training_pipeline", "project": project})["id"]
        api.ok("POST", "/models", {"name": "breast-cancer-classifier", "project": project})
    alice = world["api"][ALICE]
    assert alice.ids("/pipelines", name="training_pipeline") == {created[ALICE]}
    MATRIX["owner"] += 5


def test_dashboard_requests_go_to_the_developers_project(world):
    """The open-source dashboard asks for the default project only: a developer gets their own instead."""
    alice, admin, own = world["api"][ALICE], world["admin"], world["objects"][ALICE].ids
    assert own["run"] in alice.ids("/runs")
    assert own["pipeline"] in alice.ids("/pipelines", project="default")
    assert alice.ok("GET", "/projects/default")["name"] == ALICE
    assert alice.ok("GET", "/projects/default/statistics")["runs"] >= 1
    assert own["run"] not in admin.ids("/runs"), "an administrator's default project stays the default one"
    assert own["run"] in admin.ids("/runs", project=ALICE)
    MATRIX["owner"] += 4
    MATRIX["admin"] += 1
