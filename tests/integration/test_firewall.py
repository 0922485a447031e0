"""The firewall allow-list of the published ports (issue 11, item 3), proven from two network namespaces.

A dedicated stack publishes its four ports on the host's end of a veth pair whose other end is in a network
namespace; a second namespace, with a veth pair of its own, routes to that address through the host. They
stand for two laptops on a campus network: one in a network of the allow-list, one outside it. Traffic never
leaves this machine. The stack is deployed once for the module; the tests then run in order (file order) on
it. Needs root. MLOPS_TEST_FIREWALL_STACK, _PORTS (four, comma-separated) and _CREDENTIALS choose another
stack name, ports and credentials directory than it-firewall, free ports and a temporary directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "support"))
from docker_networks import free_subnet
from playbook_runs import run_playbook

SCENARIO_VARS = REPO / "molecule" / "shared" / "group_vars" / "mlops_servers.yml"
STACK = os.environ.get("MLOPS_TEST_FIREWALL_STACK", "it-firewall")
# TEST-NET-2 (RFC 5737): routed nowhere, so nothing here can clash with a real network.
INSIDE = ("198.51.100.5", "198.51.100.6")  # host side, namespace side of the allowed client's veth
OUTSIDE = ("198.51.100.9", "198.51.100.10")  # the same for the client outside the allow-list
BIND = INSIDE[0]
ALLOWED = "198.51.100.4/30"
SERVICES = ("database", "minio_api", "minio_console", "zenml")
PORT_VARS = {
    "database": "database_port",
    "minio_api": "minio_api_port",
    "minio_console": "minio_console_port",
    "zenml": "zenml_server_port",
}
# What each service says first: the database's greeting, the others' answer to a plain HTTP request.
PROBE = r"""
import json, socket, sys
address, ports = sys.argv[1], json.loads(sys.argv[2])
result = {}
for service, port in ports.items():
    try:
        with socket.create_connection((address, port), timeout=5) as conn:
            if service != "database":
                conn.sendall(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
            data = conn.recv(64)
            result[service] = "answers" if data else "closed"
    except OSError as error:
        result[service] = type(error).__name__
print(json.dumps(result))
"""


# Only the docker role's allow-list tasks (what run_server.yml runs for it, just proven 0 changed), so that
# changing the list takes seconds rather than another full run.
FIREWALL_ONLY = """
- name: Apply the firewall allow-list only
  hosts: mlops_servers
  gather_facts: false
  tasks:
    - name: Apply the allow-list
      ansible.builtin.include_role:
        name: onprem.mlops.docker
        tasks_from: firewall.yml
"""


@dataclass
class FirewallStack:
    inventory: Path
    ports: dict[str, int]
    allow: dict[str, list[str]]
    clients: dict[str, str]

    def playbook(self, playbook: str, **extra_vars: object) -> subprocess.CompletedProcess[str]:
        arguments = ["-i", str(self.inventory), playbook]
        if extra_vars:
            arguments += ["-e", json.dumps(extra_vars)]
        return run_playbook(arguments, timeout=900, stdin=subprocess.DEVNULL)

    def run_server(self, **extra_vars: object) -> subprocess.CompletedProcess[str]:
        return self.playbook("playbooks/run_server.yml", **extra_vars)

    def apply_allow_list(self, **extra_vars: object) -> subprocess.CompletedProcess[str]:
        playbook = self.inventory.parent / "firewall_only.yml"
        playbook.write_text(FIREWALL_ONLY, encoding="utf-8")
        return self.playbook(str(playbook), **extra_vars)

    def rule_count(self) -> int:
        return sum(len(self.allow.get(service, self.allow["default"])) + 1 for service in SERVICES)


def _sh(*command: str, check: bool = True) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if check:
        assert completed.returncode == 0, f"{' '.join(command)}: {completed.stderr}"
    return completed.stdout


def _changed(completed: subprocess.CompletedProcess[str]) -> int:
    recap = [line for line in completed.stdout.splitlines() if "changed=" in line]
    return int(recap[-1].split("changed=")[1].split()[0])


def _tail(completed: subprocess.CompletedProcess[str]) -> str:
    return "\n".join((completed.stdout + completed.stderr).splitlines()[-60:])


def _allow_rules() -> list[str]:
    listing = _sh("iptables", "-w", "-S", "DOCKER-USER")
    return [line for line in listing.splitlines() if f'--comment "{STACK} allow -> ' in line]


def _reach(namespace: str, ports: dict[str, int]) -> dict[str, str]:
    output = _sh("ip", "netns", "exec", namespace, sys.executable, "-c", PROBE, BIND, json.dumps(ports))
    return json.loads(output)


def _free_ports() -> dict[str, int]:
    wanted = os.environ.get("MLOPS_TEST_FIREWALL_PORTS")
    if wanted:
        return dict(zip(SERVICES, map(int, wanted.split(",")), strict=True))
    sockets = [socket.socket() for _ in SERVICES]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return {service: sock.getsockname()[1] for service, sock in zip(SERVICES, sockets, strict=True)}
    finally:
        for sock in sockets:
            sock.close()


class Namespaces:
    """Two namespaces, each with a veth pair to the host and a default route through it."""

    def __init__(self, prefix: str) -> None:
        self.clients = {"inside": (f"{prefix}-in", INSIDE), "outside": (f"{prefix}-out", OUTSIDE)}

    def create(self) -> None:
        for namespace, (host_address, client_address) in self.clients.values():
            _sh("ip", "netns", "add", namespace)
            _sh("ip", "link", "add", f"{namespace}-h", "type", "veth", "peer", "name", "eth0", "netns", namespace)
            _sh("ip", "addr", "add", f"{host_address}/30", "dev", f"{namespace}-h")
            _sh("ip", "link", "set", f"{namespace}-h", "up")
            inside = ["ip", "netns", "exec", namespace]
            _sh(*inside, "ip", "addr", "add", f"{client_address}/30", "dev", "eth0")
            _sh(*inside, "ip", "link", "set", "eth0", "up")
            _sh(*inside, "ip", "link", "set", "lo", "up")
            _sh(*inside, "ip", "route", "add", "default", "via", host_address)

    def remove(self) -> None:
        for namespace, _ in self.clients.values():
            # Deleting the namespace deletes its end of the veth, and so the pair.
            _sh("ip", "netns", "del", namespace, check=False)
            _sh("ip", "link", "del", f"{namespace}-h", check=False)


def _remove_stack() -> None:
    _sh(str(REPO / "scripts" / "remove-stack.sh"), STACK, check=False)
    for path in (Path("/opt") / STACK, Path("/opt") / f"onprem-{STACK}"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fw_stack() -> Iterator[FirewallStack]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces and iptables need root")
    if BIND in _sh("ip", "-o", "addr"):
        pytest.fail(f"{BIND} is already on an interface of this host: a previous run left it, or it is in use")
    # Not under pytest's basetemp: another pytest session on this machine may prune it while the stack lives.
    directory = Path(tempfile.mkdtemp(prefix=f"{STACK}-"))
    ports = _free_ports()
    # A default list, and ZenML's own: a single address (iptables writes it /32) and another network.
    allow = {"default": [ALLOWED], "zenml": [INSIDE[1], "203.0.113.0/24"]}
    variables = yaml.safe_load(SCENARIO_VARS.read_text(encoding="utf-8"))
    variables.update(
        mlops_stack_name=STACK,
        mlops_network_name=STACK,
        mlops_jobs_network_name=f"{STACK}-jobs",
        mlops_jobs_network_subnet=free_subnet("172.31.0.0/16"),
        mlops_bind_address=BIND,
        mlops_credentials_dir=os.environ.get("MLOPS_TEST_FIREWALL_CREDENTIALS", str(directory / "credentials")),
        mlops_firewall_allow=allow,
        python_env_path=f"/opt/onprem-{STACK}/venv",
        **{PORT_VARS[service]: port for service, port in ports.items()},
    )
    (directory / "group_vars").mkdir()
    (directory / "group_vars" / "mlops_servers.yml").write_text(yaml.safe_dump(variables), encoding="utf-8")
    host = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {"all": {"children": {"mlops_servers": {"hosts": {f"{STACK}-server": host}}}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts), encoding="utf-8")
    namespaces = Namespaces(f"fw{uuid.uuid4().hex[:4]}")
    clients = {side: namespace for side, (namespace, _) in namespaces.clients.items()}
    stack = FirewallStack(directory / "hosts.yml", ports, allow, clients)
    try:
        _remove_stack()  # what a run killed before its clean-up left
        namespaces.create()
        deployed = stack.run_server()
        assert deployed.returncode == 0, _tail(deployed)
        yield stack
    finally:
        _remove_stack()
        namespaces.remove()
        shutil.rmtree(directory, ignore_errors=True)


def test_inside_the_allow_list_reaches_every_published_port(fw_stack) -> None:
    assert _reach(fw_stack.clients["inside"], fw_stack.ports) == dict.fromkeys(SERVICES, "answers")


def test_outside_the_allow_list_is_refused_on_every_published_port(fw_stack) -> None:
    refused = dict.fromkeys(SERVICES, "ConnectionRefusedError")
    assert _reach(fw_stack.clients["outside"], fw_stack.ports) == refused


def test_the_host_itself_is_not_filtered(fw_stack) -> None:
    with socket.create_connection((BIND, fw_stack.ports["zenml"]), timeout=5):
        pass


def test_rules_accept_the_listed_networks_then_refuse_in_docker_user(fw_stack) -> None:
    rules = _allow_rules()
    assert len(rules) == fw_stack.rule_count(), rules
    for service in SERVICES:
        own = [line for line in rules if line.split("--comment ")[1].startswith(f'"{STACK} allow -> {service}"')]
        sources = fw_stack.allow.get(service, fw_stack.allow["default"])
        assert [line.split()[3] for line in own[:-1]] == [
            source if "/" in source else f"{source}/32" for source in sources
        ], rules
        assert all(f"--ctorigdstport {fw_stack.ports[service]} " in line for line in own), rules
        assert own[-1].endswith("-j REJECT --reject-with tcp-reset"), rules


def test_a_second_run_changes_nothing(fw_stack) -> None:
    again = fw_stack.run_server()
    assert again.returncode == 0, _tail(again)
    assert _changed(again) == 0, _tail(again)


def test_emptying_the_allow_list_removes_its_rules(fw_stack) -> None:
    emptied = fw_stack.apply_allow_list(mlops_firewall_allow={})
    assert emptied.returncode == 0, _tail(emptied)
    assert _allow_rules() == []
    assert "without a firewall allow-list" in emptied.stdout
    assert _reach(fw_stack.clients["outside"], fw_stack.ports) == dict.fromkeys(SERVICES, "answers")


def test_remove_stack_removes_the_rules(fw_stack) -> None:
    restored = fw_stack.apply_allow_list()
    assert restored.returncode == 0, _tail(restored)
    assert len(_allow_rules()) == fw_stack.rule_count()
    _sh(str(REPO / "scripts" / "remove-stack.sh"), STACK)
    assert _allow_rules() == []
