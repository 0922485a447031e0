"""Independent clients of the deployed services, as a user of the server would use them."""

from __future__ import annotations

import pymysql
import requests
import urllib3
from minio import Minio


def tls_ca(stack_vars: dict) -> str | None:
    """The CA file a person's clients verify the server with, or None when the stack runs without TLS."""
    return stack_vars.get("mlops_test_ca_file") or None


def https_client(ca_file: str) -> urllib3.PoolManager:
    """An HTTP client for the MinIO SDK that verifies the front door's certificate against ``ca_file``."""
    return urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=ca_file, timeout=urllib3.Timeout(30))


def mysql_connect(stack_vars: dict, user: str, password: str, database: str | None = None):
    ca = tls_ca(stack_vars)
    return pymysql.connect(
        host=stack_vars["mlops_connect_address"],
        port=int(stack_vars["database_port"]),
        user=user,
        password=password,
        database=database,
        connect_timeout=5,
        ssl={"ca": ca} if ca else None,
    )


def query(stack_vars: dict, user: str, password: str, sql: str, args: tuple = (), database: str | None = None) -> list:
    """Run one statement as ``user`` and return its rows (committed)."""
    with mysql_connect(stack_vars, user, password, database) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        rows = list(cursor.fetchall())
        connection.commit()
    return rows


def s3_client(stack_vars: dict, access_key: str, secret_key: str) -> Minio:
    endpoint = f"{stack_vars['mlops_connect_address']}:{stack_vars['minio_api_port']}"
    ca = tls_ca(stack_vars)
    if ca:
        return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=True, http_client=https_client(ca))
    return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False)


def zenml_url(stack_vars: dict) -> str:
    scheme = "https" if tls_ca(stack_vars) else "http"
    return f"{scheme}://{stack_vars['mlops_connect_address']}:{stack_vars['zenml_server_port']}"


def zenml_login(stack_vars: dict, username: str, password: str) -> requests.Response:
    return requests.post(
        f"{zenml_url(stack_vars)}/api/v1/login",
        data={"username": username, "password": password},
        timeout=10,
        verify=tls_ca(stack_vars) or True,
    )


class ZenMLSession:
    """A logged-in REST session on the ZenML server."""

    def __init__(self, stack_vars: dict, username: str, password: str) -> None:
        response = zenml_login(stack_vars, username, password)
        response.raise_for_status()
        self.base = f"{zenml_url(stack_vars)}/api/v1"
        self.session = requests.Session()
        self.session.verify = tls_ca(stack_vars) or True
        # Else REQUESTS_CA_BUNDLE from the environment would replace the session's CA (a requests quirk).
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def get(self, path: str, **params: object) -> dict:
        response = self.session.get(f"{self.base}{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.session.post(f"{self.base}{path}", json=body, timeout=10)
        if not response.ok:
            raise AssertionError(f"POST {path}: {response.status_code} {response.text}")
        return response.json()

    def stack_names(self) -> set[str]:
        return {stack["name"] for stack in self.get("/stacks", size=1000)["items"]}

    def create_stack_from_defaults(self, name: str) -> dict:
        components = {}
        for component_type in ("orchestrator", "artifact_store"):
            items = self.get("/components", type=component_type, name="default")["items"]
            components[component_type] = [items[0]["id"]]
        return self.post("/stacks", {"name": name, "components": components})
