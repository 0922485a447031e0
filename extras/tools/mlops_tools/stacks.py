"""mlops-register-stack: the ZenML stacks of the three ways to work with an onprem.mlops server.

- ``local``: everything on this machine. ZenML's local store and artifact store, an MLflow experiment
  tracker writing to a SQLite file next to them, the local orchestrator: the stack ``local-stack``.
- ``hybrid``: compute on this machine, storage and metadata on the server. Logged in to the server's
  ZenML as you, it registers ``<you>-hybrid-artifact-store`` (S3 on your bucket, through the server's
  public S3 address, with your private secret ``<you>-s3``), ``<you>-hybrid-mlflow`` (the MLflow server
  ``mlops-mlflow-ui`` runs on this machine, bound to your schema and bucket), ``<you>-hybrid-orchestrator``
  (local) and the stack ``<you>-hybrid-stack``.
- ``remote``: the server's runner runs your pipeline from GitLab CI on your stack ``<you>-stack``, which
  the server made for you: nothing to register; prints what to set in GitLab.

Running it again changes nothing; a component that differs from what it should be is updated.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from mlops_tools.settings import SECRET_NAMES, Redactor, Settings, ToolError, load

PROG = "mlops-register-stack"
PINNED_ZENML = "0.98.0"
INSTALL_HINT = (
    "install the client packages the server's jobs use: pip install -r extras/tools/requirements.txt "
    f"(zenml[local]=={PINNED_ZENML}, mlflow, s3fs, boto3 at known-good versions)"
)
LOCAL_TRACKER = "local-mlflow"
LOCAL_STACK = "local-stack"
# Where the server's stacks keep artifacts inside a bucket (zenml_tenant's artifact_path_prefix).
ARTIFACT_PREFIX = "zenml"
ARTIFACT_STORE, EXPERIMENT_TRACKER, ORCHESTRATOR = "artifact_store", "experiment_tracker", "orchestrator"
HYBRID_VARIABLES = ("MLOPS_USER", "S3_ENDPOINT_URL", "S3_BUCKET", "ZENML_STORE_URL", "ZENML_USERNAME", "ZENML_PASSWORD")
# The variables of the GitLab project; the template defaults MYSQL_HOST, MYSQL_PORT, S3_ENDPOINT_URL and
# ZENML_STORE_URL to the services' names on the server's network.
CI_VARIABLES = (
    "MLOPS_USER",
    "MYSQL_USER",
    "MYSQL_PASSWORD",
    "MYSQL_DATABASE",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
    "S3_BUCKET",
    "ZENML_USERNAME",
    "ZENML_PASSWORD",
    "ZENML_STACK",
)
CI_DEFAULTS = {
    "MYSQL_HOST": "database",
    "MYSQL_PORT": "3306",
    "S3_ENDPOINT_URL": "http://minio:9000",
    "ZENML_STORE_URL": "http://zenml:8080",
}


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    type: str
    flavor: str
    configuration: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StackSpec:
    name: str
    components: tuple[ComponentSpec, ...]


def hybrid_stack(
    user: str, bucket: str, s3_endpoint: str, artifact_path: str, tracker_port: int, s3_verify: str | None = None
) -> StackSpec:
    """What ``hybrid`` registers for ``user``: their server resources, reached from this machine.

    ``s3_verify``: the CA certificate that verifies the S3 endpoint's TLS (the server's own CA).
    """
    client_kwargs = {"endpoint_url": s3_endpoint, **({"verify": s3_verify} if s3_verify else {})}
    mlflow_secret = f"{user}-mlflow"
    return StackSpec(
        f"{user}-hybrid-stack",
        (
            ComponentSpec(
                f"{user}-hybrid-artifact-store",
                ARTIFACT_STORE,
                "s3",
                {
                    "path": artifact_path,
                    "authentication_secret": f"{user}-s3",
                    "client_kwargs": client_kwargs,
                },
            ),
            # ZenML wants credentials for any http tracker; the local MLflow server ignores them.
            ComponentSpec(
                f"{user}-hybrid-mlflow",
                EXPERIMENT_TRACKER,
                "mlflow",
                {
                    "tracking_uri": f"http://127.0.0.1:{tracker_port}",
                    "tracking_username": f"{{{{{mlflow_secret}.username}}}}",
                    "tracking_password": f"{{{{{mlflow_secret}.password}}}}",
                },
            ),
            ComponentSpec(f"{user}-hybrid-orchestrator", ORCHESTRATOR, "local"),
        ),
    )


def local_stack() -> StackSpec:
    """What ``local`` registers: ZenML's default orchestrator and artifact store, and a tracker on a local file."""
    return StackSpec(
        LOCAL_STACK,
        (
            ComponentSpec("default", ARTIFACT_STORE, "local"),
            ComponentSpec(LOCAL_TRACKER, EXPERIMENT_TRACKER, "mlflow"),
            ComponentSpec("default", ORCHESTRATOR, "local"),
        ),
    )


def configuration_matches(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(existing.get(key) == value for key, value in wanted.items())


# ------------------------------------------------------------------------------------ arguments, main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Register the ZenML stack of one of the three ways to work with the MLOps server.",
        epilog="See docs/user-guide.md of the onprem.mlops collection.",
    )
    scenarios = parser.add_subparsers(dest="scenario", required=True, metavar="{local,hybrid,remote}")
    local = scenarios.add_parser("local", help="everything on this machine (ZenML's local store)")
    hybrid = scenarios.add_parser("hybrid", help="compute here, storage and metadata on the server")
    remote = scenarios.add_parser("remote", help="GitLab CI on the server: check your stack, print the CI variables")
    for scenario in (hybrid, remote):
        scenario.add_argument("--env", metavar="FILE", help="your credentials file (default: the environment)")
    hybrid.add_argument(
        "--tracker-port",
        type=int,
        default=5000,
        help="port of the MLflow server mlops-mlflow-ui runs on this machine (default: 5000)",
    )
    for scenario in (local, hybrid):
        scenario.add_argument("--no-activate", action="store_true", help="register the stack but do not activate it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    redact = Redactor([])
    try:
        if args.scenario == "remote":
            return remote(load(args.env))
        if args.scenario == "hybrid":
            settings = load(args.env)
            redact = Redactor(settings.secrets())
            return hybrid(settings, args.tracker_port, not args.no_activate)
        return local(not args.no_activate)
    except ToolError as error:
        print(f"{PROG}: {redact(str(error))}", file=sys.stderr)
        return error.status


# ----------------------------------------------------------------------------------------- ZenML


def _quiet_zenml() -> None:
    os.environ.setdefault("ZENML_ANALYTICS_OPT_IN", "false")
    os.environ.setdefault("ZENML_LOGGING_VERBOSITY", "WARN")
    os.environ.setdefault("ZENML_ENABLE_RICH_TRACEBACK", "false")


def _zenml_client() -> Any:
    if importlib.util.find_spec("zenml") is None:
        raise ToolError(f"ZenML is not installed for {sys.executable}: {INSTALL_HINT}")
    _quiet_zenml()
    from zenml.client import Client

    return Client()


class Registrar:
    """Brings components and a stack to what a ``StackSpec`` says, through a ZenML client, and reports each step."""

    def __init__(self, client: Any) -> None:
        from zenml.enums import StackComponentType

        self.client, self.types = client, StackComponentType
        self.me = client.active_user
        self.changes: list[str] = []

    def _say(self, action: str, kind: str, name: str) -> None:
        print(f"  {action:<9} {kind} {name}", flush=True)
        if action != "unchanged":
            self.changes.append(f"{action} {kind} {name}")

    def _own(self, kind: str, item: Any) -> None:
        owner = item.user
        if owner is None or owner.id != self.me.id:
            raise ToolError(
                f"the {kind} {item.name} exists and belongs to {owner.name if owner else 'nobody'}, not to "
                f"{self.me.name}: ask your administrator to remove it, then run this again"
            )

    def component(self, spec: ComponentSpec) -> Any:
        kind = self.types(spec.type)
        found = [c for c in self.client.list_stack_components(name=spec.name, type=spec.type, hydrate=True).items]
        existing = next((c for c in found if c.name == spec.name), None)
        label = spec.type.replace("_", " ")
        if existing is None:
            created = self.client.create_stack_component(spec.name, spec.flavor, kind, spec.configuration)
            self._say("created", label, spec.name)
            return created
        if spec.name != "default":
            self._own(label, existing)
        if existing.flavor_name != spec.flavor:
            raise ToolError(
                f"the {label} {spec.name} has the flavor {existing.flavor_name}, not {spec.flavor}, and ZenML "
                f"cannot change a flavor: delete it (zenml {spec.type.replace('_', '-')} delete {spec.name}), run again"
            )
        if configuration_matches(existing.configuration, spec.configuration):
            self._say("unchanged", label, spec.name)
            return existing
        updated = self.client.update_stack_component(existing.id, component_type=kind, configuration=spec.configuration)
        self._say("updated", label, spec.name)
        return updated

    def stack(self, spec: StackSpec) -> Any:
        members = {self.types(c.type): [self.component(c).id] for c in spec.components}
        found = [s for s in self.client.list_stacks(name=spec.name, hydrate=True).items if s.name == spec.name]
        if not found:
            created = self.client.create_stack(spec.name, components=members)
            self._say("created", "stack", spec.name)
            return created
        existing = found[0]
        self._own("stack", existing)
        current = {kind: [c.id for c in items] for kind, items in existing.components.items()}
        if all(current.get(kind) == ids for kind, ids in members.items()):
            self._say("unchanged", "stack", spec.name)
            return existing
        updated = self.client.update_stack(existing.id, component_updates=members)
        self._say("updated", "stack", spec.name)
        return updated

    def activate(self, stack: Any) -> None:
        if self.client.active_stack_model.id == stack.id:
            print(f"  active    stack {stack.name}", flush=True)
            return
        self.client.activate_stack(stack.id)
        print(f"  activated stack {stack.name}", flush=True)


# ----------------------------------------------------------------------------------------- local


def local(activate: bool) -> int:
    if os.environ.get("ZENML_STORE_URL"):
        raise ToolError(
            "ZENML_STORE_URL is set (did you load your .env in this shell?): the local scenario uses ZenML's local "
            "store. Open a new shell, or: unset ZENML_STORE_URL ZENML_STORE_USERNAME ZENML_STORE_PASSWORD"
        )
    try:
        client = _zenml_client()
        store = client.zen_store
    except ModuleNotFoundError as error:
        raise ToolError(f"ZenML's local store needs {error.name}: {INSTALL_HINT}") from None
    if store.type.value != "sql":
        raise ToolError(
            f"your ZenML client is logged in to the server {store.url}: run `zenml logout` to use the local store, "
            "then run this again"
        )
    print(f"{PROG}: local: ZenML's local store {store.url}", flush=True)
    registrar = Registrar(client)
    stack = registrar.stack(local_stack())
    if activate:
        registrar.activate(stack)
        tracking_uri = client.active_stack.experiment_tracker.get_tracking_uri()
        print(f"{PROG}: your MLflow runs go to {tracking_uri}; see them with:", flush=True)
        print(
            f"  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --backend-store-uri {tracking_uri} --workers 1",
            flush=True,
        )
    print(f"{PROG}: {_summary(registrar)}. Run your pipeline: python run.py", flush=True)
    return 0


def _summary(registrar: Registrar) -> str:
    return f"{len(registrar.changes)} change(s)" if registrar.changes else "nothing changed"


# ---------------------------------------------------------------------------------------- hybrid


def hybrid(settings: Settings, tracker_port: int, activate: bool) -> int:
    settings.require(HYBRID_VARIABLES)
    user = settings["MLOPS_USER"]
    os.environ["ZENML_STORE_URL"] = settings["ZENML_STORE_URL"]
    os.environ["ZENML_STORE_USERNAME"] = settings["ZENML_USERNAME"]
    os.environ["ZENML_STORE_PASSWORD"] = settings["ZENML_PASSWORD"]
    if settings.zenml_verify():
        os.environ["ZENML_STORE_VERIFY_SSL"] = settings.zenml_verify()
        # requests prefers REQUESTS_CA_BUNDLE (set on some machines to the public CAs) to a session's own CA
        # file; this process talks to the server only.
        os.environ["REQUESTS_CA_BUNDLE"] = settings.zenml_verify()
    client = _logged_in(settings)
    _require_secrets(client, user)
    print(f"{PROG}: hybrid: {user} on {settings['ZENML_STORE_URL']}", flush=True)
    spec = hybrid_stack(
        user,
        settings["S3_BUCKET"],
        settings["S3_ENDPOINT_URL"],
        _artifact_path(client, user, settings["S3_BUCKET"]),
        tracker_port,
        settings.s3_verify(),
    )
    registrar = Registrar(client)
    stack = registrar.stack(spec)
    if activate:
        registrar.activate(stack)
    print(
        f"{PROG}: {_summary(registrar)}. Start the tracker in another terminal: mlops-mlflow-ui --env <you>.env "
        f"--port {tracker_port}; then run your pipeline: python run.py",
        flush=True,
    )
    return 0


def _logged_in(settings: Settings) -> Any:
    client = _zenml_client()
    try:
        me = client.active_user
    except Exception as error:  # ZenML raises many kinds (connection, credentials, version)
        raise ToolError(
            f"cannot log in to ZenML at {settings['ZENML_STORE_URL']} as {settings['ZENML_USERNAME']}: "
            f"{error.__class__.__name__}: {error}. Check ZENML_STORE_URL, ZENML_USERNAME and ZENML_PASSWORD"
        ) from None
    if me.name != settings["MLOPS_USER"]:
        raise ToolError(f"ZenML logged in as {me.name}, not {settings['MLOPS_USER']}: check ZENML_USERNAME")
    return client


def _require_secrets(client: Any, user: str) -> None:
    names = {secret.name for secret in client.list_secrets(name=f"startswith:{user}-", size=100).items}
    missing = sorted({f"{user}-s3", f"{user}-mlflow"} - names)
    if missing:
        raise ToolError(
            f"your ZenML secrets {', '.join(missing)} are missing: ask your administrator to run "
            "manage_users.yml --tags add for you again"
        )


def _artifact_path(client: Any, user: str, bucket: str) -> str:
    """The path of the server stack's artifact store, so hybrid and CI runs keep artifacts in one place."""
    found = client.list_stack_components(name=f"{user}-artifact-store", type=ARTIFACT_STORE, hydrate=True).items
    for component in found:
        path = component.configuration.get("path", "")
        if component.name == f"{user}-artifact-store" and path.startswith(f"s3://{bucket}"):
            return path
    return f"s3://{bucket}/{ARTIFACT_PREFIX}"


# ---------------------------------------------------------------------------------------- remote


def remote(settings: Settings) -> int:
    settings.require(CI_VARIABLES)
    stack = settings["ZENML_STACK"]
    print(f"{PROG}: remote: GitLab CI runs your pipeline on the server's runner, with your stack {stack}.")
    print(check_remote_stack(settings))
    print("In your GitLab project, Settings > CI/CD > Variables, add (tick Masked and Protected for the secrets):")
    width = max(map(len, CI_VARIABLES))
    for name in CI_VARIABLES:
        value = f"<the value of {name} in your .env>   (secret)" if name in SECRET_NAMES else settings[name]
        print(f"  {name:<{width}}  {value}")
    defaults = ", ".join(f"{name}={value}" for name, value in CI_DEFAULTS.items())
    print(
        f"The template reaches the services by their names on the server ({defaults}): do not set those "
        "unless your administrator says so. Then include the template in .gitlab-ci.yml and push "
        "(docs/user-guide.md, Remote)."
    )
    return 0


def check_remote_stack(settings: Settings) -> str:
    """Whether the stack exists on the server, asked through ZenML's REST API as the user."""
    url, stack = settings.get("ZENML_STORE_URL"), settings["ZENML_STACK"]
    if not url:
        return "(ZENML_STORE_URL is not set: your stack was not checked)"
    ca = settings.zenml_verify()
    context = ssl.create_default_context(cafile=ca) if ca else None
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
    try:
        form = urllib.parse.urlencode(
            {"username": settings["ZENML_USERNAME"], "password": settings["ZENML_PASSWORD"]}
        ).encode()
        with opener.open(f"{url}/api/v1/login", data=form, timeout=10) as answer:
            token = json.load(answer)["access_token"]
        query = urllib.parse.urlencode({"name": stack})
        request = urllib.request.Request(f"{url}/api/v1/stacks?{query}", headers={"Authorization": f"Bearer {token}"})
        with opener.open(request, timeout=10) as answer:
            names = [item["name"] for item in json.load(answer)["items"]]
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise ToolError(f"ZenML at {url} refuses {settings['ZENML_USERNAME']}: check ZENML_PASSWORD") from None
        return f"(warning: ZenML at {url} answered {error.code}: your stack was not checked)"
    except (urllib.error.URLError, OSError, ValueError, KeyError) as error:
        return f"(warning: cannot reach ZenML at {url} ({error}): your stack was not checked)"
    if stack not in names:
        raise ToolError(
            f"there is no stack {stack} on {url}: ask your administrator to run manage_users.yml --tags add"
        )
    return f"Your stack {stack} exists on {url}."
