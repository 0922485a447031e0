"""Every container runs, is healthy, and carries the limits, ports and policies of the inventory."""

from __future__ import annotations

import pytest
from ansible_collections.onprem.mlops.plugins.filter.network import jobs_network
from ansible_collections.onprem.mlops.plugins.filter.sizes import size_to_bytes
from conftest import SERVICES, container_name, inspect

LIMIT_PREFIX = {
    "database": "database",
    "minio": "minio",
    "zenml": "zenml_server",
}
PORTS = {
    "database": [("database_port", "3306/tcp")],
    "minio": [("minio_api_port", "9000/tcp"), ("minio_console_port", "9001/tcp")],
    "zenml": [("zenml_server_port", "8080/tcp")],
}
# Behind the TLS front door: the public port's back-end variable, published on loopback.
BACKEND = {
    "minio_api_port": "minio_backend_api_port",
    "minio_console_port": "minio_backend_console_port",
    "zenml_server_port": "zenml_server_backend_port",
}
FRONT_DOOR_PORTS = {"zenml_server_port": "8443/tcp", "minio_api_port": "9443/tcp", "minio_console_port": "9444/tcp"}


def tls(stack_vars: dict) -> bool:
    return stack_vars.get("mlops_tls_certificates", "server_ca") != "none"


def backend_port(stack_vars: dict, variable: str) -> int:
    """The loopback port of a service behind the front door (the public port + 10000 unless set)."""
    if BACKEND[variable] in stack_vars:
        return int(stack_vars[BACKEND[variable]])
    public = int(stack_vars[variable])
    return public + 10000 if public < 55536 else public - 10000


def published(stack_vars: dict, variable: str) -> dict:
    if tls(stack_vars) and variable in BACKEND:
        return {"HostIp": "127.0.0.1", "HostPort": str(backend_port(stack_vars, variable))}
    return {"HostIp": stack_vars["mlops_bind_address"], "HostPort": str(stack_vars[variable])}


@pytest.mark.parametrize("service", SERVICES)
def test_container_running_and_healthy(host, stack_vars, service):
    state = inspect(host, container_name(stack_vars, service))["State"]
    assert state["Running"]
    assert state["Health"]["Status"] == "healthy"


@pytest.mark.parametrize("service", SERVICES)
def test_limits_equal_the_inventory(host, stack_vars, service):
    prefix = LIMIT_PREFIX[service]
    host_config = inspect(host, container_name(stack_vars, service))["HostConfig"]
    assert host_config["Memory"] == size_to_bytes(stack_vars[f"{prefix}_memory"])
    assert host_config["NanoCpus"] == int(float(stack_vars[f"{prefix}_cpus"]) * 1e9)


@pytest.mark.parametrize("service", SERVICES)
def test_restart_policy_labels_and_network(host, stack_vars, service):
    details = inspect(host, container_name(stack_vars, service))
    assert details["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert details["Config"]["Labels"]["org.onprem-mlops.stack"] == stack_vars["mlops_stack_name"]
    assert stack_vars["mlops_network_name"] in details["NetworkSettings"]["Networks"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_joins_the_jobs_network_at_its_fixed_address(host, stack_vars, service):
    networks = inspect(host, container_name(stack_vars, service))["NetworkSettings"]["Networks"]
    plan = jobs_network(stack_vars.get("mlops_jobs_network_subnet", ""), stack_vars["mlops_stack_name"])
    jobs = networks[stack_vars["mlops_jobs_network_name"]]
    assert jobs["IPAMConfig"]["IPv4Address"] == plan["addresses"][service]
    assert jobs["IPAddress"] == plan["addresses"][service]
    assert service in jobs["Aliases"]


@pytest.mark.parametrize("service", SERVICES)
def test_ports_bound_to_the_configured_address(host, stack_vars, service):
    bindings = inspect(host, container_name(stack_vars, service))["HostConfig"]["PortBindings"] or {}
    expected = {container_port: [published(stack_vars, variable)] for variable, container_port in PORTS[service]}
    assert bindings == expected


def test_front_door_publishes_the_public_ports(host, stack_vars):
    if not tls(stack_vars):
        pytest.skip("mlops_tls_certificates is none: no front door")
    details = inspect(host, container_name(stack_vars, "front-door"))
    assert details["State"]["Health"]["Status"] == "healthy"
    assert details["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert details["HostConfig"]["Memory"] > 0
    expected = {
        container_port: [{"HostIp": stack_vars["mlops_bind_address"], "HostPort": str(stack_vars[variable])}]
        for variable, container_port in FRONT_DOOR_PORTS.items()
    }
    assert details["HostConfig"]["PortBindings"] == expected


@pytest.mark.parametrize(("service", "mount_point"), [("database", "/var/lib/mysql"), ("minio", "/data")])
def test_data_on_named_volumes(host, stack_vars, service, mount_point):
    mounts = inspect(host, container_name(stack_vars, service))["Mounts"]
    assert any(m["Type"] == "volume" and m["Destination"] == mount_point for m in mounts)


def test_listening_only_on_the_bind_address(host, stack_vars):
    for variable in (variable for service in SERVICES for variable, _port in PORTS[service]):
        socket = host.socket(f"tcp://{stack_vars['mlops_bind_address']}:{stack_vars[variable]}")
        assert socket.is_listening


def test_no_runner_without_a_token(host, stack_vars):
    assert stack_vars["gitlab_runner_token"] == ""
    assert host.run(f"docker inspect {container_name(stack_vars, 'gitlab-runner')}").rc != 0
