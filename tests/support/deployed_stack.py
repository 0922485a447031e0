"""The stack Molecule's default scenario deployed on this machine, as the integration tests drive it.

The tests run the collection's playbooks against it with an inventory equal to the scenario's, and look
at the result from outside with independent clients.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pymysql
import requests
import yaml
from minio import Minio, MinioAdmin
from minio.credentials import StaticProvider
from mlops_clients import https_client
from playbook_runs import run_playbook

REPO = Path(__file__).resolve().parents[2]
# Another stack (a developer's own) can stand in through these two variables.
SCENARIO_VARS = Path(
    os.environ.get("MLOPS_TEST_STACK_VARS", REPO / "molecule/shared/group_vars/mlops_servers.yml")
).resolve()
CREDENTIALS = Path(os.environ.get("MLOPS_TEST_STACK_CREDENTIALS", REPO / "build" / "ci-credentials")).resolve()


@dataclass
class PlaybookRun:
    returncode: int
    stdout: str

    @property
    def changed(self) -> int:
        counts = re.findall(r"changed=(\d+)", self.stdout)
        return int(counts[-1]) if counts else -1

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.stdout.splitlines()[-lines:])


class DeployedStack:
    """Settings, secrets and clients of the deployed CI stack."""

    def __init__(self, inventory_dir: Path) -> None:
        self.vars = yaml.safe_load(SCENARIO_VARS.read_text(encoding="utf-8"))
        self.vars["mlops_credentials_dir"] = str(CREDENTIALS)
        self.host = self.vars["mlops_bind_address"]
        self.secrets = {p.name: p.read_text(encoding="utf-8").strip() for p in (CREDENTIALS / "server").iterdir()}
        # A person's clients go through the TLS front door and verify it with the server's CA (None: no TLS).
        ca_file = CREDENTIALS / "tls" / "ca.crt"
        tls = self.vars.get("mlops_tls_certificates", "server_ca") != "none" and ca_file.exists()
        self.ca_file: str | None = str(ca_file) if tls else None
        self.inventory = self._write_inventory(inventory_dir)

    def _write_inventory(self, directory: Path) -> Path:
        (directory / "group_vars").mkdir(parents=True, exist_ok=True)
        (directory / "group_vars" / "mlops_servers.yml").write_text(yaml.safe_dump(self.vars), encoding="utf-8")
        host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
        hosts = {"all": {"children": {"mlops_servers": {"hosts": {"mlops-ci-server": host}}}}}
        (directory / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
        return directory / "hosts.yml"

    def playbook(self, playbook: str, *args: str, **extra_vars: object) -> PlaybookRun:
        arguments = ["-i", str(self.inventory), f"playbooks/{playbook}", *args]
        if extra_vars:
            arguments += ["-e", json.dumps(extra_vars)]
        completed = run_playbook(arguments, timeout=1800, stdin=subprocess.DEVNULL)
        return PlaybookRun(completed.returncode, completed.stdout + completed.stderr)

    def manage_users(self, tag: str, **extra_vars: object) -> PlaybookRun:
        return self.playbook("manage_users.yml", "--tags", tag, **extra_vars)

    def user_env(self, name: str) -> dict[str, str]:
        lines = (CREDENTIALS / f"{name}.env").read_text(encoding="utf-8").splitlines()
        env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
        # What the shell makes of ${PWD} when the file is loaded from its folder.
        return {key: value.replace("${PWD}", str(CREDENTIALS)) for key, value in env.items()}

    # --- clients -------------------------------------------------------------------------------
    def mysql(self, user: str, password: str, database: str | None = None) -> pymysql.Connection:
        return pymysql.connect(
            host=self.host,
            port=int(self.vars["database_port"]),
            user=user,
            password=password,
            database=database,
            connect_timeout=5,
            autocommit=True,
            ssl={"ca": self.ca_file} if self.ca_file else None,
        )

    def root_query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.mysql("root", self.secrets["database_root_password"]) as connection, connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def s3(self, access_key: str, secret_key: str) -> Minio:
        endpoint = f"{self.host}:{self.vars['minio_api_port']}"
        if self.ca_file:
            client = https_client(self.ca_file)
            return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=True, http_client=client)
        return Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=False)

    def s3_root(self) -> Minio:
        return self.s3("root", self.secrets["minio_root_password"])

    def s3_admin(self) -> MinioAdmin:
        provider = StaticProvider("root", self.secrets["minio_root_password"])
        endpoint = f"{self.host}:{self.vars['minio_api_port']}"
        if self.ca_file:
            return MinioAdmin(
                endpoint=endpoint, credentials=provider, secure=True, http_client=https_client(self.ca_file)
            )
        return MinioAdmin(endpoint=endpoint, credentials=provider, secure=False)

    @property
    def zenml_url(self) -> str:
        scheme = "https" if self.ca_file else "http"
        return f"{scheme}://{self.host}:{self.vars['zenml_server_port']}"

    def zenml_session(self, user: str, password: str) -> requests.Session:
        response = requests.post(
            f"{self.zenml_url}/api/v1/login",
            data={"username": user, "password": password},
            timeout=10,
            verify=self.ca_file or True,
        )
        response.raise_for_status()
        session = requests.Session()
        session.verify = self.ca_file or True
        # Else REQUESTS_CA_BUNDLE from the environment would replace the session's CA (a requests quirk).
        session.trust_env = False
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def zenml_get(self, session: requests.Session, path: str, **params: object) -> dict:
        response = session.get(f"{self.zenml_url}/api/v1{path}", params={"size": 1000, **params}, timeout=10)
        response.raise_for_status()
        return response.json()

    # --- what exists ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, list]:
        """Everything per-user in the three services, to prove a refused request changed nothing."""
        admin = self.zenml_session("root", self.secrets["zenml_admin_password"])
        users = json.loads(self.s3_admin().user_list())
        return {
            "mysql_accounts": sorted(r[0] for r in self.root_query("SELECT user FROM mysql.user")),
            "mysql_schemas": sorted(r[0] for r in self.root_query("SHOW DATABASES")),
            "registry": sorted(self.root_query("SELECT username, role FROM stack_management.users")),
            "s3_users": sorted(users),
            "buckets": sorted(bucket.name for bucket in self.s3_root().list_buckets()),
            "zenml_users": sorted(u["name"] for u in self.zenml_get(admin, "/users")["items"]),
            "zenml_stacks": sorted(s["name"] for s in self.zenml_get(admin, "/stacks")["items"]),
            "zenml_components": sorted(c["name"] for c in self.zenml_get(admin, "/components")["items"]),
        }
