# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ZenML 0.98's users, projects, private secrets, stack components and stacks, one or two REST calls each.

Answers are reduced to small dicts (``id``, ``name``, the owner's ``user_id`` and what the modules compare).
Calls without a token are made as the admin; a token makes them as that account, which then owns what it
creates and alone sees its private secrets.
"""

from ansible_collections.onprem.mlops.plugins.module_utils.zenml import ZenmlApiError, ZenmlClient

# The start of ZenML's message when it refuses to delete an account that owns resources.
_OWNS_RESOURCES = "The user account has already been used to create other resources"
# What a project holds that removing a person must not delete with it (deleting a project cascades).
PROJECT_CONTENTS = ("pipelines", "runs", "artifacts", "models", "pipeline_snapshots", "code_repositories")


def user_from(answer: dict) -> dict:
    body = answer.get("body") or {}
    return {
        "id": answer["id"],
        "name": answer["name"],
        "is_admin": bool(body.get("is_admin")),
        "active": bool(body.get("active")),
        "default_project_id": body.get("default_project_id"),
    }


def _owner(answer: dict) -> str | None:
    return (answer.get("body") or {}).get("user_id")


def component_from(answer: dict) -> dict:
    body = answer.get("body") or {}
    return {
        "id": answer["id"],
        "name": answer["name"],
        "type": body.get("type"),
        "flavor": body.get("flavor_name"),
        "user_id": _owner(answer),
        "configuration": (answer.get("metadata") or {}).get("configuration") or {},
    }


def stack_from(answer: dict) -> dict:
    components = (answer.get("metadata") or {}).get("components") or {}
    return {
        "id": answer["id"],
        "name": answer["name"],
        "user_id": _owner(answer),
        "components": {kind: sorted(item["id"] for item in items) for kind, items in components.items() if items},
    }


# ---------------------------------------------------------------------------------------------- reading


def read_user(client: ZenmlClient, name: str) -> dict | None:
    answer = client.get_or_none(f"/users/{name}", hydrate="false")
    return user_from(answer) if answer else None


def read_project(client: ZenmlClient, name: str) -> dict | None:
    answer = client.get_or_none(f"/projects/{name}", hydrate="false")
    return {"id": answer["id"], "name": answer["name"]} if answer else None


def project_contents(client: ZenmlClient, project_id: str) -> list[str]:
    """What the project still holds, as ``"3 runs"``; empty when nothing (read as the admin: everyone's)."""
    found = []
    for kind in PROJECT_CONTENTS:
        total = client.request("GET", f"/{kind}", params={"project": project_id, "size": 1}).get("total", 0)
        if total:
            found.append(f"{total} {kind.replace('_', ' ')}")
    return found


def read_components(client: ZenmlClient, prefix: str, wanted: dict[str, str]) -> dict[str, dict]:
    """The components named ``wanted[type]``, by type, whoever owns them (names are unique per type)."""
    found = map(component_from, client.list_all("/components", name=f"startswith:{prefix}", hydrate="true"))
    return {item["type"]: item for item in found if wanted.get(item["type"]) == item["name"]}


def read_owned(client: ZenmlClient, prefix: str, user_id: str) -> tuple[list[dict], list[dict]]:
    """Every stack and component named ``<prefix>...`` that the account owns, such as the ones a person
    registers for the hybrid scenario; removing the person removes them too."""
    stacks = map(stack_from, client.list_all("/stacks", name=f"startswith:{prefix}", hydrate="true"))
    components = map(component_from, client.list_all("/components", name=f"startswith:{prefix}", hydrate="true"))
    return (
        [item for item in stacks if item["user_id"] == user_id],
        [item for item in components if item["user_id"] == user_id],
    )


def read_stack(client: ZenmlClient, name: str) -> dict | None:
    found = [item for item in client.list_all("/stacks", name=name, hydrate="true") if item["name"] == name]
    return stack_from(found[0]) if found else None


def read_private_secrets(client: ZenmlClient, token: str, user: dict, wanted: set[str]) -> dict[str, dict]:
    """The account's own private secrets named in ``wanted``, with their values, as ``{name: {id, values}}``.

    Lists leave the values out, so each secret is read once more.
    """
    found = client.list_all("/secrets", token, name=f"startswith:{user['name']}-", private="true")
    result = {}
    for item in found:
        body = item.get("body") or {}
        if item["name"] in wanted and body.get("private") and body.get("user_id") == user["id"]:
            full = client.request("GET", f"/secrets/{item['id']}", token)
            result[item["name"]] = {"id": item["id"], "values": dict((full.get("body") or {}).get("values") or {})}
    return result


# ---------------------------------------------------------------------------------------------- writing


def create_user(client: ZenmlClient, name: str, password: str, is_admin: bool) -> dict:
    body = {"name": name, "password": password, "is_admin": is_admin, "active": True}
    return user_from(client.request("POST", "/users", body=body))


def set_admin(client: ZenmlClient, user_id: str, is_admin: bool) -> None:
    client.request("PUT", f"/users/{user_id}", body={"is_admin": is_admin})


def create_project(client: ZenmlClient, name: str) -> dict:
    body = {"name": name, "display_name": name, "description": f"{name}'s pipelines, runs, artifacts and models"}
    answer = client.request("POST", "/projects", body=body)
    return {"id": answer["id"], "name": answer["name"]}


def set_default_project(client: ZenmlClient, user_id: str, project_id: str) -> None:
    """The project ZenML clients of the account work in when none is set locally."""
    client.request("PUT", f"/users/{user_id}", body={"default_project_id": project_id})


def deactivate(client: ZenmlClient, user_id: str) -> str:
    """Deactivate an account; the activation token ZenML returns."""
    answer = client.request("PUT", f"/users/{user_id}/deactivate")
    return (answer.get("body") or {}).get("activation_token")


def reactivate(client: ZenmlClient, user_id: str, password: str | None) -> None:
    """Deactivate and activate an account again, with ``password`` if given (else the current one stays).

    Nobody can set another account's password in ZenML: this is the admin's only way.
    """
    activation = {"activation_token": deactivate(client, user_id)}
    if password is not None:
        activation["password"] = password
    client.request("PUT", f"/users/{user_id}/activate", body=activation, anonymous=True)


def delete_user(client: ZenmlClient, user_id: str) -> bool:
    """Delete an account; False when ZenML keeps it because it still owns resources."""
    try:
        client.request("DELETE", f"/users/{user_id}")
    except ZenmlApiError as exc:
        if exc.kind == "IllegalOperationError" and exc.detail.startswith(_OWNS_RESOURCES):
            return False
        raise
    return True


def create_secret(client: ZenmlClient, token: str, name: str, values: dict) -> str:
    """Create a private secret of the token's account; its id."""
    return client.request("POST", "/secrets", token, body={"name": name, "private": True, "values": values})["id"]


def update_secret(client: ZenmlClient, token: str, secret_id: str, values: dict) -> None:
    """Replace the secret's values (keys left out are removed)."""
    client.request("PUT", f"/secrets/{secret_id}", token, body={"values": values})


def create_component(client: ZenmlClient, token: str, name: str, kind: str, flavor: str, configuration: dict) -> dict:
    body = {"name": name, "type": kind, "flavor": flavor, "configuration": configuration}
    return component_from(client.request("POST", "/components", token, body=body))


def update_component(client: ZenmlClient, token: str, component_id: str, configuration: dict) -> None:
    """Replace the component's configuration (``{{secret.key}}`` references resolve as the token's account)."""
    client.request("PUT", f"/components/{component_id}", token, body={"configuration": configuration})


def create_stack(client: ZenmlClient, token: str, name: str, members: dict[str, list[str]]) -> dict:
    return stack_from(client.request("POST", "/stacks", token, body={"name": name, "components": members}))


def update_stack(client: ZenmlClient, token: str, stack_id: str, members: dict[str, list[str]]) -> None:
    client.request("PUT", f"/stacks/{stack_id}", token, body={"components": members})


def delete(client: ZenmlClient, kind: str, resource_id: str, token: str | None = None) -> None:
    """Delete a ``secrets``, ``components``, ``stacks`` or ``projects`` resource."""
    client.request("DELETE", f"/{kind}/{resource_id}", token)
