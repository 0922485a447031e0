# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of the onprem.mlops MinIO modules.

Login options, the two SDK clients (``MinioAdmin`` for IAM and quotas, ``Minio`` for buckets), the admin
requests the SDK lacks or makes slow (``seal``, ``MinioClients.set_user_secret``), turning SDK errors into
``fail_json`` messages, and the comparisons every module needs: canonical policy documents and human sizes.
The per-resource logic lives in the private ``_minio_<resource>`` files next to this one.
"""

import hashlib
import json
import os
import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from ansible.module_utils.basic import AnsibleModule

# The other MinIO modules show secrets in their diffs as the tenant modules do.
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import (
    SECRET_CHANGED_PLACEHOLDER as SECRET_CHANGED_PLACEHOLDER,
)
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import SECRET_PLACEHOLDER as SECRET_PLACEHOLDER

try:
    import certifi
    import urllib3
    from minio import Minio, MinioAdmin, crypto
    from minio.credentials import StaticProvider
    from minio.crypto import decrypt, encrypt
    from minio.error import MinioAdminException, MinioException, S3Error
    from minio.minioadmin import _COMMAND
except ImportError:
    MINIO_IMPORT_ERROR: str | None = traceback.format_exc()
    # Stand-ins so that the modules still import and connect() can report the missing library.
    MinioAdminException = S3Error = MinioException = type("MinioMissing", (Exception,), {})
else:
    MINIO_IMPORT_ERROR = None

# Errors in which a signed request reached MinIO but the credentials or their rights were refused.
_CREDENTIAL_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "XMinioAdminNotAdmin"})
_CREDENTIAL_HINT = (
    "check access_key and secret_key, and that this account is a MinIO admin "
    "(the root user or a user with the consoleAdmin policy)"
)
# Errors of a server that does not know an admin call (too old, or not MinIO).
_UNSUPPORTED_CODES = frozenset({"", "NotImplemented", "XMinioAdminVersionMismatch"})
_VERSION_HINT = "check that the server is a MinIO release from 2023 or later, which this admin API needs"
# As the collection's size_to_bytes filter: a bare letter (10g) and KiB/MiB/GiB are powers of 1024,
# KB/MB/GB powers of 1000.
_SIZE_UNITS = {
    "": 1,
    "b": 1,
    **{letter: 1024**power for power, letter in enumerate("kmgtp", start=1)},
    **{f"{letter}ib": 1024**power for power, letter in enumerate("kmgtp", start=1)},
    **{f"{letter}b": 1000**power for power, letter in enumerate("kmgtp", start=1)},
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)
_ENDPOINT_RE = re.compile(r"^(?:(https?)://)?([^/\s]+?)/?$", re.IGNORECASE)
# MinIO's admin payload format (madmin EncryptData): AEAD ID 0 is Argon2id with AES-256-GCM, which the SDK
# writes; 2 is PBKDF2-SHA256 (8192 rounds) with AES-256-GCM.
_SDK_AES_GCM = 0
_PBKDF2_AES_GCM = 2
_PBKDF2_ROUNDS = 8192


class MinioModuleError(Exception):
    """A failure the module explains itself (as opposed to one raised by the SDK)."""


def minio_argument_spec(**options: dict) -> dict:
    """Return the login options shared by every MinIO module, plus the module's own ``options``."""
    spec: dict = {
        "endpoint": {"type": "str", "required": True},
        "access_key": {"type": "str", "required": True, "no_log": True},
        "secret_key": {"type": "str", "required": True, "no_log": True},
        "secure": {"type": "bool"},
        "validate_certs": {"type": "bool", "default": True},
        "region": {"type": "str"},
    }
    spec.update(options)
    return spec


def parse_endpoint(endpoint: str, secure: bool | None) -> tuple[str, bool]:
    """Split ``host:port`` or ``http(s)://host:port`` into the host part and whether to use TLS."""
    match = _ENDPOINT_RE.match(endpoint.strip())
    if not match:
        raise MinioModuleError(f"endpoint {endpoint!r} is neither host:port nor http(s)://host:port")
    scheme, host = match.group(1), match.group(2)
    if scheme is None:
        return host, bool(secure)
    scheme_secure = scheme.lower() == "https"
    if secure is not None and secure != scheme_secure:
        raise MinioModuleError(f"endpoint {endpoint!r} contradicts secure={secure}; drop one of them")
    return host, scheme_secure


def parse_size(value: Any) -> int:
    """Return a size in bytes from an int or a string like ``10GiB``; ``none`` and empty mean 0.

    ``10g``, ``10G`` and ``10GiB`` are 10 * 1024**3 bytes, ``10GB`` is 10 * 1000**3 bytes.
    """
    if isinstance(value, bool):
        raise MinioModuleError(f"size {value!r} is not a number of bytes")
    if isinstance(value, int):
        size = value
    elif isinstance(value, float) and value.is_integer():
        size = int(value)
    elif isinstance(value, str):
        if value.strip().lower() in ("", "none"):
            return 0
        match = _SIZE_RE.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise MinioModuleError(f"size {value!r} is not a number with a unit like 512MiB, 10GiB or 1TB")
        size = int(float(match.group(1)) * _SIZE_UNITS[unit])
    else:
        raise MinioModuleError(f"size {value!r} is not a number of bytes or a string like 10GiB")
    if size < 0:
        raise MinioModuleError(f"size {value!r} is negative")
    return size


def _string_list(value: Any) -> list[str]:
    """Sorted, de-duplicated strings of a policy field that may be one value or a list of them."""
    values = value if isinstance(value, list) else [value]
    return sorted({_policy_scalar(item) for item in values})


def _policy_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _canonical_statement(statement: dict) -> dict:
    result: dict = {}
    for key, value in statement.items():
        if key in ("Action", "NotAction", "Resource", "NotResource"):
            result[key] = _string_list(value)
        elif key in ("Principal", "NotPrincipal"):
            principals = {"AWS": value} if isinstance(value, str) else value
            result[key] = {kind: _string_list(names) for kind, names in principals.items()}
        elif key == "Condition":
            conditions = {
                operator: {name: _string_list(values) for name, values in pairs.items()}
                for operator, pairs in value.items()
                if pairs
            }
            if conditions:
                result[key] = conditions
        elif key == "Sid" and not value:
            continue
        else:
            result[key] = value
    return result


def canonical_policy(document: dict | str | None) -> dict | None:
    """Return an IAM/bucket policy in one canonical form, or None for no policy.

    Two documents that MinIO treats as the same policy compare equal afterwards: a single statement or
    value and a one-element list, any ordering of statements, actions, resources and condition values,
    duplicate statements, ``"Principal": "*"`` and ``{"AWS": ["*"]}``, ``Id`` and ``ID``, empty ``Sid``.
    """
    if document is None or document == "":
        return None
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, dict):
        raise MinioModuleError(f"a policy must be a JSON object, not {type(document).__name__}")
    if not document:
        return None
    result: dict = {}
    for key, value in document.items():
        if key == "Statement":
            statements = value if isinstance(value, list) else [value]
            unique = {
                json.dumps(_canonical_statement(statement), sort_keys=True): _canonical_statement(statement)
                for statement in statements
            }
            result[key] = [unique[text] for text in sorted(unique)]
        else:
            result["ID" if key == "Id" else key] = value
    return result


def _admin_error_body(exc: Exception) -> dict:
    """The JSON body of an admin API error ({Code, Message, ...}); MinIO answers plain text rarely."""
    text = getattr(exc, "_body", "") or "{}"
    try:
        body = json.loads(text)
    except ValueError:
        return {"Message": text}
    return body if isinstance(body, dict) else {"Message": text}


def admin_error_code(exc: Exception) -> str:
    """The ``Code`` MinIO put in the body of an admin API error (empty if there is none)."""
    return str(_admin_error_body(exc).get("Code", ""))


def _admin_error_message(exc: Exception) -> str:
    status = str(getattr(exc, "_code", ""))
    body = _admin_error_body(exc)
    code = str(body.get("Code", ""))
    text = f"MinIO admin API answered HTTP {status} {code}: {body.get('Message', '')}".rstrip(": ")
    if status in ("401", "403") or code in _CREDENTIAL_CODES:
        return f"{text}; {_CREDENTIAL_HINT}"
    if status in ("400", "404", "405", "501") and code in _UNSUPPORTED_CODES:
        return f"{text}; {_VERSION_HINT}"
    return text


def _s3_error_message(exc: Exception) -> str:
    code = getattr(exc, "code", "")
    text = f"MinIO S3 API answered {code}: {getattr(exc, 'message', '')}"
    if code in _CREDENTIAL_CODES:
        return f"{text}; {_CREDENTIAL_HINT}"
    return text


@contextmanager
def minio_errors(module: AnsibleModule, action: str) -> Iterator[None]:
    """Turn what the SDK and urllib3 raise into ``fail_json`` saying what to check."""
    endpoint = module.params.get("endpoint")
    try:
        yield
    except MinioModuleError as exc:
        module.fail_json(msg=f"{action}: {exc}")
    except MinioAdminException as exc:
        module.fail_json(msg=f"{action}: {_admin_error_message(exc)}", exception=traceback.format_exc())
    except S3Error as exc:
        module.fail_json(msg=f"{action}: {_s3_error_message(exc)}", exception=traceback.format_exc())
    except MinioException as exc:
        module.fail_json(
            msg=f"{action}: unexpected answer from {endpoint} ({exc}); check that endpoint is the MinIO "
            "S3 API port (not the console port)",
            exception=traceback.format_exc(),
        )
    except urllib3.exceptions.HTTPError as exc:
        module.fail_json(
            msg=f"{action}: cannot talk to MinIO at {endpoint} ({exc}); check endpoint, that the server "
            "is running, and secure/validate_certs for TLS",
            exception=traceback.format_exc(),
        )
    except ValueError as exc:
        module.fail_json(
            msg=f"{action}: {exc}; check the options and that the server is MinIO",
            exception=traceback.format_exc(),
        )


def admin_json(call: Callable[..., str], *args: Any, missing: tuple[str, ...] = ()) -> Any:
    """Call an admin API reader and decode its JSON answer; None when MinIO says one of ``missing``."""
    try:
        text = call(*args)
    except MinioAdminException as exc:
        if admin_error_code(exc) in missing:
            return None
        raise
    return json.loads(text) if text else {}


def csv_set(value: str | None) -> list[str]:
    """Sorted names from MinIO's comma-separated policy field."""
    return sorted({name.strip() for name in (value or "").split(",") if name.strip()})


class MinioClients:
    """The admin and S3 clients of one MinIO endpoint, plus logins as other accounts."""

    def __init__(
        self,
        admin: "MinioAdmin",
        s3: "Minio",
        account_client: Callable[[str, str], "Minio"],
        admin_secret: str = "",
    ) -> None:
        self.admin = admin
        self.s3 = s3
        self._account_client = account_client
        self._admin_secret = admin_secret

    def login_works(self, access_key: str, secret_key: str) -> bool:
        """Whether MinIO accepts a request signed with these keys.

        MinIO never returns a stored secret, so the only way to compare one is to use it. AccessDenied
        still proves the signature was right (the account merely lacks the right to list buckets).
        A disabled account is refused before the signature is checked, so it counts as not working.
        """
        try:
            self._account_client(access_key, secret_key).list_buckets()
        except S3Error as exc:
            if exc.code == "AccessDenied":
                return True
            if exc.code in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
                return False
            raise
        return True

    def set_user_secret(self, name: str, secret: str) -> None:
        """As ``MinioAdmin.user_add``: create the user, or rewrite its secret; either way it is enabled.

        The payload is sealed with ``seal``, which MinIO opens in milliseconds, not with the SDK's Argon2id.
        """
        body = json.dumps({"status": "enabled", "secretKey": secret}).encode()
        self.admin._url_open(
            method="PUT",
            command=_COMMAND.ADD_USER,
            query_params={"accessKey": name},
            body=seal(body, self._admin_secret),
        )

    def add_service_account(self, target_user: str, request: dict) -> None:
        """Create a service account of ``target_user``.

        ``MinioAdmin.add_service_account`` of minio 7.2 cannot name the parent user (it always creates the
        account for the admin itself), so this sends the admin API request with ``targetUser`` through
        the SDK's signed, encrypted transport.
        """
        body = json.dumps({**request, "targetUser": target_user}).encode()
        response = self.admin._url_open(
            method="PUT",
            command=_COMMAND.SERVICE_ACCOUNT_ADD,
            body=encrypt(body, self._admin_secret),
            preload_content=False,
        )
        decrypt(response, self._admin_secret)


def seal(payload: bytes, admin_secret: str) -> bytes:
    """``payload`` encrypted for MinIO's admin API as its EncryptData frames it: salt, AEAD ID, nonce, then one
    sio chunk and its tag, under a key derived from the admin's secret with PBKDF2-SHA256.

    MinIO takes admin payloads under a key derived either with Argon2id (what the SDK's ``encrypt`` writes)
    or with PBKDF2-SHA256 (the format MinIO itself writes in FIPS mode). The server runs every Argon2id
    derivation under one global lock, 0.1 to 0.3 s each, so fifty new users took ten seconds and more;
    PBKDF2 takes milliseconds. It protects the payload no less here: every admin request is also signed with
    SigV4, whose HMAC already lets whoever records a request test guesses of the secret far faster than 8192
    rounds of PBKDF2.
    """
    if not 0 < len(payload) <= crypto._CHUNK_SIZE:
        raise MinioModuleError(f"an admin payload of {len(payload)} bytes does not fit in one chunk")
    salt = os.urandom(crypto._SALT_LEN)
    key = hashlib.pbkdf2_hmac("sha256", admin_secret.encode(), salt, _PBKDF2_ROUNDS, 32)
    nonce = os.urandom(crypto._NONCE_LEN)
    # The chunk framing is the SDK's for AES-GCM, whatever derived the key.
    additional = crypto._mark_as_last(crypto._generate_additional_data(_SDK_AES_GCM, key, nonce + bytes(4)))
    cipher = crypto._get_cipher(_SDK_AES_GCM, key, crypto._update_nonce_id(nonce, 1))
    cipher.update(additional)
    sealed, tag = cipher.encrypt_and_digest(payload)
    return salt + bytes([_PBKDF2_AES_GCM]) + nonce + sealed + tag


def _http_pool(validate_certs: bool) -> "urllib3.PoolManager":
    if not validate_certs:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=10, read=120),
        maxsize=4,
        cert_reqs="CERT_REQUIRED" if validate_certs else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.3, status_forcelist=[502, 503, 504]),
    )


def connect(module: AnsibleModule) -> MinioClients:
    """Build the clients from the login options, or fail the module saying what is wrong."""
    if MINIO_IMPORT_ERROR:
        module.fail_json(
            msg="Failed to import the minio Python library: install the minio Python package "
            "(pip install minio) for the Python interpreter that runs this module",
            exception=MINIO_IMPORT_ERROR,
        )
    with minio_errors(module, "connecting to MinIO"):
        return _build_clients(module.params)


def _build_clients(params: dict) -> MinioClients:
    host, secure = parse_endpoint(params["endpoint"], params["secure"])
    http = _http_pool(params["validate_certs"])

    def account_client(access_key: str, secret_key: str) -> "Minio":
        return Minio(host, access_key, secret_key, secure=secure, region=params["region"], http_client=http)

    admin = MinioAdmin(
        endpoint=host,
        credentials=StaticProvider(params["access_key"], params["secret_key"]),
        region=params["region"] or "",
        secure=secure,
        http_client=http,
    )
    return MinioClients(
        admin,
        account_client(params["access_key"], params["secret_key"]),
        account_client,
        admin_secret=params["secret_key"],
    )


class Plan:
    """The writes that bring a resource to its desired state, run in order and only outside check mode."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], Any]] = []

    def add(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._steps.append(partial(call, *args, **kwargs))

    def __bool__(self) -> bool:
        return bool(self._steps)

    def run(self, check_mode: bool) -> None:
        if check_mode:
            return
        for step in self._steps:
            step()


def result(plan: Plan, check_mode: bool, key: str, before: dict | None, after: dict | None) -> dict:
    """Run the plan and return what the module exits with: changed, diff and the resource."""
    plan.run(check_mode)
    return {
        "changed": bool(plan),
        "diff": {"before": before or {}, "after": after or {}},
        key: after or {},
    }
