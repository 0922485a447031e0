"""The docker role on a fresh Debian 12 machine: engine installed, running under systemd, network, group."""

import json

NETWORK = "mlops-engine-test"
IMAGE = "mlops-engine-test:local"
# No registry is reachable: the test image is the instance's own dash and the libraries it loads.
IMPORT_IMAGE = (
    "tar -ch -C / usr/bin/dash $(ldd /usr/bin/dash | grep -o '/[^ ]*' | sed 's|^/||') 2>/dev/null"
    f" | docker import - {IMAGE}"
)


def test_engine_comes_from_the_distribution(host):
    assert host.package("docker.io").is_installed


def test_engine_runs_under_systemd_and_starts_at_boot(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled
    assert host.check_output("systemctl is-active docker") == "active"


def test_engine_answers(host):
    assert host.check_output("docker info --format '{{.ServerVersion}}'")


def test_stack_network_is_a_labelled_bridge(host):
    network = json.loads(host.check_output(f"docker network inspect {NETWORK}"))[0]
    assert network["Driver"] == "bridge"
    assert network["Labels"]["org.onprem-mlops.stack"] == "mlops-engine-test"


def test_listed_user_is_in_the_docker_group(host):
    assert "docker" in host.user("student").groups
    assert "docker" not in host.user("outsider").groups


def test_listed_user_runs_a_container_on_the_stack_network(host):
    host.check_output(IMPORT_IMAGE)
    try:
        out = host.check_output(
            f"runuser -u student -- docker run --rm --network {NETWORK} {IMAGE} /usr/bin/dash -c 'echo ok'"
        )
        assert out == "ok"
    finally:
        host.run(f"docker image rm -f {IMAGE}")


def test_unlisted_user_cannot_reach_the_engine(host):
    denied = host.run("runuser -u outsider -- docker ps")
    assert denied.rc != 0
    assert "permission denied" in denied.stderr


def test_jobs_network_is_closed_but_for_the_services_ports(host):
    network = json.loads(host.check_output(f"docker network inspect {NETWORK}-jobs"))[0]
    assert network["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    assert network["Labels"]["org.onprem-mlops.network"] == "jobs"
    [ipam] = network["IPAM"]["Config"]
    bridge = f"br-{network['Id'][:12]}"
    rules = host.check_output("iptables -S DOCKER-USER").splitlines()
    allowed = [rule for rule in rules if bridge in rule and rule.endswith("-j ACCEPT")]
    prefix = ipam["Subnet"].rsplit(".", 1)[0]
    assert sorted(rule.split("--dport ")[1].split()[0] for rule in allowed) == ["3306", "8080", "9000"], rules
    assert all(f"-d {prefix}." in rule and "mlops-engine-test jobs -> " in rule for rule in allowed), rules
    assert ipam["IPRange"].endswith("/25")


def _stack_rules(host) -> list[str]:
    rules = host.check_output("iptables -w -S DOCKER-USER").splitlines()
    return [rule for rule in rules if '--comment "mlops-engine-test jobs -> ' in rule]


def test_the_stacks_rules_come_back_when_docker_starts_with_an_empty_chain(host):
    """After a reboot Docker starts DOCKER-USER empty; the stack's unit puts its rules back, in order, once."""
    unit = "mlops-engine-test-docker-user.service"
    assert host.service(unit).is_enabled
    before = _stack_rules(host)
    assert before
    assert host.file("/etc/mlops-engine-test/docker-user.rules").content_string.splitlines() == before
    for rule in before:  # what a reboot leaves: none of them
        host.run_expect([0], "iptables -w -D " + rule.removeprefix("-A "))
    assert _stack_rules(host) == []
    host.run_expect([0], f"systemctl restart {unit}")
    assert _stack_rules(host) == before
    host.run_expect([0], f"systemctl restart {unit}")  # again, with the rules in place: replaced, not doubled
    assert _stack_rules(host) == before
