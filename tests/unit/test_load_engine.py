"""bench/load_engine.py without a stack: figures, paths to the services, credentials files, memory, trackers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import load_engine as engine

ENV = {
    "MLOPS_USER": "load01",
    "ZENML_USERNAME": "load01",
    "ZENML_PASSWORD": "zpw",
    "ZENML_STACK": "load01-stack",
    "S3_ACCESS_KEY": "load01",
    "S3_SECRET_KEY": "s3pw",
    "S3_BUCKET": "load01",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "MYSQL_USER": "load01",
    "MYSQL_PASSWORD": "p@ss/w:rd",
    "MYSQL_DATABASE": "mlflow_load01",
    "ZENML_STORE_URL": "https://mlops.example.org:8080",
    "S3_ENDPOINT_URL": "https://mlops.example.org:9000",
}


def account(**changes: str) -> engine.Account:
    return engine.Account.from_env({**ENV, **changes})


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, 0.0),
        ([3.0], 0.99, 3.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.0),
        (list(map(float, range(1, 101))), 0.95, 95.0),
        (list(map(float, range(1, 101))), 0.99, 99.0),
        (list(map(float, range(100, 0, -1))), 0.5, 50.0),
        ([5.0, 1.0], 1.0, 5.0),
    ],
)
def test_percentile_is_nearest_rank(values, fraction, expected):
    assert engine.percentile(values, fraction) == expected


def test_figures_per_service_count_errors_and_rates():
    samples = [engine.Sample("zenml", "login", 0.1 * n, None) for n in range(1, 11)]
    samples += [engine.Sample("s3", "put 10 MB", 1.0, "ReadTimeout: x"), engine.Sample("s3", "get 10 MB", 0.5, None)]
    rows = {row.service: row for row in engine.figures(samples, seconds=2.0)}
    assert list(rows) == list(engine.SERVICES)
    assert rows["zenml"].requests == 10
    assert rows["zenml"].per_second == 5.0
    assert rows["zenml"].p50 == pytest.approx(0.5)
    assert rows["zenml"].errors == 0
    assert (rows["s3"].requests, rows["s3"].errors) == (2, 1)
    assert rows["mlflow"] == engine.ServiceFigures("mlflow", 0, 0.0, 0.0, 0.0, 0.0, 0)


def test_error_kinds_most_frequent_first():
    samples = [engine.Sample("zenml", "login", 1, "HTTP 504")] * 3 + [engine.Sample("s3", "get", 1, "Timeout")]
    assert engine.error_kinds(samples) == [(3, "zenml login: HTTP 504"), (1, "s3 get: Timeout")]


def test_recorder_records_a_failure_instead_of_raising():
    recorder = engine.Recorder()
    with recorder.request("mlflow", "create run"):
        raise ValueError("boom")
    with recorder.request("mlflow", "end run"):
        pass
    assert [(s.operation, s.error) for s in recorder.samples] == [("create run", "ValueError: boom"), ("end run", None)]


def test_recorder_is_thread_safe():
    recorder = engine.Recorder()

    def work() -> None:
        for _ in range(200):
            with recorder.request("s3", "get"):
                pass

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recorder.samples) == 1600


def test_read_env_file_skips_comments_and_keeps_equals_in_values(tmp_path):
    path = tmp_path / "u.env"
    path.write_text("# Ansible managed\n\nMLOPS_USER=u\nMYSQL_PASSWORD=a=b==\n")
    assert engine.read_env_file(path) == {"MLOPS_USER": "u", "MYSQL_PASSWORD": "a=b=="}


def test_account_defaults_the_region():
    assert account(AWS_DEFAULT_REGION="").region == "us-east-1"


@pytest.mark.parametrize(("value", "expected"), [(None, 30.0), ("", 30.0), ("90", 90.0)])
def test_zenml_timeout_is_the_clients(value, expected):
    changes = {} if value is None else {"ZENML_STORE_HTTP_TIMEOUT": value}
    assert account(**changes).zenml_timeout == expected


@pytest.mark.parametrize(
    ("ca", "zenml", "s3", "expected"),
    [
        (True, "https://h:8080", "https://h:9000", True),
        (False, "https://h:8080", "https://h:9000", False),
        (True, "http://h:8080", "http://h:9000", False),
        (True, "https://h:8080", "http://h:9000", False),
    ],
)
def test_front_door_only_with_a_ca_and_https_files(tmp_path, ca, zenml, s3, expected):
    if ca:
        (tmp_path / "tls").mkdir()
        (tmp_path / "tls" / "ca.crt").write_text("CA")
    door = engine.front_door([account(ZENML_STORE_URL=zenml, S3_ENDPOINT_URL=s3)], tmp_path)
    assert (door is not None) == expected
    if door:
        assert (door.zenml_url, door.s3_url, door.ca_bundle) == (zenml, s3, str(tmp_path / "tls" / "ca.crt"))
        assert door.verify == str(tmp_path / "tls" / "ca.crt")


def test_front_door_needs_accounts(tmp_path):
    assert engine.front_door([], tmp_path) is None


@pytest.mark.parametrize(
    ("docker_says", "expected"),
    [
        ("127.0.0.1:44080\n", "http://127.0.0.1:44080"),
        ("0.0.0.0:8080\n[::]:8080\n", "http://127.0.0.1:8080"),
        ("[::1]:9000\n", "http://[::1]:9000"),
    ],
)
def test_published_url(docker_says, expected):
    calls = []

    def fake_run(command, **_kwargs):
        calls.append(command)
        return subprocess.CompletedProcess(command, 0, stdout=docker_says, stderr="")

    assert engine.published_url("s-zenml", 8080, run=fake_run) == expected
    assert calls == [["docker", "port", "s-zenml", "8080"]]


def test_endpoints_verify_system_cas_without_a_bundle():
    assert engine.Endpoints("direct", "http://z", "http://s").verify is True


def test_tracker_env_quotes_the_login_and_binds_the_users_schema_and_bucket():
    env = engine.tracker_env(account())
    assert env["MLFLOW_BACKEND_STORE_URI"] == "mysql+pymysql://load01:p%40ss%2Fw%3Ard@database:3306/mlflow_load01"
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == "s3://load01/mlflow"
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["AWS_SECRET_ACCESS_KEY"] == "s3pw"


def test_tracker_env_verifies_the_database_with_the_ca():
    uri = engine.tracker_env(account(), "/etc/onprem-mlops/ca.crt")["MLFLOW_BACKEND_STORE_URI"]
    assert uri.endswith("/mlflow_load01?ssl_ca=/etc/onprem-mlops/ca.crt")


def test_tracker_secrets_never_on_the_docker_command_line(monkeypatch):
    seen = []

    def fake_docker(*args, env=None, check=True):
        seen.append((args, env))
        stdout = "127.0.0.1:40000\n" if args[0] == "port" else ""
        return subprocess.CompletedProcess(args, 0, stdout=stdout, stderr="")

    monkeypatch.setattr(engine, "docker", fake_docker)
    monkeypatch.setattr(engine, "published_url", lambda container, port: "http://127.0.0.1:40000")
    trackers = engine.Trackers("st", "img", "st-jobs")
    trackers.start(account())
    run_args, run_env = seen[-1]
    assert run_args[0] == "run"
    assert not [arg for arg in run_args if "p@ss" in arg or "s3pw" in arg]
    assert run_env["AWS_SECRET_ACCESS_KEY"] == "s3pw"
    assert "org.onprem-mlops.stack=st" in run_args
    assert trackers.urls == {"load01": "http://127.0.0.1:40000"}


@pytest.mark.parametrize(
    ("wanted", "available_gib", "expected"),
    [(50, 0, 50), (50, 64, 50), (50, 13, 25), (50, 2, 1), (10, 8, 10)],
)
def test_trackers_that_fit(wanted, available_gib, expected):
    assert engine.trackers_that_fit(wanted, available_gib * 1024**3) == expected


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("v1", 1000 - 300),
        ("v2-systemd", 1000 - 200),
        ("none", None),
    ],
)
def test_cgroup_memory_leaves_out_inactive_page_cache(tmp_path, layout, expected):
    if layout == "v1":
        directory = tmp_path / "memory" / "docker" / "abc"
        directory.mkdir(parents=True)
        (directory / "memory.usage_in_bytes").write_text("1000\n")
        (directory / "memory.stat").write_text("cache 500\ntotal_inactive_file 300\n")
    elif layout == "v2-systemd":
        directory = tmp_path / "system.slice" / "docker-abc.scope"
        directory.mkdir(parents=True)
        (directory / "memory.current").write_text("1000\n")
        (directory / "memory.stat").write_text("anon 700\ninactive_file 200\n")
    assert engine.cgroup_memory("abc", root=tmp_path) == expected


def test_memory_peaks_keep_the_maximum_and_group_trackers(monkeypatch):
    readings = iter([100 * 2**20, 300 * 2**20, 200 * 2**20, 50 * 2**20])
    monkeypatch.setattr(engine, "cgroup_memory", lambda _id: next(readings))
    cpu = iter([1.0, 2.0, 5.0, 2.5])
    monkeypatch.setattr(engine, "cgroup_cpu_seconds", lambda _id: next(cpu))
    peaks = engine.MemoryPeaks("st")
    peaks.sample({"1": "st-zenml", "2": "st-load-tracker-load01"})
    peaks.sample({"1": "st-zenml", "2": "st-load-tracker-load01"})
    assert peaks.peaks == {"st-zenml": 200 * 2**20, "st-load-tracker-load01": 300 * 2**20}
    text = peaks.report()
    assert "st-zenml" in text and "200 MiB" in text
    assert "1 MLflow trackers" in text and "300 MiB the largest" in text
    assert (peaks.cpu("st-zenml"), peaks.cpu("st-load-tracker-load01")) == (4.0, 0.5)


@pytest.mark.parametrize("layout", ["v1", "v2", "none"])
def test_cgroup_cpu_seconds(tmp_path, layout):
    if layout == "v1":
        (tmp_path / "cpuacct" / "docker" / "abc").mkdir(parents=True)
        (tmp_path / "cpuacct" / "docker" / "abc" / "cpuacct.usage").write_text("2500000000\n")
    elif layout == "v2":
        (tmp_path / "system.slice" / "docker-abc.scope").mkdir(parents=True)
        (tmp_path / "system.slice" / "docker-abc.scope" / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 1\n")
    assert engine.cgroup_cpu_seconds("abc", root=tmp_path) == (None if layout == "none" else 2.5)


def test_summary_json_has_every_pass_and_service():
    result = engine.PassResult(engine.Endpoints("direct", "z", "s"), 10.0, [engine.Sample("s3", "get", 1.0, None)], 1)
    document = json.loads(engine.summary_json([result]))
    assert document["direct"]["s3"]["requests"] == 1
    assert set(document["direct"]) == set(engine.SERVICES)


def test_stack_from_vars_defaults_the_jobs_network(tmp_path):
    stack = engine.Stack.from_vars({"mlops_stack_name": "s", "mlops_job_image": "i"}, credentials_dir=tmp_path)
    assert (stack.name, stack.jobs_network, stack.credentials_dir) == ("s", "s-jobs", tmp_path)


def test_start_all_keeps_at_most_at_once_trackers_starting(monkeypatch):
    started, answers, most = [], {}, [0]

    def fake_start(self, one):
        started.append(one.username)
        self.urls[one.username] = f"http://t/{one.username}"
        answers[one.username] = 0
        most[0] = max(most[0], len(started) - sum(1 for n in answers.values() if n >= 2))

    def fake_get(url, timeout):
        user = url.split("/")[-2]
        answers[user] += 1
        return type("Answer", (), {"ok": answers[user] >= 2})()

    monkeypatch.setattr(engine.Trackers, "start", fake_start)
    monkeypatch.setattr(engine.requests, "get", fake_get)
    monkeypatch.setattr(engine.time, "sleep", lambda _s: None)
    trackers = engine.Trackers("st", "img", "st-jobs")
    accounts = [account(MLOPS_USER=f"u{n}") for n in range(5)]
    trackers.start_all(accounts, at_once=2, timeout=60)
    assert started == [f"u{n}" for n in range(5)]
    assert most[0] <= 2


def test_operations_table_one_line_per_operation():
    samples = [engine.Sample("zenml", "login", 1.0, None), engine.Sample("zenml", "login", 3.0, "HTTP 504")]
    samples.append(engine.Sample("s3", "get 10 MB", 0.5, None))
    lines = engine.operations_table(samples).splitlines()
    assert len(lines) == 2
    assert lines[0].split()[:3] == ["s3", "get", "10"]
    assert "errors 1" in lines[1] and "p95   3.000" in lines[1]


class FakeResponse:
    def __init__(self, status: int, body: dict) -> None:
        self.status_code, self.ok, self.body = status, status < 400, body
        self.url = "http://127.0.0.1:40000/api/v1/login"
        self.request = type("Request", (), {"method": "POST"})()
        self.text = str(body)

    def json(self) -> dict:
        return self.body


@pytest.mark.parametrize(("status", "logged_in"), [(200, True), (503, False)])
def test_zenml_login_records_the_error_without_the_host(monkeypatch, status, logged_in):
    recorder = engine.Recorder()
    zenml = engine.ZenML(engine.Endpoints("direct", "http://127.0.0.1:40000", "http://s"), account(), recorder)
    monkeypatch.setattr(zenml.session, "post", lambda *_a, **_k: FakeResponse(status, {"access_token": "t"}))
    assert zenml.login() is logged_in
    (sample,) = recorder.samples
    if logged_in:
        assert sample.error is None and zenml.session.headers["Authorization"] == "Bearer t"
    else:
        assert sample.error.startswith("RuntimeError: HTTP 503 POST /api/v1/login:")
