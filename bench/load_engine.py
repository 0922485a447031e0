"""The engine of bench/load: simulated students and a teacher working at once on a deployed stack.

Each student, in a loop until the pass ends: logs in to ZenML, lists their stack, uploads and downloads a
10 MB object in their bucket, and logs an MLflow run to their schema through their own tracker (an
`mlflow server` of the job image bound to their schema and bucket, as a CI job of the template starts
one). The teacher (the administrator) lists everyone's pipeline runs in ZenML and everyone's MLflow runs.
Every request is timed per service; a request that raises or answers an HTTP error is an error.

A pass is one path to the services: the TLS front door (https, verified with the stack's CA) or the back
ends directly. Base URLs and CA bundles are parameters (``Endpoints``), so the same engine measures both.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import requests
from botocore.client import BaseClient
from botocore.config import Config

OBJECT_BYTES = 10 * 1024 * 1024
SERVICES = ("zenml", "s3", "mlflow")
TRACKER_PORT = 5000
TRACKER_LABEL = "org.onprem-mlops.service=load-tracker"
TRACKER_MEMORY = "768m"
# Each client's own default timeout, so an answer slower than a real client waits for is an error:
# ZenML's REST store (DEFAULT_HTTP_TIMEOUT), botocore's read timeout, MLflow's MLFLOW_HTTP_REQUEST_TIMEOUT.
ZENML_TIMEOUT = 30
S3_TIMEOUT = 60
MLFLOW_TIMEOUT = 120
EXPERIMENT = "load-test"


# --- where the services are --------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoints:
    """One path to the services: ``name`` labels the pass, ``ca_bundle`` verifies https (None: system CAs)."""

    name: str
    zenml_url: str
    s3_url: str
    ca_bundle: str | None = None

    @property
    def verify(self) -> str | bool:
        return self.ca_bundle or True


@dataclass(frozen=True)
class Account:
    """What a student's (or the teacher's) credentials file gives the load test."""

    username: str
    zenml_user: str
    zenml_password: str
    zenml_stack: str
    s3_access_key: str
    s3_secret_key: str
    bucket: str
    region: str
    mysql_user: str
    mysql_password: str
    mysql_database: str
    zenml_store_url: str
    s3_endpoint_url: str
    zenml_timeout: float = ZENML_TIMEOUT

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Account:
        return cls(
            username=env["MLOPS_USER"],
            zenml_user=env["ZENML_USERNAME"],
            zenml_password=env["ZENML_PASSWORD"],
            zenml_stack=env["ZENML_STACK"],
            s3_access_key=env["S3_ACCESS_KEY"],
            s3_secret_key=env["S3_SECRET_KEY"],
            bucket=env["S3_BUCKET"],
            region=env.get("AWS_DEFAULT_REGION") or "us-east-1",
            mysql_user=env["MYSQL_USER"],
            mysql_password=env["MYSQL_PASSWORD"],
            mysql_database=env["MYSQL_DATABASE"],
            zenml_store_url=env["ZENML_STORE_URL"],
            s3_endpoint_url=env["S3_ENDPOINT_URL"],
            # The ZenML client reads ZENML_STORE_* into its store configuration: the file's timeout is the client's.
            zenml_timeout=float(env.get("ZENML_STORE_HTTP_TIMEOUT") or ZENML_TIMEOUT),
        )


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=value lines of a user's credentials file (comments and blank lines skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))


def front_door(accounts: list[Account], credentials_dir: Path) -> Endpoints | None:
    """The public https addresses the users' files carry, verified with the stack's CA; None without a front
    door (no ``tls/ca.crt`` in the credentials, or plain-http addresses in the users' files)."""
    ca = credentials_dir / "tls" / "ca.crt"
    if not ca.is_file() or not accounts:
        return None
    first = accounts[0]
    if not (first.zenml_store_url.startswith("https://") and first.s3_endpoint_url.startswith("https://")):
        return None
    return Endpoints("front door (TLS)", first.zenml_store_url, first.s3_endpoint_url, str(ca))


def published_url(container: str, port: int, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str:
    """``http://host:port`` where Docker publishes ``container``'s ``port`` (the back end, behind any proxy)."""
    result = run(["docker", "port", container, str(port)], capture_output=True, text=True, check=True)
    address = result.stdout.splitlines()[0].strip()
    host, _, published = address.rpartition(":")
    host = "127.0.0.1" if host in ("0.0.0.0", "[::]", "::") else host
    return f"http://{host}:{published}"


def back_ends(stack: str) -> Endpoints:
    """The ZenML server and MinIO's S3 API as Docker publishes them: the baseline path, no proxy, no TLS."""
    return Endpoints("back ends (direct)", published_url(f"{stack}-zenml", 8080), published_url(f"{stack}-minio", 9000))


# --- what is measured ----------------------------------------------------------------------------
@dataclass
class Sample:
    service: str
    operation: str
    seconds: float
    error: str | None


@dataclass
class Recorder:
    """Every request of a pass, thread-safe."""

    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextlib.contextmanager
    def request(self, service: str, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        error = None
        try:
            yield
        except Exception as exc:  # every failure of a request is a figure, not a crash
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        seconds = time.perf_counter() - started
        with self.lock:
            self.samples.append(Sample(service, operation, seconds, error))

    def failed(self, service: str, operation: str, exc: Exception) -> None:
        with self.lock:
            self.samples.append(Sample(service, operation, 0.0, f"{type(exc).__name__}: {str(exc)[:200]}"))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class ServiceFigures:
    service: str
    requests: int
    per_second: float
    p50: float
    p95: float
    p99: float
    errors: int


def figures(samples: list[Sample], seconds: float) -> list[ServiceFigures]:
    """Requests, requests per second, p50/p95/p99 latency (s) and errors of each service."""
    rows = []
    for service in SERVICES:
        mine = [sample for sample in samples if sample.service == service]
        times = [sample.seconds for sample in mine]
        rows.append(
            ServiceFigures(
                service=service,
                requests=len(mine),
                per_second=len(mine) / seconds if seconds > 0 else 0.0,
                p50=percentile(times, 0.50),
                p95=percentile(times, 0.95),
                p99=percentile(times, 0.99),
                errors=sum(1 for sample in mine if sample.error),
            )
        )
    return rows


def error_kinds(samples: list[Sample], limit: int = 8) -> list[tuple[int, str]]:
    """The most frequent distinct errors, as (count, "service operation: error")."""
    counts: dict[str, int] = {}
    for sample in samples:
        if sample.error:
            key = f"{sample.service} {sample.operation}: {sample.error}"
            counts[key] = counts.get(key, 0) + 1
    return sorted(((count, key) for key, count in counts.items()), reverse=True)[:limit]


def operations_table(samples: list[Sample]) -> str:
    """p50/p95 and errors of each operation: where a service's time goes."""
    operations: dict[tuple[str, str], list[Sample]] = {}
    for sample in samples:
        operations.setdefault((sample.service, sample.operation), []).append(sample)
    lines = []
    for (service, operation), mine in sorted(operations.items()):
        times = [sample.seconds for sample in mine]
        errors = sum(1 for sample in mine if sample.error)
        lines.append(
            f"    {service:6} {operation:22} {len(mine):6d} x  p50 {percentile(times, 0.5):7.3f}  "
            f"p95 {percentile(times, 0.95):7.3f}  errors {errors}"
        )
    return "\n".join(lines)


def figures_table(rows: list[ServiceFigures]) -> str:
    lines = [f"  {'service':8} {'requests':>8} {'req/s':>7} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} {'errors':>6}"]
    lines += [
        f"  {r.service:8} {r.requests:8d} {r.per_second:7.1f} {r.p50:7.3f} {r.p95:7.3f} {r.p99:7.3f} {r.errors:6d}"
        for r in rows
    ]
    return "\n".join(lines)


# --- the clients ---------------------------------------------------------------------------------
def _checked(response: requests.Response) -> requests.Response:
    if not response.ok:
        path = urllib.parse.urlsplit(response.url).path  # without the host: a tracker's port is not the error
        raise RuntimeError(f"HTTP {response.status_code} {response.request.method} {path}: {response.text[:160]}")
    return response


class ZenML:
    """One person's REST session on the ZenML server, at ``endpoints``."""

    def __init__(self, endpoints: Endpoints, account: Account, recorder: Recorder) -> None:
        self.base = endpoints.zenml_url.rstrip("/") + "/api/v1"
        self.account = account
        self.recorder = recorder
        self.session = requests.Session()
        self.session.verify = endpoints.verify
        # requests would let REQUESTS_CA_BUNDLE from the environment replace the session's CA.
        self.session.trust_env = False
        self.timeout = account.zenml_timeout

    def login(self) -> bool:
        """Whether the login succeeded (a failure is recorded; what needs the token is then skipped)."""
        with self.recorder.request("zenml", "login"):
            form = {"username": self.account.zenml_user, "password": self.account.zenml_password}
            answer = _checked(self.session.post(f"{self.base}/login", data=form, timeout=self.timeout))
            self.session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        return "Authorization" in self.session.headers

    def get(self, operation: str, path: str, **params: object) -> dict | None:
        with self.recorder.request("zenml", operation):
            return _checked(self.session.get(f"{self.base}{path}", params=params, timeout=self.timeout)).json()
        return None

    def list_own_stack(self) -> None:
        with self.recorder.request("zenml", "list stack"):
            url = f"{self.base}/stacks"
            params = {"name": self.account.zenml_stack, "hydrate": "true"}
            items = _checked(self.session.get(url, params=params, timeout=self.timeout)).json()["items"]
            if not items:
                raise RuntimeError(f"stack {self.account.zenml_stack} not listed")


def s3_client(endpoints: Endpoints, account: Account, threads: int = 1) -> BaseClient:
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": 1, "mode": "standard"},  # no retry: every failed request counts
        connect_timeout=S3_TIMEOUT,
        read_timeout=S3_TIMEOUT,
        max_pool_connections=max(10, threads),
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoints.s3_url,
        aws_access_key_id=account.s3_access_key,
        aws_secret_access_key=account.s3_secret_key,
        region_name=account.region,
        verify=endpoints.verify,
        config=config,
    )


class MLflow:
    """MLflow's REST API on one tracker (its tracking server is bound to one schema)."""

    def __init__(self, url: str, recorder: Recorder, experiment: str = EXPERIMENT) -> None:
        self.base = url.rstrip("/") + "/api/2.0/mlflow"
        self.recorder = recorder
        self.session = requests.Session()
        self.experiment_name = experiment
        self.experiment_id: str | None = None

    def call(self, method: str, path: str, body: dict) -> dict:
        if method == "GET":
            response = self.session.get(f"{self.base}/{path}", params=body, timeout=MLFLOW_TIMEOUT)
        else:
            response = self.session.post(f"{self.base}/{path}", json=body, timeout=MLFLOW_TIMEOUT)
        if response.status_code == 404 and path == "experiments/get-by-name":
            return {}
        return _checked(response).json()

    def experiment(self) -> str | None:
        """The experiment's id, found or created (MLflow's set_experiment); None when that failed (recorded)."""
        if self.experiment_id is None:
            with self.recorder.request("mlflow", "experiment"):
                found = self.call("GET", "experiments/get-by-name", {"experiment_name": self.experiment_name})
                if found:
                    self.experiment_id = found["experiment"]["experiment_id"]
                else:
                    created = self.call("POST", "experiments/create", {"name": self.experiment_name})
                    self.experiment_id = created["experiment_id"]
        return self.experiment_id

    def log_run(self, iteration: int) -> None:
        experiment = self.experiment()
        if experiment is None:
            return
        now = int(time.time() * 1000)
        run: dict = {}
        with self.recorder.request("mlflow", "create run"):
            body = {"experiment_id": experiment, "start_time": now, "run_name": f"load-{iteration}"}
            run = self.call("POST", "runs/create", body)["run"]["info"]
        if not run:
            return
        batch = {
            "run_id": run["run_id"],
            "params": [{"key": "iteration", "value": str(iteration)}, {"key": "model", "value": "load"}],
            "metrics": [
                {"key": "accuracy", "value": random.random(), "timestamp": now, "step": step} for step in range(5)
            ],
        }
        with self.recorder.request("mlflow", "log batch"):
            self.call("POST", "runs/log-batch", batch)
        with self.recorder.request("mlflow", "end run"):
            end = {"run_id": run["run_id"], "status": "FINISHED", "end_time": int(time.time() * 1000)}
            self.call("POST", "runs/update", end)

    def list_runs(self) -> None:
        with self.recorder.request("mlflow", "teacher lists runs"):
            experiments = self.call("POST", "experiments/search", {"max_results": 100})
            ids = [item["experiment_id"] for item in experiments.get("experiments", [])]
            if ids:
                self.call("POST", "runs/search", {"experiment_ids": ids, "max_results": 100})


# --- the people ----------------------------------------------------------------------------------
@dataclass
class Person:
    """What every simulated person shares: where to go, who they are, when to stop."""

    endpoints: Endpoints
    account: Account
    recorder: Recorder
    deadline: float
    think: float
    iterations: int = 0

    def pause(self) -> None:
        time.sleep(random.uniform(0, 2 * self.think) if self.think > 0 else 0)

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                self.iteration()
            except Exception as exc:  # a bug of the client's own: counted, and the person carries on
                self.recorder.failed("client", "iteration", exc)
            self.iterations += 1
            self.pause()

    def iteration(self) -> None:
        raise NotImplementedError


@dataclass
class Student(Person):
    tracker_url: str = ""
    payload: bytes = b""

    def __post_init__(self) -> None:
        self.s3 = s3_client(self.endpoints, self.account)
        # Students sharing a tracker (see run_load) each keep their own experiment.
        self.mlflow = MLflow(self.tracker_url, self.recorder, f"{EXPERIMENT}-{self.account.username}")

    def iteration(self) -> None:
        zenml = ZenML(self.endpoints, self.account, self.recorder)
        if zenml.login():
            zenml.list_own_stack()
        key = f"load-test/{self.iterations % 2}.bin"
        with self.recorder.request("s3", "put 10 MB"):
            self.s3.put_object(Bucket=self.account.bucket, Key=key, Body=self.payload)
        with self.recorder.request("s3", "get 10 MB"):
            body = self.s3.get_object(Bucket=self.account.bucket, Key=key)["Body"].read()
            if len(body) != len(self.payload):
                raise RuntimeError(f"read {len(body)} bytes of {len(self.payload)}")
        self.mlflow.log_run(self.iterations)


@dataclass
class Teacher(Person):
    tracker_urls: list[str] = field(default_factory=list)

    def iteration(self) -> None:
        zenml = ZenML(self.endpoints, self.account, self.recorder)
        if zenml.login():
            zenml.get("teacher lists runs", "/runs", size=100, sort_by="desc:created")
            zenml.get("teacher lists stacks", "/stacks", size=100)
        for url in self.tracker_urls:
            if time.monotonic() >= self.deadline:
                break
            MLflow(url, self.recorder).list_runs()


@dataclass(frozen=True)
class PassResult:
    endpoints: Endpoints
    seconds: float
    samples: list[Sample]
    iterations: int
    client_cpu: float = 0.0


def run_pass(
    endpoints: Endpoints,
    students: list[tuple[Account, str]],
    teacher: Account | None,
    duration: float,
    think: float,
) -> PassResult:
    """Every student (account, tracker URL) and the teacher at once on ``endpoints`` for ``duration`` s."""
    recorder = Recorder()
    payload = secrets.token_bytes(OBJECT_BYTES)
    deadline = time.monotonic() + duration
    people: list[Person] = [
        Student(endpoints, account, recorder, deadline, think, tracker_url=url, payload=payload)
        for account, url in students
    ]
    if teacher is not None:
        urls = list(dict.fromkeys(url for _, url in students))
        people.append(Teacher(endpoints, teacher, recorder, deadline, think, tracker_urls=urls))
    started, cpu = time.monotonic(), time.process_time()
    threads = [threading.Thread(target=person.run, name=person.account.username, daemon=True) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    with recorder.lock:
        samples = list(recorder.samples)
    iterations = sum(person.iterations for person in people)
    return PassResult(endpoints, seconds, samples, iterations, time.process_time() - cpu)


def report_pass(result: PassResult, students: int) -> str:
    lines = [
        f"{result.endpoints.name}: {students} students + teacher, {result.seconds:.0f} s, "
        f"{result.iterations} iterations, {result.client_cpu:.0f} CPU s in the client",
        f"  ZenML {result.endpoints.zenml_url}, S3 {result.endpoints.s3_url}"
        + (f", CA {result.endpoints.ca_bundle}" if result.endpoints.ca_bundle else ""),
        figures_table(figures(result.samples, result.seconds)),
        "  per operation (seconds):",
        operations_table(result.samples),
    ]
    kinds = error_kinds(result.samples)
    if kinds:
        lines.append("  errors:")
        lines += [f"    {count:5d} x {kind}" for count, kind in kinds]
    return "\n".join(lines)


# --- the trackers --------------------------------------------------------------------------------
def tracker_env(account: Account, ca_in_container: str | None = None) -> dict[str, str]:
    """The tracker's environment, as the template's job gives it (mlops-job's Tracker): the user's own
    schema and bucket, through the services' names on the jobs network."""
    login = f"{urllib.parse.quote(account.mysql_user, safe='')}:{urllib.parse.quote(account.mysql_password, safe='')}"
    uri = f"mysql+pymysql://{login}@database:3306/{account.mysql_database}"
    if ca_in_container:
        uri += f"?ssl_ca={urllib.parse.quote(ca_in_container)}"
    return {
        "MLFLOW_BACKEND_STORE_URI": uri,
        "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{account.bucket}/mlflow",
        "MLFLOW_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": account.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": account.s3_secret_key,
        "AWS_DEFAULT_REGION": account.region,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }


def docker(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    """The docker CLI; secrets reach containers as ``-e NAME`` from this process's environment, never argv."""
    return subprocess.run(
        ["docker", *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, check=check, timeout=300
    )


@dataclass
class Trackers:
    """One MLflow tracker per student: a container of the job image on the jobs network (as a CI job),
    running the template's `mlflow server --workers 1`, its port published on 127.0.0.1."""

    stack: str
    image: str
    network: str
    memory: str = TRACKER_MEMORY
    ca_file: Path | None = None
    urls: dict[str, str] = field(default_factory=dict)

    def name(self, account: Account) -> str:
        return f"{self.stack}-load-tracker-{account.username}"

    def start(self, account: Account) -> None:
        ca_mount = "/etc/onprem-mlops/ca.crt"
        env = tracker_env(account, ca_mount if self.ca_file else None)
        names = [argument for key in env for argument in ("-e", key)]
        mounts = ["-v", f"{self.ca_file}:{ca_mount}:ro"] if self.ca_file else []
        hosts = f"127.0.0.1:{TRACKER_PORT},localhost:{TRACKER_PORT},127.0.0.1:*,localhost:*,127.0.0.1,localhost"
        command = ["mlflow", "server", "--host", "0.0.0.0", "--port", str(TRACKER_PORT), "--workers", "1"]
        container = self.name(account)
        docker("rm", "-f", container, check=False)
        docker(
            "run", "-d", "--name", container, "--network", self.network,
            "--label", f"org.onprem-mlops.stack={self.stack}", "--label", TRACKER_LABEL,
            "--memory", self.memory, "--cpus", "1", "-p", f"127.0.0.1::{TRACKER_PORT}",
            *names, *mounts, self.image, *command, "--allowed-hosts", hosts,
            env=env,
        )  # fmt: skip
        self.urls[account.username] = published_url(container, TRACKER_PORT)

    def start_all(self, accounts: list[Account], at_once: int, timeout: float) -> float:
        """Start a tracker for each of ``accounts``, at most ``at_once`` starting at a time (each start is ~8 CPU
        seconds of imports: a few at a time keep the machine responsive at the same throughput); seconds until
        every one answers /health."""
        started = time.monotonic()
        queue = list(accounts)
        starting: dict[str, str] = {}
        while queue or starting:
            while queue and len(starting) < at_once:
                account = queue.pop(0)
                self.start(account)
                starting[account.username] = self.urls[account.username]
            for user, url in list(starting.items()):
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{url}/health", timeout=2).ok:
                        del starting[user]
            if starting and time.monotonic() - started > timeout:
                user = next(iter(starting))
                logs = docker("logs", "--tail", "30", f"{self.stack}-load-tracker-{user}", check=False)
                raise RuntimeError(
                    f"trackers not ready after {timeout:.0f} s ({', '.join(starting)}); {user}'s log:\n"
                    + logs.stdout
                    + logs.stderr
                )
            time.sleep(0.5)
        return time.monotonic() - started

    def stop(self) -> None:
        mine = ["--filter", f"label={TRACKER_LABEL}", "--filter", f"label=org.onprem-mlops.stack={self.stack}"]
        containers = docker("ps", "-aq", *mine, check=False).stdout.split()
        if containers:
            docker("rm", "-f", *containers, check=False)


# --- memory of the stack's containers ------------------------------------------------------------
def cgroup_memory(container_id: str, root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Bytes a container uses as `docker stats` counts them (usage less inactive page cache), from cgroup
    v1 or v2; None when neither layout is found."""
    for directory, usage_file, inactive_key in (
        (root / "memory" / "docker" / container_id, "memory.usage_in_bytes", "total_inactive_file"),
        (root / "system.slice" / f"docker-{container_id}.scope", "memory.current", "inactive_file"),
        (root / "docker" / container_id, "memory.current", "inactive_file"),
    ):
        with contextlib.suppress(OSError, ValueError):
            usage = int((directory / usage_file).read_text())
            stats = dict(line.split() for line in (directory / "memory.stat").read_text().splitlines())
            return usage - int(stats.get(inactive_key, 0))
    return None


def cgroup_cpu_seconds(container_id: str, root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPU seconds a container has used since it started (cgroup v1 or v2); None when not found."""
    with contextlib.suppress(OSError, ValueError):
        return int((root / "cpuacct" / "docker" / container_id / "cpuacct.usage").read_text()) / 1e9
    for directory in (root / "system.slice" / f"docker-{container_id}.scope", root / "docker" / container_id):
        with contextlib.suppress(OSError, ValueError):
            stats = dict(line.split() for line in (directory / "cpu.stat").read_text().splitlines())
            return int(stats["usage_usec"]) / 1e6
    return None


@dataclass
class MemoryPeaks:
    """Peak memory of every container of ``stack``, sampled every ``interval`` s in a thread, and the CPU
    seconds each used between the first and the last sample."""

    stack: str
    interval: float = 1.0
    peaks: dict[str, int] = field(default_factory=dict)
    cpu_first: dict[str, float] = field(default_factory=dict)
    cpu_last: dict[str, float] = field(default_factory=dict)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def containers(self) -> dict[str, str]:
        listing = docker("ps", "--no-trunc", "--filter", f"label=org.onprem-mlops.stack={self.stack}",
                         "--format", "{{.ID}} {{.Names}}", check=False).stdout  # fmt: skip
        return dict(line.split(" ", 1) for line in listing.splitlines() if line.strip())

    def sample(self, containers: dict[str, str]) -> None:
        for container_id, name in containers.items():
            used = cgroup_memory(container_id)
            if used is not None:
                self.peaks[name] = max(self.peaks.get(name, 0), used)
            cpu = cgroup_cpu_seconds(container_id)
            if cpu is not None:
                self.cpu_first.setdefault(name, cpu)
                self.cpu_last[name] = cpu

    def watch(self) -> None:
        containers = self.containers()
        last_listing = time.monotonic()
        while not self.stop_event.is_set():
            if time.monotonic() - last_listing > 15:
                containers, last_listing = self.containers(), time.monotonic()
            self.sample(containers)
            self.stop_event.wait(self.interval)

    @contextlib.contextmanager
    def watching(self) -> Iterator[MemoryPeaks]:
        thread = threading.Thread(target=self.watch, name="memory", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stop_event.set()
            thread.join()

    def cpu(self, name: str) -> float:
        return self.cpu_last.get(name, 0.0) - self.cpu_first.get(name, 0.0)

    def report(self) -> str:
        trackers = {name: used for name, used in self.peaks.items() if "-load-tracker-" in name}
        others = {name: used for name, used in self.peaks.items() if name not in trackers}
        mib = 1024 * 1024
        lines = [
            f"  {name:40} {used / mib:8.0f} MiB   {self.cpu(name):7.0f} CPU s" for name, used in sorted(others.items())
        ]
        if trackers:
            lines.append(
                f"  {len(trackers)} MLflow trackers{'':25} {sum(trackers.values()) / mib:8.0f} MiB in all, "
                f"{max(trackers.values()) / mib:.0f} MiB the largest, {sum(map(self.cpu, trackers)):.0f} CPU s"
            )
        if not self.peaks:
            lines.append("  (no cgroup memory figures found)")
        return "\n".join(lines)


def summary_json(results: list[PassResult]) -> str:
    """The figures of every pass as one JSON document (for CI logs and the test)."""
    return json.dumps(
        {
            result.endpoints.name: {
                row.service: {k: v for k, v in row.__dict__.items() if k != "service"}
                for row in figures(result.samples, result.seconds)
            }
            for result in results
        }
    )


# --- a whole run ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stack:
    """A deployed stack as the load test needs it: names, its credentials directory and the job image."""

    name: str
    credentials_dir: Path
    job_image: str
    jobs_network: str

    @classmethod
    def from_vars(cls, variables: dict, credentials_dir: Path | None = None) -> Stack:
        name = variables.get("mlops_stack_name", "onprem-mlops")
        return cls(
            name=name,
            credentials_dir=Path(credentials_dir or variables["mlops_credentials_dir"]),
            job_image=variables["mlops_job_image"],
            jobs_network=variables.get("mlops_jobs_network_name") or f"{name}-jobs",
        )

    def account(self, username: str) -> Account:
        return Account.from_env(read_env_file(self.credentials_dir / f"{username}.env"))


@dataclass(frozen=True)
class LoadResult:
    passes: list[PassResult]
    trackers_ready: float
    memory: MemoryPeaks
    trackers: int

    @property
    def errors(self) -> int:
        return sum(1 for result in self.passes for sample in result.samples if sample.error)


def memory_available() -> int:
    """MemAvailable of this machine, in bytes."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


TRACKER_BYTES = 400 * 1024 * 1024  # measured: 375-397 MiB each (the CLI process and its uvicorn worker)
MEMORY_MARGIN = 3 * 1024**3


def trackers_that_fit(wanted: int, available: int | None = None) -> int:
    """How many of ``wanted`` trackers fit in this machine's available memory, keeping a margin (at least 1)."""
    available = memory_available() if available is None else available
    if not available:
        return wanted
    return max(1, min(wanted, (available - MEMORY_MARGIN) // TRACKER_BYTES))


def run_load(
    stack: Stack,
    students: list[str],
    teacher: str | None,
    duration: float,
    think: float,
    trackers_wanted: int = 0,
    log: Callable[[str], None] = print,
) -> LoadResult:
    """Start the trackers (one per student unless ``trackers_wanted`` or the memory says fewer), then every
    pass (the front door when there is one, then the back ends), each for ``duration`` / passes seconds,
    watching the memory of the stack's containers; the trackers are removed at the end.

    With fewer trackers than students, student i logs through tracker i mod T, bound to a classmate's
    schema and bucket: the same work for the database and MinIO, under another owner."""
    accounts = [stack.account(name) for name in students]
    teacher_account = stack.account(teacher) if teacher else None
    paths = [back_ends(stack.name)]
    door = front_door(accounts, stack.credentials_dir)
    if door is not None:
        paths.insert(0, door)
    ca = stack.credentials_dir / "tls" / "ca.crt"
    count = trackers_that_fit(trackers_wanted or len(accounts))
    trackers = Trackers(stack.name, stack.job_image, stack.jobs_network, ca_file=ca if door is not None else None)
    memory = MemoryPeaks(stack.name)
    try:
        log(f"starting {count} MLflow trackers for {len(accounts)} students")
        ready = trackers.start_all(accounts[:count], at_once=4 * (os.cpu_count() or 2), timeout=900)
        log(f"trackers ready after {ready:.0f} s")
        urls = [trackers.urls[account.username] for account in accounts[:count]]
        pairs = [(account, urls[index % count]) for index, account in enumerate(accounts)]
        results = []
        with memory.watching():
            for path in paths:
                log(f"pass: {path.name}, {duration / len(paths):.0f} s")
                results.append(run_pass(path, pairs, teacher_account, duration / len(paths), think))
        return LoadResult(results, ready, memory, count)
    finally:
        trackers.stop()
