"""mlops-mlflow-ui: the MLflow UI on your own machine, against your runs stored on the server.

It starts ``mlflow server`` on this machine (127.0.0.1 by default), bound to the MLflow schema and the
bucket of a user on the server: your own, or, for an administrator, anyone's (``--user``). The
database password reaches MLflow in MLFLOW_BACKEND_STORE_URI and the S3 keys in AWS_*, never on a
command line. MLflow's output is shown with every secret replaced by ``***``.

It never creates or upgrades a schema: the server migrates every schema when it provisions a user and
when its MLflow version changes. A schema that does not match this MLflow's version is refused, with
what to do.
"""

from __future__ import annotations

import argparse
import collections
import errno
import importlib.metadata
import importlib.util
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlencode, urlparse

from mlops_tools.settings import CA_VARIABLES, Redactor, Settings, Target, ToolError, load, resolve_target

PROG = "mlops-mlflow-ui"
# The versions of the server's CI jobs (images/ci-job/requirements.txt and the job image's tag).
PINNED_MLFLOW = "3.17.2"
JOB_IMAGE = "onprem-mlops/ci-job:zenml-0.98.0-mlflow-3.17.2"
# Where the server's trackers put artifacts inside a bucket (the CI template uses the same).
ARTIFACTS_PREFIX = "mlflow"
SERVER_VARIABLES = (
    "MLOPS_USER",
    "MYSQL_HOST",
    "MYSQL_PORT",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_DATABASE",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "S3_BUCKET",
)
# What the container of --docker gets from this tool's environment (by name: the values stay off the command line).
CONTAINER_VARIABLES = (*SERVER_VARIABLES, "MLOPS_ROLE", "AWS_DEFAULT_REGION")
# Never handed to the MLflow server: it gets its credentials in the variables it reads, nothing more.
SERVER_ENV_DROPPED = frozenset(
    {
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "MLFLOW_TRACKING_URI",
        "MLFLOW_TRACKING_USERNAME",
        "MLFLOW_TRACKING_PASSWORD",
        "MLFLOW_REGISTRY_STORE_URI",
        "MLFLOW_DEFAULT_ARTIFACT_ROOT",
        "MLFLOW_ARTIFACTS_DESTINATION",
        "MYSQL_PASSWORD",
        "S3_SECRET_KEY",
        "ZENML_PASSWORD",
        "ZENML_STORE_PASSWORD",
    }
)
TOOLS_DIR = Path(__file__).resolve().parents[1]
CONTAINER_TOOLS_DIR = "/opt/mlops-tools"
# Where the --docker container finds the server's CA certificate.
CONTAINER_CA_FILE = "/etc/ssl/certs/onprem-mlops-ca.crt"
STOP_TIMEOUT = 15
LOOPBACK_NAMES = frozenset({"localhost", "::1"})
INSTALL_HINT = (
    f'pip install "mlflow=={PINNED_MLFLOW}" pymysql boto3 (or pip install -r extras/tools/requirements.txt '
    f"for every tool), or run MLflow in the job image with --docker ({JOB_IMAGE})"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Open the MLflow UI on this machine against your runs on the MLOps server "
        "(administrators: anyone's, with --user).",
        epilog="Example: mlops-mlflow-ui --env credentials/alice.env, then open http://127.0.0.1:5000. "
        "Ctrl+C stops it.",
    )
    parser.add_argument(
        "--env", metavar="FILE", help="your credentials file (default: the same variables, from the environment)"
    )
    parser.add_argument(
        "--user", metavar="NAME", help="administrators: open NAME's runs (schema mlflow_NAME, bucket NAME)"
    )
    parser.add_argument("--port", type=_port, default=5000, help="port of the UI (default: 5000)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, reachable from this machine only)",
    )
    parser.add_argument(
        "--docker", action="store_true", help=f"run MLflow in a container of the job image ({JOB_IMAGE})"
    )
    parser.add_argument("--image", default=JOB_IMAGE, help="the image of --docker")
    parser.add_argument(
        "--docker-network",
        metavar="NETWORK",
        help="network of the --docker container (default: host when the server is at a loopback address, "
        "otherwise Docker's default bridge with the port published)",
    )
    parser.add_argument("--ready-timeout", type=float, default=120, metavar="SECONDS", help=argparse.SUPPRESS)
    # Set by --docker for the tool inside the container: the address the user opens.
    parser.add_argument("--public-url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = load(args.env)
        settings.require(SERVER_VARIABLES)
        target = resolve_target(settings, args.user)
        check_port_free(args.host, args.port)
        if args.docker:
            return run_in_docker(args, settings, target)
        return serve(args, settings, target)
    except ToolError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


# ------------------------------------------------------------------------------------------- checks


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Lets the port be taken while an old connection lingers (TIME_WAIT), not while a server listens.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise ToolError(
                    f"port {port} on {host} is in use (another MLflow UI, or another program): stop it, or choose "
                    "another port with --port"
                ) from None
            raise ToolError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def installed_mlflow() -> str:
    try:
        version = importlib.metadata.version("mlflow")
    except importlib.metadata.PackageNotFoundError:
        raise ToolError(f"MLflow is not installed for {sys.executable}: {INSTALL_HINT}") from None
    missing = [module for module in ("pymysql", "boto3") if importlib.util.find_spec(module) is None]
    if missing:
        raise ToolError(f"MLflow {version} is installed but not {' and '.join(missing)}: {INSTALL_HINT}")
    return version


def mlflow_revisions() -> tuple[str, Callable[[str], bool]]:
    """The head of this MLflow's schema migrations, and whether a revision is one of them."""
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import _get_alembic_config

    script = ScriptDirectory.from_config(_get_alembic_config("mysql+pymysql://"))

    def known(revision: str) -> bool:
        try:
            return script.get_revision(revision) is not None
        except Exception:  # alembic raises several kinds for an unknown revision
            return False

    return script.get_current_head(), known


def schema_problem(schema: str, revision: str | None, head: str, known: bool, version: str, hint: str) -> str | None:
    """Why MLflow ``version`` (whose newest revision is ``head``) must not open ``schema``; None when it may."""
    if revision == head:
        return None
    if revision is None:
        return (
            f"the schema {schema} has no MLflow tables yet. The server creates them: ask your administrator to run "
            "manage_users.yml --tags sync (or --tags add for this user). This tool never creates or upgrades a schema."
        )
    if known:
        return (
            f"the schema {schema} is at an older MLflow revision ({revision}) than MLflow {version} expects ({head}). "
            "The server upgrades every user's schema to its MLflow version when the administrator runs "
            f"manage_users.yml --tags sync; until then, {hint}. This tool never upgrades a schema."
        )
    return (
        f"the schema {schema} was migrated by another MLflow version than {version} (its revision {revision} is "
        f"unknown to {version}): {hint}."
    )


def version_hint(in_container: bool, image: str) -> str:
    if in_container:
        return f"this image's MLflow does not match the server's: use the image of the server's CI jobs (not {image})"
    return f'use the MLflow version of the server\'s CI jobs: pip install "mlflow=={PINNED_MLFLOW}", or --docker'


def schema_revision(settings: Settings, target: Target) -> str | None:
    import pymysql

    try:
        port = int(settings["MYSQL_PORT"])
    except ValueError:
        raise ToolError(f"MYSQL_PORT must be a number, not {settings['MYSQL_PORT']!r}") from None
    try:
        connection = pymysql.connect(
            host=settings["MYSQL_HOST"],
            port=port,
            user=settings["MYSQL_USER"],
            password=settings["MYSQL_PASSWORD"],
            database=target.schema,
            connect_timeout=10,
            ssl={"ca": settings.database_ca()} if settings.database_ca() else None,
        )
    except pymysql.err.MySQLError as error:
        raise ToolError(database_problem(error, settings, target)) from None
    with connection, connection.cursor() as cursor:
        cursor.execute("SHOW TABLES LIKE 'alembic_version'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
        if row and not target.own and cursor.execute("SHOW TABLES LIKE 'experiments'"):
            # Administrators read others' schemas with SELECT only; MLflow would create its default experiment.
            cursor.execute("SELECT COUNT(*) FROM experiments")
            if not cursor.fetchone()[0]:
                raise ToolError(f"{target.user} has no MLflow experiment yet: there is nothing to show")
    return row[0] if row else None


def database_problem(error: Exception, settings: Settings, target: Target) -> str:
    code = error.args[0] if error.args else None
    where = f"the database at {settings['MYSQL_HOST']}:{settings['MYSQL_PORT']}"
    if code == 1045:
        return (
            f"{where} refuses the login of {settings['MYSQL_USER']}: check MYSQL_USER and MYSQL_PASSWORD "
            "(after a password rotation, use the new .env)"
        )
    if code == 1044:
        return (
            f"{settings['MYSQL_USER']} may not open the schema {target.schema}: only administrators read others' runs"
        )
    if code == 1049:
        if target.own:
            return f"the schema {target.schema} does not exist on {where}: ask your administrator"
        return f"there is no schema {target.schema}: is {target.user} a user? (manage_users.yml --tags list)"
    detail = error.args[1] if len(error.args) > 1 else str(error)
    if code in (2003, 2005, 2006, 2013):
        return (
            f"cannot reach {where} ({detail}): check MYSQL_HOST and MYSQL_PORT, and that this machine may reach the "
            "server (VPN, firewall)"
        )
    return f"{where} answered with an error: {detail}"


def check_bucket(settings: Settings, target: Target) -> None:
    import boto3
    import botocore.config
    import botocore.exceptions

    endpoint = settings["S3_ENDPOINT_URL"]
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=settings["S3_ACCESS_KEY"],
        aws_secret_access_key=settings["S3_SECRET_KEY"],
        region_name=settings.get("AWS_DEFAULT_REGION") or "us-east-1",
        config=botocore.config.Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}),
        verify=settings.s3_verify(),
    )
    try:
        client.head_bucket(Bucket=target.bucket)
    except botocore.exceptions.ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in ("404", "NoSuchBucket"):
            raise ToolError(f"there is no bucket {target.bucket} on {endpoint}") from None
        if code in ("403", "AccessDenied"):
            raise ToolError(
                f"{endpoint} refuses {settings['S3_ACCESS_KEY']} access to the bucket {target.bucket}: check "
                "S3_ACCESS_KEY and S3_SECRET_KEY (only administrators read others' buckets)"
            ) from None
        raise ToolError(f"{endpoint} answered with an error for the bucket {target.bucket}: {code}") from None
    except botocore.exceptions.BotoCoreError as error:
        raise ToolError(
            f"cannot reach the object store at {endpoint} ({error}): check S3_ENDPOINT_URL, and that this machine "
            "may reach the server"
        ) from None


# ------------------------------------------------------------------------------------------ the server


def backend_store_uri(settings: Settings, target: Target) -> str:
    host = settings["MYSQL_HOST"]
    if ":" in host:
        host = f"[{host}]"
    user, password = quote(settings["MYSQL_USER"], safe=""), quote(settings["MYSQL_PASSWORD"], safe="")
    uri = f"mysql+pymysql://{user}:{password}@{host}:{settings['MYSQL_PORT']}/{target.schema}"
    ca = settings.database_ca()
    # The database refuses people's logins without TLS; the CA verifies its certificate.
    return f"{uri}?{urlencode({'ssl_ca': ca})}" if ca else uri


def artifacts_destination(target: Target) -> str:
    return f"s3://{target.bucket}/{ARTIFACTS_PREFIX}"


def server_environment(settings: Settings, target: Target, base: dict[str, str]) -> dict[str, str]:
    env = {name: value for name, value in base.items() if name not in SERVER_ENV_DROPPED}
    env.update(
        MLFLOW_BACKEND_STORE_URI=backend_store_uri(settings, target),
        MLFLOW_S3_ENDPOINT_URL=settings["S3_ENDPOINT_URL"],
        AWS_ACCESS_KEY_ID=settings["S3_ACCESS_KEY"],
        AWS_SECRET_ACCESS_KEY=settings["S3_SECRET_KEY"],
        AWS_DEFAULT_REGION=settings.get("AWS_DEFAULT_REGION") or "us-east-1",
        # Job execution starts a pool of extra processes the UI does not need (and ~600 MB).
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        PYTHONUNBUFFERED="1",
    )
    if settings.s3_verify():
        env["AWS_CA_BUNDLE"] = settings.s3_verify()
    return env


def server_command(host: str, port: int, target: Target) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
        "--artifacts-destination",
        artifacts_destination(target),
        # One line per request of the browser would bury what matters in the terminal.
        "--uvicorn-opts",
        "--no-access-log",
    ]


def local_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class OutputRelay(threading.Thread):
    """Copies the server's output to stderr, secrets replaced, and keeps its last lines."""

    def __init__(self, stream: IO[str], redact: Callable[[str], str]) -> None:
        super().__init__(daemon=True)
        self.stream, self.redact = stream, redact
        self.tail: collections.deque[str] = collections.deque(maxlen=40)

    def run(self) -> None:
        for line in self.stream:
            text = self.redact(line.rstrip("\n"))
            self.tail.append(text)
            print(f"  mlflow | {text}", file=sys.stderr, flush=True)


def stop_on_signals() -> threading.Event:
    """An event set by Ctrl+C, SIGTERM or a closed terminal, so that every one of them stops the server cleanly."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)
    return stop


def is_ready(url: str) -> bool:
    # No proxy: a proxy from the environment must not stand between us and 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/health", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(process: subprocess.Popen, url: str, timeout: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set() and process.poll() is None:
        if is_ready(url):
            return True
        stop.wait(0.5)
    return False


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_server(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the server's whole process group (MLflow runs its web server as a child), SIGKILL if it lingers."""
    group = process.pid
    if _group_alive(group):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()
        if process.returncode is not None and not _group_alive(group):
            return
        time.sleep(0.2)
    if _group_alive(group):
        os.killpg(group, signal.SIGKILL)
    process.wait()


def preflight(settings: Settings, target: Target, hint: str) -> str:
    """Check MLflow, the schema and the bucket before anything starts; return MLflow's version."""
    version = installed_mlflow()
    head, known = mlflow_revisions()
    revision = schema_revision(settings, target)
    problem = schema_problem(target.schema, revision, head, known(revision or ""), version, hint)
    if problem:
        raise ToolError(problem)
    check_bucket(settings, target)
    return version


def preflight_apart(settings: Settings, target: Target, hint: str) -> str:
    """``preflight`` in a process of its own: MLflow and boto3 would stay in this one's memory for hours."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(preflight, settings, target, hint).result()


def serve(args: argparse.Namespace, settings: Settings, target: Target) -> int:
    version = preflight_apart(settings, target, version_hint(args.public_url is not None, args.image))
    url = local_url(args.host, args.port)
    print(
        f"{PROG}: runs of {target.user}: schema {target.schema} on {settings['MYSQL_HOST']}:{settings['MYSQL_PORT']} "
        f"(as {settings['MYSQL_USER']}), artifacts {artifacts_destination(target)} on {settings['S3_ENDPOINT_URL']}; "
        f"MLflow {version}",
        flush=True,
    )
    stop = stop_on_signals()
    redact = Redactor([*settings.secrets(), quote(settings["MYSQL_PASSWORD"], safe="")])
    process = subprocess.Popen(
        server_command(args.host, args.port, target),
        env=server_environment(settings, target, dict(os.environ)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    relay = OutputRelay(process.stdout, redact)
    relay.start()
    try:
        return supervise(process, url, args, target, stop)
    finally:
        stop_server(process)
        relay.join(timeout=5)


def supervise(
    process: subprocess.Popen, url: str, args: argparse.Namespace, target: Target, stop: threading.Event
) -> int:
    started = time.monotonic()
    ready = wait_ready(process, url, args.ready_timeout, stop)
    if stop.is_set():
        print(f"{PROG}: stopped", flush=True)
        return 0
    if not ready:
        if process.poll() is None:
            raise ToolError(f"MLflow did not answer on {url} within {args.ready_timeout:.0f} s (its output is above)")
        raise ToolError(f"MLflow stopped while starting, with status {process.returncode} (its output is above)")
    shown = args.public_url or url
    print(
        f"{PROG}: the MLflow UI of {target.user} is at {shown} (ready in {time.monotonic() - started:.1f} s; "
        "Ctrl+C stops it)",
        flush=True,
    )
    while not stop.wait(0.5):
        if process.poll() is not None:
            raise ToolError(f"MLflow stopped unexpectedly, with status {process.returncode} (its output is above)")
    print(f"{PROG}: stopping", flush=True)
    stop_server(process)
    print(f"{PROG}: stopped", flush=True)
    return 0


# ------------------------------------------------------------------------------------------- --docker


def is_loopback(host: str | None) -> bool:
    return bool(host) and (host in LOOPBACK_NAMES or host.startswith("127."))


def default_network(settings: Settings) -> str | None:
    """``host`` when the server is this machine's loopback (a container cannot reach it otherwise)."""
    hosts = (settings["MYSQL_HOST"], urlparse(settings["S3_ENDPOINT_URL"]).hostname)
    return "host" if any(is_loopback(host) for host in hosts) else None


def container_name(target: Target, port: int) -> str:
    return f"mlops-mlflow-ui-{target.user}-{port}"


def docker_command(
    docker: str, args: argparse.Namespace, target: Target, network: str | None, ca_file: str | None = None
) -> list[str]:
    """``docker run`` of this tool inside the job image; variables are passed by name only (the CA's path,
    no secret, by value)."""
    inner_host = args.host if network == "host" else "0.0.0.0"
    command = [
        docker,
        "run",
        "--rm",
        "--init",
        "--name",
        container_name(target, args.port),
        "--mount",
        f"type=bind,source={TOOLS_DIR},target={CONTAINER_TOOLS_DIR},readonly",
        "--env",
        "PYTHONDONTWRITEBYTECODE=1",
    ]
    if network:
        command += ["--network", network]
    if network != "host":
        published = f"[{args.host}]" if ":" in args.host else args.host
        command += ["--publish", f"{published}:{args.port}:{args.port}"]
    if ca_file:
        command += ["--mount", f"type=bind,source={ca_file},target={CONTAINER_CA_FILE},readonly"]
        for name in CA_VARIABLES:
            command += ["--env", f"{name}={CONTAINER_CA_FILE}"]
    for name in CONTAINER_VARIABLES:
        command += ["--env", name]
    command += [
        args.image,
        "python",
        f"{CONTAINER_TOOLS_DIR}/mlops-mlflow-ui",
        "--host",
        inner_host,
        "--port",
        str(args.port),
        "--public-url",
        local_url(args.host, args.port),
        "--ready-timeout",
        str(args.ready_timeout),
    ]
    if not target.own:
        command += ["--user", target.user]
    return command


def check_image(docker: str, image: str) -> None:
    found = subprocess.run(
        [docker, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True, text=True, check=False
    )
    if found.returncode == 0:
        return
    message = found.stderr.strip()
    if "No such image" in message:
        raise ToolError(
            f"the image {image} is not on this machine: build it with scripts/build-images.sh ci-job (in the "
            "onprem.mlops collection), or pull it from your course's registry"
        )
    raise ToolError(f"Docker cannot be used: {message}")


def run_in_docker(args: argparse.Namespace, settings: Settings, target: Target) -> int:
    docker = shutil.which("docker")
    if docker is None:
        raise ToolError(f"--docker needs Docker, which is not installed; or install MLflow: {INSTALL_HINT}")
    check_image(docker, args.image)
    network = args.docker_network or default_network(settings)
    name = container_name(target, args.port)
    env = dict(os.environ)
    env.update({variable: settings.get(variable) for variable in CONTAINER_VARIABLES if settings.get(variable)})
    print(f"{PROG}: starting MLflow in a container of {args.image} ({name})", flush=True)
    stop = stop_on_signals()
    process = subprocess.Popen(
        docker_command(docker, args, target, network, settings.ca_file),
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    while process.poll() is None:
        if stop.wait(0.5):
            stop_container(docker, name, process)
            break
    return process.wait()


def stop_container(docker: str, name: str, process: subprocess.Popen) -> None:
    """``docker stop``: the tool inside stops MLflow and exits, and ``docker run`` returns its status.

    Asked again until ``docker run`` ends: a stop that comes while the container is being created finds nothing.
    """
    deadline = time.monotonic() + STOP_TIMEOUT + 15
    while process.poll() is None and time.monotonic() < deadline:
        subprocess.run([docker, "stop", "--time", str(STOP_TIMEOUT), name], capture_output=True, check=False)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            continue
    if process.poll() is None:
        subprocess.run([docker, "rm", "--force", name], capture_output=True, check=False)
        process.terminate()
