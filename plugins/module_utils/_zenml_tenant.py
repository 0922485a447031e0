# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the zenml_tenant module: a person's ZenML account, project, private secrets, components and stack.

What ZenML 0.98 does that shapes this code:

- Everything a request creates is owned by the account that sends it (the server overwrites the ``user``
  of a request), so secrets, components and the stack are created with the person's own login.
- A private secret is visible only to its owner: the admin gets 404 for it on GET, PUT and DELETE, and it
  is missing from the admin's lists. So are the values behind a component's ``{{secret.key}}``
  references, which the server resolves as the caller when a component is created or updated.
- Without RBAC (the open-source server) any account can read, change and delete any stack and
  component, so the admin reads and removes those directly.
- Deleting an account that owns anything (secrets, components, stacks, pipeline runs, artifacts...) is
  refused, nothing cascades; nobody, not even an admin, can set another account's password. An admin
  can deactivate an account, which returns an activation token, and the token activates it again with a
  new password. That is how a password is reset, and how an account whose password is unknown is
  entered to delete its private secrets.
- Pipelines, runs, artifacts and models live in a project, and their names are unique within it. Each
  person works in a project named like them (their account's default project, created by the admin), so
  two students' pipelines of the same name do not collide. Deleting a project deletes what it holds: a
  person's project is removed with the account only when it is empty.
"""

import re
import secrets as _random
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.onprem.mlops.plugins.module_utils import _zenml_resources as api
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import (
    SECRET_CHANGED_PLACEHOLDER,
    SECRET_PLACEHOLDER,
    Outcome,
    PartialFailure,
    TenantsResult,
    tenants_result,
    user_problems,
    user_resources,
)
from ansible_collections.onprem.mlops.plugins.module_utils.zenml import ZenmlClient, ZenmlModuleError

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_HTTP_URL_RE = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
ARTIFACT_STORE = "artifact_store"
EXPERIMENT_TRACKER = "experiment_tracker"
ORCHESTRATOR = "orchestrator"
# People handled at the same time. Each login costs the server a bcrypt hash, so the run time of a class
# is bound by the server's CPUs; a few requests in flight keep them busy without flooding a small server.
WORKERS = 4
_PRESENT_FIELDS = ("password", "s3_access_key", "s3_secret_key", "s3_bucket", "mlflow_username", "mlflow_password")


@dataclass(frozen=True)
class Component:
    name: str
    type: str
    flavor: str
    configuration: dict


@dataclass(frozen=True)
class Tenant:
    """What one person should have in ZenML."""

    name: str
    is_admin: bool = False
    password: str | None = None
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    components: tuple[Component, ...] = ()

    @property
    def role(self) -> str:
        return role_name(self.is_admin)

    @property
    def stack(self) -> str:
        return user_resources(self.name)["zenml_stack"]


@dataclass
class Current:
    """What the server holds for one person; ``secrets`` is None when they could not be read."""

    user: dict | None = None
    project: dict | None = None
    components: dict[str, dict] = field(default_factory=dict)
    stack: dict | None = None
    secrets: dict[str, dict] | None = None
    # Removal only: the person's other stacks and components under their name prefix.
    other_stacks: list[dict] = field(default_factory=list)
    other_components: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One write that brings a person's resources to the desired state."""

    action: str
    kind: str
    name: str
    data: Any = None

    def describe(self) -> str:
        return f"{self.action} {self.kind} {self.name}"


def role_name(is_admin: bool) -> str:
    return "administrator" if is_admin else "developer"


def names(user: str) -> dict[str, str]:
    """The names of a person's ZenML resources, by the keys this module uses for them."""
    resource = user_resources(user)
    return {
        "s3_secret": resource["zenml_s3_secret"],
        "mlflow_secret": resource["zenml_mlflow_secret"],
        ARTIFACT_STORE: resource["zenml_artifact_store"],
        EXPERIMENT_TRACKER: resource["zenml_experiment_tracker"],
        ORCHESTRATOR: resource["zenml_orchestrator"],
        "stack": resource["zenml_stack"],
        "project": resource["zenml_project"],
    }


def artifact_path(bucket: str, prefix: str) -> str:
    prefix = prefix.strip("/")
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def tenant(entry: dict, params: dict) -> Tenant:
    """The desired state of one entry of ``users`` (only the name and password matter for removal)."""
    name = entry["name"]
    if params["state"] == "absent":
        return Tenant(name=name, password=entry.get("password"))
    resource = names(name)
    secret_values = {
        resource["s3_secret"]: {
            "aws_access_key_id": entry["s3_access_key"],
            "aws_secret_access_key": entry["s3_secret_key"],
        },
        resource["mlflow_secret"]: {"username": entry["mlflow_username"], "password": entry["mlflow_password"]},
    }
    mlflow_secret = resource["mlflow_secret"]
    components = (
        Component(
            resource[ARTIFACT_STORE],
            ARTIFACT_STORE,
            "s3",
            {
                "path": artifact_path(entry["s3_bucket"], params["artifact_path_prefix"] or ""),
                "authentication_secret": resource["s3_secret"],
                "client_kwargs": {"endpoint_url": params["s3_endpoint_url"]},
            },
        ),
        Component(
            resource[EXPERIMENT_TRACKER],
            EXPERIMENT_TRACKER,
            "mlflow",
            {
                "tracking_uri": params["mlflow_tracking_uri"],
                "tracking_username": f"{{{{{mlflow_secret}.username}}}}",
                "tracking_password": f"{{{{{mlflow_secret}.password}}}}",
            },
        ),
        Component(resource[ORCHESTRATOR], ORCHESTRATOR, "local", {}),
    )
    return Tenant(
        name=name,
        is_admin=entry["role"] == "administrator",
        password=entry["password"],
        secrets=secret_values,
        components=components,
    )


def validate(params: dict) -> list[Tenant]:
    """Check every entry before anything changes; return the desired state of each person."""
    entries = params["users"] or []
    problems = user_problems(entries, params["admin_username"], role_required=params["state"] == "present")
    if params["state"] == "present":
        for index, entry in enumerate(entries):
            problems.extend(_present_problems(f"users[{index}] ({entry['name']})", entry))
    if params["state"] == "present":
        problems.extend(_option_problems(params))
    if problems:
        raise ZenmlModuleError("; ".join(problems) + "; nothing was changed")
    return [tenant(entry, params) for entry in entries]


def _present_problems(label: str, entry: dict) -> list[str]:
    problems = [f"{label}: {key} is required with state=present" for key in _PRESENT_FIELDS if not entry.get(key)]
    bucket = entry.get("s3_bucket")
    if bucket and not _BUCKET_RE.match(bucket):
        problems.append(f"{label}: s3_bucket {bucket!r} is not a valid S3 bucket name")
    return problems


def _option_problems(params: dict) -> list[str]:
    problems = []
    if not _HTTP_URL_RE.match(params["s3_endpoint_url"] or ""):
        problems.append(f"s3_endpoint_url {params['s3_endpoint_url']!r} must be http://host[:port] or https://...")
    if not params["mlflow_tracking_uri"]:
        problems.append("mlflow_tracking_uri must not be empty")
    return problems


# ---------------------------------------------------------------------------------------------- reading


def read_resources(client: ZenmlClient, name: str, current: Current) -> None:
    """Fill in the components and stack named like the person's (whoever owns them), read as the admin."""
    resource = names(name)
    wanted = {kind: resource[kind] for kind in (ARTIFACT_STORE, EXPERIMENT_TRACKER, ORCHESTRATOR)}
    current.components = api.read_components(client, f"{name}-", wanted)
    current.stack = api.read_stack(client, resource["stack"])


def read_secrets(client: ZenmlClient, token: str, user: dict) -> dict[str, dict]:
    """The person's private secrets of the module, with their values, read with the person's own login."""
    resource = names(user["name"])
    return api.read_private_secrets(client, token, user, {resource["s3_secret"], resource["mlflow_secret"]})


# --------------------------------------------------------------------------------------------- planning


def plan_account(spec: Tenant, user: dict | None, login_ok: bool, update_password: str) -> list[Step]:
    """Writes to the account itself: create it, set its role, activate it, reset its password."""
    if user is None:
        return [Step("create", "user", spec.name)]
    steps = []
    if user["is_admin"] != spec.is_admin:
        steps.append(Step("update", "user", spec.name))
    if not user["active"]:
        # Activation takes a password anyway; with on_create the current one is kept.
        steps.append(Step("activate", "user", spec.name, {"set_password": update_password == "always"}))
    elif not login_ok:
        if update_password != "always":
            raise ZenmlModuleError(
                f"ZenML refuses the login of {spec.name} with the given password, and update_password=on_create "
                "does not change it; give the current password or use update_password=always to reset it"
            )
        steps.append(Step("reset_password", "user", spec.name))
    return steps


def plan_project(spec: Tenant, user: dict | None, project: dict | None) -> list[Step]:
    """The person's project, made by the admin, and the account's default project pointing at it."""
    name = names(spec.name)["project"]
    steps = [] if project is not None else [Step("create", "project", name)]
    if user is None or project is None or user.get("default_project_id") != project["id"]:
        steps.append(Step("set_default", "project", name))
    return steps


def _check_owner(kind: str, item: dict | None, user_id: str | None) -> None:
    if item is not None and (user_id is None or item["user_id"] != user_id):
        owner = f"another account (user id {item['user_id']})" if item["user_id"] else "nobody (a default resource)"
        raise ZenmlModuleError(
            f"the {kind} {item['name']} already exists and belongs to {owner}, not to this user; rename or remove it"
        )


def plan_resources(spec: Tenant, user_id: str | None, current: Current) -> list[Step]:
    """Writes to the secrets, components and stack, made with the person's login, in dependency order."""
    for item in current.components.values():
        _check_owner("component", item, user_id)
    _check_owner("stack", current.stack, user_id)
    steps = []
    for secret_name, values in spec.secrets.items():
        existing = (current.secrets or {}).get(secret_name)
        if current.secrets is None and user_id is not None:
            # Check mode before a password reset: the private secrets cannot be read yet.
            steps.append(Step("write", "secret", secret_name, values))
        elif existing is None:
            steps.append(Step("create", "secret", secret_name, values))
        elif existing["values"] != values:
            steps.append(Step("update", "secret", secret_name, values))
    for component in spec.components:
        existing = current.components.get(component.type)
        if existing is None:
            steps.append(Step("create", "component", component.name, component))
        elif existing["flavor"] != component.flavor:
            raise ZenmlModuleError(
                f"the {component.type} {component.name} has flavor {existing['flavor']}, not {component.flavor}; "
                "ZenML cannot change a flavor: remove the user's resources with state=absent, or the component "
                "by hand, and run again"
            )
        elif existing["configuration"] != component.configuration:
            steps.append(Step("update", "component", component.name, component))
    if current.stack is None:
        steps.append(Step("create", "stack", spec.stack))
    elif not _stack_matches(spec, current):
        steps.append(Step("update", "stack", spec.stack))
    return steps


def _stack_matches(spec: Tenant, current: Current) -> bool:
    if current.stack is None:
        return False
    wanted = {}
    for component in spec.components:
        existing = current.components.get(component.type)
        if existing is None:
            return False
        wanted[component.type] = [existing["id"]]
    return current.stack["components"] == wanted


def plan_removal(spec: Tenant, current: Current) -> list[Step]:
    """Deletes in dependency order: stack, components, secrets, then the account."""
    user = current.user
    if user is None:
        return []
    # Stacks before the components they use.
    steps = [Step("delete", "stack", item["name"], item["id"]) for item in current.other_stacks]
    if current.stack is not None and current.stack["user_id"] == user["id"]:
        steps.append(Step("delete", "stack", current.stack["name"], current.stack["id"]))
    owned = [item for item in current.components.values() if item["user_id"] == user["id"]]
    owned.extend(current.other_components)
    steps.extend(Step("delete", "component", item["name"], item["id"]) for item in owned)
    if current.secrets is not None:
        steps.extend(Step("delete", "secret", name, item["id"]) for name, item in sorted(current.secrets.items()))
    elif user["active"] or steps:
        # Only the owner can see a private secret: enter the account to find and delete them.
        steps.append(Step("take_over", "user", spec.name))
    steps.append(Step("delete", "user", spec.name, user["id"]))
    if current.project is not None:
        # Only once the account is gone, and only when empty (see _delete_project).
        steps.append(Step("delete", "project", current.project["name"], current.project["id"]))
    return steps


# ------------------------------------------------------------------------------------------ diff views


def current_view(current: Current) -> dict:
    """The person's resources as the server holds them, without any secret value (diff ``before``)."""
    if current.user is None:
        return {}
    ids = {item["id"]: item["name"] for item in current.components.values()}
    project = current.project
    view: dict = {
        "role": role_name(current.user["is_admin"]),
        "active": current.user["active"],
        "project": project["name"] if project else None,
        "default_project": bool(project) and current.user.get("default_project_id") == project["id"],
        "components": {
            item["name"]: {"type": kind, "flavor": item["flavor"], "configuration": item["configuration"]}
            for kind, item in sorted(current.components.items())
            if item["user_id"] == current.user["id"]
        },
        "stack": None,
    }
    if current.stack is not None and current.stack["user_id"] == current.user["id"]:
        view["stack"] = {
            "name": current.stack["name"],
            "components": {
                kind: [ids.get(i, i) for i in members] for kind, members in current.stack["components"].items()
            },
        }
    if current.other_stacks or current.other_components:
        view["other"] = {
            "stacks": [item["name"] for item in current.other_stacks],
            "components": [item["name"] for item in current.other_components],
        }
    if current.secrets is None:
        view["secrets"] = "<private to the user, not read>"
    else:
        view["secrets"] = {
            name: {"keys": sorted(item["values"]), "values": SECRET_PLACEHOLDER}
            for name, item in sorted(current.secrets.items())
        }
    return view


def desired_view(spec: Tenant, steps: list[Step]) -> dict:
    """The person's resources after the run, without any secret value (diff ``after``)."""
    rewritten = {step.name for step in steps if step.kind == "secret" and step.action != "create"}
    return {
        "role": spec.role,
        "active": True,
        "project": names(spec.name)["project"],
        "default_project": True,
        "components": {
            item.name: {"type": item.type, "flavor": item.flavor, "configuration": item.configuration}
            for item in sorted(spec.components, key=lambda item: item.type)
        },
        "stack": {"name": spec.stack, "components": {item.type: [item.name] for item in spec.components}},
        "secrets": {
            name: {
                "keys": sorted(values),
                "values": SECRET_CHANGED_PLACEHOLDER if name in rewritten else SECRET_PLACEHOLDER,
            }
            for name, values in sorted(spec.secrets.items())
        },
    }


# ------------------------------------------------------------------------------------------- applying


@dataclass
class Run:
    """A person's run through the server: the login to use and the ids found or created so far."""

    client: ZenmlClient
    spec: Tenant
    current: Current
    token: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.current.user["id"] if self.current.user else None


def _apply_account(run: Run, step: Step) -> None:
    client, spec = run.client, run.spec
    if step.action == "create":
        run.current.user = api.create_user(client, spec.name, spec.password, spec.is_admin)
    elif step.action == "update":
        api.set_admin(client, run.user_id, spec.is_admin)
    elif step.action == "activate":
        api.reactivate(client, run.user_id, spec.password if step.data["set_password"] else None)
    elif step.action == "reset_password":
        api.reactivate(client, run.user_id, spec.password)


def _login_after_account_steps(run: Run, steps: list[Step]) -> None:
    run.token = run.client.login(run.spec.name, run.spec.password)
    if run.token is not None:
        return
    if any(step.action == "activate" for step in steps):
        # Leave the account deactivated, as it was found, rather than active with a password nobody knows.
        api.deactivate(run.client, run.user_id)
        raise ZenmlModuleError(
            f"ZenML refuses the login of {run.spec.name} with the given password once the deactivated account "
            "is activated again (it was left deactivated); use update_password=always to set the password"
        )
    raise ZenmlModuleError(f"ZenML refuses the login of {run.spec.name} right after setting its password")


def _apply_secret(run: Run, step: Step) -> None:
    secrets = run.current.secrets if run.current.secrets is not None else {}
    existing = secrets.get(step.name)
    if existing is None:
        secrets[step.name] = {"id": api.create_secret(run.client, run.token, step.name, step.data), "values": step.data}
    else:
        api.update_secret(run.client, run.token, existing["id"], step.data)
    run.current.secrets = secrets


def _apply_component(run: Run, step: Step) -> None:
    component: Component = step.data
    existing = run.current.components.get(component.type)
    if existing is None:
        run.current.components[component.type] = api.create_component(
            run.client, run.token, component.name, component.type, component.flavor, component.configuration
        )
    else:
        api.update_component(run.client, run.token, existing["id"], component.configuration)


def _apply_stack(run: Run, step: Step) -> None:
    members = {item.type: [run.current.components[item.type]["id"]] for item in run.spec.components}
    if run.current.stack is None:
        run.current.stack = api.create_stack(run.client, run.token, step.name, members)
    else:
        api.update_stack(run.client, run.token, run.current.stack["id"], members)


def _apply_project(run: Run, step: Step) -> None:
    if step.action == "create":
        run.current.project = api.create_project(run.client, step.name)
    else:
        api.set_default_project(run.client, run.user_id, run.current.project["id"])
        run.current.user = {**run.current.user, "default_project_id": run.current.project["id"]}


_APPLY_RESOURCE = {"secret": _apply_secret, "component": _apply_component, "stack": _apply_stack}


def ensure_present(client: ZenmlClient, spec: Tenant, update_password: str, check_mode: bool) -> Outcome:
    """Bring one person's account and resources to the desired state; return the per-user result."""
    project = api.read_project(client, names(spec.name)["project"])
    run = Run(client, spec, Current(user=api.read_user(client, spec.name), project=project))
    user = run.current.user
    if user is not None and user["active"]:
        run.token = client.login(spec.name, spec.password)
    account_steps = plan_account(spec, user, run.token is not None, update_password)
    if not check_mode:
        for step in account_steps:
            _apply_account(run, step)
        if run.token is None:
            _login_after_account_steps(run, account_steps)
    project_steps = plan_project(spec, run.current.user, project)
    if not check_mode:
        for step in project_steps:
            _apply_project(run, step)
    read_resources(client, spec.name, run.current)
    if run.token is not None:
        run.current.secrets = read_secrets(client, run.token, run.current.user)
    before = current_view(Current(user, project, run.current.components, run.current.stack, run.current.secrets))
    resource_steps = plan_resources(spec, run.user_id, run.current)
    if not check_mode:
        for step in resource_steps:
            _APPLY_RESOURCE[step.kind](run, step)
    steps = account_steps + project_steps + resource_steps
    password_changed = any(step.action == "reset_password" for step in steps)
    after = desired_view(spec, steps)
    if password_changed:
        before, after = {**before, "password": SECRET_PLACEHOLDER}, {**after, "password": SECRET_CHANGED_PLACEHOLDER}
    return Outcome(_present_result(run, steps, password_changed), before, after)


def _ref(item: dict | None, name: str) -> dict:
    return {"name": name, "id": item["id"] if item else None}


def _present_result(run: Run, steps: list[Step], password_changed: bool) -> dict:
    resource = names(run.spec.name)
    components, secrets = run.current.components, run.current.secrets or {}
    return {
        "name": run.spec.name,
        "state": "present",
        "changed": bool(steps),
        "role": run.spec.role,
        "password_changed": password_changed,
        "user": _ref(run.current.user, run.spec.name),
        "project": _ref(run.current.project, resource["project"]),
        "stack": _ref(run.current.stack, resource["stack"]),
        "components": {
            kind: _ref(components.get(kind), resource[kind])
            for kind in (ARTIFACT_STORE, EXPERIMENT_TRACKER, ORCHESTRATOR)
        },
        "secrets": {
            purpose: _ref(secrets.get(resource[f"{purpose}_secret"]), resource[f"{purpose}_secret"])
            for purpose in ("s3", "mlflow")
        },
        "actions": [step.describe() for step in steps],
    }


def remove(client: ZenmlClient, spec: Tenant, check_mode: bool) -> Outcome:
    """Delete one person's stack, components, private secrets and account; return the per-user result."""
    current = Current(user=api.read_user(client, spec.name))
    if current.user is None:
        return Outcome(_absent_result(spec, [], "absent", []))
    current.project = api.read_project(client, names(spec.name)["project"])
    read_resources(client, spec.name, current)
    _read_other_owned(client, spec.name, current)
    token = client.login(spec.name, spec.password) if spec.password and current.user["active"] else None
    if token is not None:
        current.secrets = read_secrets(client, token, current.user)
    before = current_view(current)
    steps = plan_removal(spec, current)
    if check_mode:
        return Outcome(_absent_result(spec, steps, "deleted", []), before)
    account, done, warnings = _apply_removal(client, spec, current, steps, token)
    return Outcome(_absent_result(spec, done, account, warnings), before)


def _read_other_owned(client: ZenmlClient, name: str, current: Current) -> None:
    known = {item["id"] for item in current.components.values()}
    if current.stack is not None:
        known.add(current.stack["id"])
    stacks, components = api.read_owned(client, f"{name}-", current.user["id"])
    current.other_stacks = sorted((item for item in stacks if item["id"] not in known), key=lambda item: item["name"])
    current.other_components = sorted(
        (item for item in components if item["id"] not in known), key=lambda item: item["name"]
    )


def _apply_removal(
    client: ZenmlClient, spec: Tenant, current: Current, steps: list[Step], token: str | None
) -> tuple[str, list[Step], list[str]]:
    done: list[Step] = []
    for step in steps:
        if step.action == "take_over":
            done.append(step)
            done.extend(_take_over(client, spec, current.user))
        elif step.kind not in ("user", "project"):
            api.delete(client, f"{step.kind}s", step.data, token if step.kind == "secret" else None)
            done.append(step)
    entered = any(step.action == "take_over" for step in done)
    account, done, warnings = _delete_account(client, spec, current, done, entered)
    if account == "deleted" and current.project is not None:
        warnings.extend(_delete_project(client, current.project, done))
    return account, done, warnings


def _delete_project(client: ZenmlClient, project: dict, done: list[Step]) -> list[str]:
    """Delete the person's project when it holds nothing (ZenML would delete its contents with it)."""
    contents = api.project_contents(client, project["id"])
    if contents:
        return [
            f"ZenML keeps the project {project['name']} because it still holds {', '.join(contents)} (created by "
            "an administrator); delete them, or the project, by hand"
        ]
    api.delete(client, "projects", project["id"])
    done.append(Step("delete", "project", project["name"], project["id"]))
    return []


def _take_over(client: ZenmlClient, spec: Tenant, user: dict) -> list[Step]:
    """Enter the account with a throw-away password and delete the module's private secrets in it."""
    password = _random.token_urlsafe(24)
    api.reactivate(client, user["id"], password)
    token = client.login(spec.name, password)
    deleted = []
    for name, item in sorted(read_secrets(client, token, user).items()):
        api.delete(client, "secrets", item["id"], token)
        deleted.append(Step("delete", "secret", name, item["id"]))
    return deleted


def _delete_account(
    client: ZenmlClient, spec: Tenant, current: Current, done: list[Step], entered: bool
) -> tuple[str, list[Step], list[str]]:
    user = current.user
    if api.delete_user(client, user["id"]):
        done.append(Step("delete", "user", spec.name, user["id"]))
        return "deleted", done, []
    if user["active"] or entered:
        api.deactivate(client, user["id"])
        done.append(Step("deactivate", "user", spec.name))
    warning = (
        f"ZenML keeps the account {spec.name} because it still owns other resources (pipeline runs, artifacts, "
        "models or secrets of its own); it is deactivated and cannot log in. Delete those resources and run "
        "again to remove it."
    )
    return "deactivated", done, [warning]


def _absent_result(spec: Tenant, steps: list[Step], account: str, warnings: list[str]) -> dict:
    return {
        "name": spec.name,
        "state": "absent",
        "changed": bool(steps),
        "account": account,
        "actions": [step.describe() for step in steps],
        "warnings": warnings,
    }


def manage_all(
    client: ZenmlClient, tenants: list[Tenant], params: dict, check_mode: bool
) -> tuple[list[Outcome], list[tuple[str, Exception]]]:
    """Handle every person, a few at a time; the outcomes in the order of ``tenants``, and the failures.

    People share nothing on the server (each has their own names), so one failure does not stop the others.
    """

    def handle(spec: Tenant) -> Outcome:
        if params["state"] == "present":
            return ensure_present(client, spec, params["update_password"], check_mode)
        return remove(client, spec, check_mode)

    with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(tenants)))) as pool:
        futures = [pool.submit(handle, spec) for spec in tenants]
    outcomes, failures = [], []
    for spec, future in zip(tenants, futures, strict=True):
        error = future.exception()
        if error is None:
            outcomes.append(future.result())
        else:
            failures.append((spec.name, error))
    return outcomes, failures


def ensure_tenants(client: ZenmlClient, params: dict, check_mode: bool) -> TenantsResult:
    """The tenant modules' contract (``_tenant.EnsureTenants``) for ZenML accounts and stacks.

    Raises ``PartialFailure`` with the result of the people that went through when anyone failed.
    """
    outcomes, failures = manage_all(client, validate(params), params, check_mode)
    result = tenants_result(outcomes)
    if failures:
        raise PartialFailure(result, failures)
    return result
