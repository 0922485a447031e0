"""A user's settings: the variables of their credentials file (credentials/<user>.env) or of the environment.

The file is parsed, never sourced: a value is taken literally (no shell expansion, no command), so a
password with `$` or a quote in it reaches the tools unchanged. The one exception is a leading ``${PWD}``
(the CA certificate's path, ``${PWD}/<server>-ca.crt``): it stands for the file's own folder, which is what
the shell makes of it when the file is loaded from its folder.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# The same rule as the collection's usernames (plugins/filter/users.py).
USERNAME_RE = re.compile(r"^[a-z][a-z0-9]{2,19}$")
SCHEMA_PREFIX = "mlflow_"
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FOLDER = "${PWD}"
# The variables that name the server's CA certificate (students' tools verify the TLS front door with it).
CA_VARIABLES = ("MLOPS_CA_FILE", "AWS_CA_BUNDLE", "MYSQL_SSL_CA", "ZENML_STORE_VERIFY_SSL")
# Every variable of the credentials file that holds a secret; tools never print their values.
SECRET_NAMES = (
    "MYSQL_PASSWORD",
    "S3_SECRET_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "MLFLOW_TRACKING_PASSWORD",
    "ZENML_PASSWORD",
    "ZENML_STORE_PASSWORD",
)


class ToolError(Exception):
    """A problem the user can fix; the message says how. ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Refused(ToolError):
    """A request the user's role does not allow."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=3)


@dataclass(frozen=True)
class Settings:
    values: dict[str, str]
    source: str

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def require(self, names: Iterable[str]) -> None:
        missing = [name for name in names if not self.values.get(name)]
        if missing:
            raise ToolError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set in {self.source}. "
                "Give your credentials file with --env credentials/<you>.env, or load it in your shell: "
                "set -a; . ./<you>.env; set +a"
            )

    def secrets(self) -> list[str]:
        return [self.values[name] for name in SECRET_NAMES if self.values.get(name)]

    @property
    def ca_file(self) -> str | None:
        """The CA certificate that verifies the server's TLS, or None (a public CA or no TLS)."""
        return self.values.get("MLOPS_CA_FILE") or None

    def database_ca(self) -> str | None:
        return self.values.get("MYSQL_SSL_CA") or self.ca_file

    def s3_verify(self) -> str | None:
        return self.values.get("AWS_CA_BUNDLE") or self.ca_file

    def zenml_verify(self) -> str | None:
        """The CA file for ZenML (ZENML_STORE_VERIFY_SSL may also be true or false, which is not a file)."""
        value = self.values.get("ZENML_STORE_VERIFY_SSL", "")
        return value if value.lower() not in ("", "true", "false", "1", "0") else self.ca_file


@dataclass(frozen=True)
class Target:
    """Whose runs a tool opens: their MLflow schema and bucket."""

    user: str
    schema: str
    bucket: str
    own: bool


def parse_env(text: str, source: str = "the file", folder: Path | None = None) -> dict[str, str]:
    """KEY=VALUE lines; blank lines, comments and a leading ``export`` are skipped, one pair of quotes removed.

    With ``folder``, a value starting with ``${PWD}`` starts with that folder instead.
    """
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, separator, value = line.partition("=")
        key = key.strip()
        if not separator or not _KEY_RE.match(key):
            # The line itself is not shown: it may hold a password.
            raise ToolError(f"line {number} of {source} is not KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if folder is not None and value.startswith(_FOLDER):
            value = str(folder) + value[len(_FOLDER) :]
        values[key] = value
    return values


def check_ca_files(settings: Settings) -> Settings:
    """Refuse a CA certificate variable that names no file, saying where the file belongs."""
    for name in CA_VARIABLES:
        value = settings.get(name)
        # ZENML_STORE_VERIFY_SSL may also be true/false.
        if value and value.lower() not in ("true", "false", "1", "0") and not Path(value).is_file():
            raise ToolError(
                f"{name}={value} is not a file: keep the server's CA certificate ({Path(value).name}) in the folder "
                f"of your .env, as your administrator handed them to you, and load the .env from that folder"
            )
    return settings


def load(env_file: str | None, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of ``env_file``, or of the environment without one."""
    if env_file is None:
        # A literal ${PWD} (docker run --env-file does not expand it) is the working folder, as for a shell.
        values = {
            name: str(Path.cwd()) + value[len(_FOLDER) :] if value.startswith(_FOLDER) else value
            for name, value in (os.environ if environ is None else environ).items()
        }
        return check_ca_files(Settings(values, "the environment"))
    path = Path(env_file).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ToolError(f"{path} does not exist: give the .env file your administrator handed you") from None
    except OSError as error:
        raise ToolError(f"cannot read {path}: {error.strerror}") from None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {path} can be read by other users of this machine; chmod 600 {path}", file=sys.stderr)
    return check_ca_files(Settings(parse_env(text, str(path), path.resolve().parent), str(path)))


def resolve_target(settings: Settings, requested: str | None) -> Target:
    """Whose runs to open: one's own, or, for an administrator, anyone's (``--user``).

    The server enforces the same rule (a developer's database and S3 accounts reach their own schema and
    bucket only); refusing here just says so before anything starts.
    """
    me = settings["MLOPS_USER"]
    if not requested or requested == me:
        return Target(me, settings["MYSQL_DATABASE"], settings["S3_BUCKET"], own=True)
    if not USERNAME_RE.match(requested):
        raise ToolError(f"--user {requested!r} is not a valid username (3 to 20 lower-case letters and digits)")
    role = settings.get("MLOPS_ROLE")
    if role != "administrator":
        described = f"a {role}" if role else "not an administrator (MLOPS_ROLE is not set)"
        raise Refused(
            f"{me} is {described}: only administrators can open another user's runs ({requested}). "
            "Leave out --user to open your own."
        )
    return Target(requested, f"{SCHEMA_PREFIX}{requested}", requested, own=False)


class Redactor:
    """Replaces every secret value in a text with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({secret for secret in secrets if len(secret) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text
