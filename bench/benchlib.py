"""What the benchmarks share: their throw-away stack's inventory, playbook runs, clean-up and load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# The bench stacks take the CI stack's settings (local images, MariaDB, small limits) under their own names.
SCENARIO_VARS = REPO / "molecule" / "shared" / "group_vars" / "mlops_servers.yml"


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def remove_stack(stack: str) -> None:
    run([str(REPO / "scripts" / "remove-stack.sh"), stack])


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def write_inventory(directory: Path, stack: str, ports: dict[str, int], **settings: object) -> Path:
    """An inventory for this machine deploying ``stack`` on ``ports``, its credentials and venv in ``directory``."""
    variables = yaml.safe_load(SCENARIO_VARS.read_text())
    variables.update(ports)
    variables.update(
        mlops_stack_name=stack,
        mlops_network_name=stack,
        # Not the CI stack's jobs network, which the scenario's variables name and which may be running.
        mlops_jobs_network_name=f"{stack}-jobs",
        mlops_credentials_dir=str(directory / "credentials"),
        python_env_path=str(directory / "venv"),
        # The benchmarks talk to the services' own ports in clear text, as before TLS, unless one asks for
        # TLS (bench/load measures the front door).
        **{"mlops_tls_certificates": "none", **settings},
    )
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "mlops_servers.yml").write_text(yaml.safe_dump(variables))
    host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {"all": {"children": {"mlops_servers": {"hosts": {"bench": host}}}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    return directory / "hosts.yml"


def playbook_command(inventory: Path, playbook: str, *arguments: str) -> list[str]:
    ansible_playbook = Path(sys.executable).with_name("ansible-playbook")
    return [str(ansible_playbook), "-i", str(inventory), f"playbooks/{playbook}", *arguments]


def playbook_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1", **extra}


# Provisioning benches: no administrator is provisioned by run_server.yml, so every figure is the bench's own.
BENCH_SETTINGS = {
    "mlops_image_source": "local",
    "mlops_administrator": "",
    "database_engine": "mariadb",
    "gitlab_runner_token": "",
}
