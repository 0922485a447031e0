"""Docker networks as the tests that deploy a stack of their own need them."""

from __future__ import annotations

import ipaddress
import json
import subprocess


def free_subnet(pool: str) -> str:
    """A /24 of ``pool`` that no Docker network on this machine uses (for a test stack's jobs network: the one
    derived from the stack's name may be taken)."""
    ids = subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True, check=True).stdout.split()
    inspected = subprocess.run(["docker", "network", "inspect", *ids], capture_output=True, text=True, check=True)
    used = [
        ipaddress.ip_network(config["Subnet"], strict=False)
        for network in json.loads(inspected.stdout)
        for config in (network.get("IPAM") or {}).get("Config") or []
        if config.get("Subnet")
    ]
    for candidate in ipaddress.ip_network(pool).subnets(new_prefix=24):
        if not any(candidate.version == other.version and candidate.overlaps(other) for other in used):
            return str(candidate)
    raise AssertionError(f"no free /24 in {pool} for the jobs network")
