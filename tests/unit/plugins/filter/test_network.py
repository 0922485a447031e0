"""The jobs network's address plan (plugins/filter/network.py)."""

from __future__ import annotations

import ipaddress

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.mlops.plugins.filter.network import default_subnet, jobs_network, overlapping_networks


def test_plan_of_a_slash_24() -> None:
    plan = jobs_network("172.31.250.0/24")
    assert plan == {
        "subnet": "172.31.250.0/24",
        "gateway": "172.31.250.1",
        "ip_range": "172.31.250.128/25",
        "addresses": {"database": "172.31.250.2", "minio": "172.31.250.3", "zenml": "172.31.250.4"},
    }


def test_services_are_outside_the_jobs_range() -> None:
    plan = jobs_network("10.20.0.0/16")
    job_range = ipaddress.IPv4Network(plan["ip_range"])
    assert all(ipaddress.IPv4Address(address) not in job_range for address in plan["addresses"].values())


def test_empty_subnet_is_derived_from_the_stack_name() -> None:
    assert jobs_network("", "mlops-ci")["subnet"] == default_subnet("mlops-ci")
    assert default_subnet("mlops-ci") != default_subnet("onprem-mlops")
    assert default_subnet("mlops-ci") == default_subnet("mlops-ci")
    assert ipaddress.IPv4Network(default_subnet("x")).subnet_of(ipaddress.IPv4Network("172.31.0.0/16"))


@pytest.mark.parametrize("subnet", ["172.31.250.1/24", "not-a-net", "10.0.0.0/8", "10.0.0.0/30", "fd00::/64"])
def test_bad_subnets_are_refused(subnet: str) -> None:
    with pytest.raises(AnsibleFilterError, match="jobs network subnet"):
        jobs_network(subnet)


def test_overlapping_networks_names_the_clashes_but_not_our_own() -> None:
    networks = {
        "bridge": ["172.17.0.0/16"],
        "campus-vpn": ["172.31.0.0/16"],
        "mlops-ci-jobs": ["172.31.133.0/24"],
        "ipv6": ["fd00::/64"],
        "none": [],
    }
    assert overlapping_networks("172.31.133.0/24", networks, own="mlops-ci-jobs") == ["campus-vpn (172.31.0.0/16)"]
    assert overlapping_networks("10.9.0.0/24", networks) == []


def test_overlapping_networks_reads_docker_inspect_lines() -> None:
    lines = ["bridge 172.17.0.0/16 ", "none ", "campus 172.31.0.0/16 fd00::/64 "]
    assert overlapping_networks("172.31.9.0/24", lines) == ["campus (172.31.0.0/16)"]
