"""Filters that lay out the jobs network: fixed addresses for the services, the rest for job containers."""

from __future__ import annotations

import ipaddress
import zlib

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: jobs_network
short_description: Address plan of the jobs network from its subnet
version_added: 0.2.0
description:
  - Returns the gateway, the fixed address of each service (database, minio, zenml) and the range Docker
    hands out to job containers (the upper half of the subnet). The services need fixed addresses because
    the firewall rules that let jobs reach them, and nothing else, name them.
  - With an empty subnet, a C(/24) in C(172.31.0.0/16) derived from O(stack) is used, so several stacks on
    one host (CI, benchmarks) get different subnets.
options:
  _input:
    description: The IPv4 subnet in CIDR notation (C(/16) to C(/27)), or empty.
    type: str
    required: true
  stack:
    description: The stack's name, used only when the subnet is empty.
    type: str
    default: onprem-mlops
"""

EXAMPLES = r"""
- name: The database's address on the jobs network
  ansible.builtin.debug:
    msg: "{{ ('172.31.250.0/24' | onprem.mlops.jobs_network).addresses.database }}"  # 172.31.250.2
"""

RETURN = r"""
_value:
  description:
    - The plan. C(overlapping_networks(subnet, networks, own)), the other filter here, lists which of
      C(networks) (a dict of network name to its subnets) other than C(own) overlap C(subnet).
  type: dict
  contains:
    subnet: {description: The subnet., type: str}
    gateway: {description: The bridge's address (first host)., type: str}
    ip_range: {description: Where job containers get their addresses., type: str}
    addresses: {description: Fixed address per service (database, minio, zenml)., type: dict}
"""

SERVICES = ("database", "minio", "zenml")
_SMALLEST_PREFIX = 16
_LARGEST_PREFIX = 27


def default_subnet(stack: str) -> str:
    third = 50 + zlib.crc32(stack.encode("utf-8")) % 200
    return f"172.31.{third}.0/24"


def jobs_network(subnet: str, stack: str = "onprem-mlops") -> dict:
    text = str(subnet or "").strip() or default_subnet(str(stack))
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as error:
        raise AnsibleFilterError(
            f"jobs network subnet {text!r} is not an IPv4 network in CIDR form: {error}"
        ) from error
    if not _SMALLEST_PREFIX <= network.prefixlen <= _LARGEST_PREFIX:
        raise AnsibleFilterError(
            f"jobs network subnet {text} must be a /{_SMALLEST_PREFIX} to /{_LARGEST_PREFIX}: the upper half is "
            "for job containers and the first addresses for the services"
        )
    hosts = list(network.hosts())[: len(SERVICES) + 1]
    upper_half = list(network.subnets(prefixlen_diff=1))[1]
    return {
        "subnet": str(network),
        "gateway": str(hosts[0]),
        "ip_range": str(upper_half),
        "addresses": {service: str(address) for service, address in zip(SERVICES, hosts[1:], strict=True)},
    }


def overlapping_networks(subnet: str, networks: dict | list, own: str = "") -> list[str]:
    """Names of the ``networks`` other than ``own`` whose subnets overlap ``subnet``.

    ``networks`` maps a name to its subnets, or is a list of lines ``NAME SUBNET...`` (as printed by
    ``docker network inspect --format '{{.Name}} {{range .IPAM.Config}}{{.Subnet}} {{end}}'``).
    """
    if isinstance(networks, list):
        networks = {line.split()[0]: line.split()[1:] for line in map(str, networks) if line.strip()}
    wanted = ipaddress.ip_network(subnet)
    clashes = []
    for name, subnets in sorted(networks.items()):
        if name == own:
            continue
        for other in subnets or []:
            try:
                candidate = ipaddress.ip_network(str(other), strict=False)
            except ValueError:
                continue
            if candidate.version == wanted.version and candidate.overlaps(wanted):
                clashes.append(f"{name} ({candidate})")
    return clashes


class FilterModule:
    def filters(self) -> dict:
        return {"jobs_network": jobs_network, "overlapping_networks": overlapping_networks}
