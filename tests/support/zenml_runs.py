"""A ZenML pipeline run made through the REST API, as the SDK makes one (pipeline, snapshot, run)."""

from __future__ import annotations

import requests


def create_pipeline_run(session: requests.Session, base: str, user: str, created: list[str] | None = None) -> None:
    """``<user>-run`` of ``<user>-pipeline`` in the user's own project (``base``: the API's URL). ``created``
    collects the paths of what was made (``/pipelines/<id>``, ...) as it is made, for a clean-up."""
    created = [] if created is None else created

    def post(path: str, body: dict) -> dict:
        response = session.post(f"{base}{path}", json=body, timeout=30)
        assert response.ok, f"POST {path}: {response.status_code} {response.text[:300]}"
        # POST /runs answers [run, created], as ZenML's get-or-create does.
        item = response.json()[0] if path == "/runs" else response.json()
        created.append(f"{path}/{item['id']}")
        return item

    project = session.get(f"{base}/projects/{user}", timeout=30).json()["id"]
    stacks = session.get(f"{base}/stacks", params={"name": "default"}, timeout=30).json()["items"]
    pipeline = post("/pipelines", {"name": f"{user}-pipeline", "project": project})["id"]
    snapshot = post(
        "/pipeline_snapshots",
        {
            "project": project,
            "stack": stacks[0]["id"],
            "pipeline": pipeline,
            "run_name_template": "run",
            "pipeline_configuration": {"name": f"{user}-pipeline"},
            "client_version": "0.98.0",
        },
    )["id"]
    post("/runs", {"project": project, "name": f"{user}-run", "snapshot": snapshot, "status": "running"})
