# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared code of the onprem.mlops ZenML modules.

Login options, one HTTP session to ZenML's REST API (``/api/v1``) that logs in as the admin and as other
accounts, paged lists, and turning what the server or ``requests`` raise into ``fail_json`` messages that
say what to check. The per-resource logic lives in the private ``_zenml_<resource>`` files next to this one.

The modules talk to the REST API directly, so neither the ``zenml`` package nor its CLI is needed on the
host that runs them; the request bodies follow ZenML 0.98's ``*Request``/``*Update`` models.
"""

import http.cookiejar
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ansible.module_utils.basic import AnsibleModule

try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
except ImportError:
    REQUESTS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

API = "/api/v1"
# The release whose request models and behaviour the modules were written against.
TESTED_VERSION = "0.98.0"
_PAGE_SIZE = 1000
_VERSION_HINT = f"check that the server runs ZenML {TESTED_VERSION}"


class ZenmlModuleError(Exception):
    """A failure the module explains itself (as opposed to an error answer of the server)."""


class ZenmlApiError(Exception):
    """ZenML answered a request with an HTTP error.

    ``kind`` is the exception class the server names in its answer (``KeyError``, ``EntityExistsError``,
    ``IllegalOperationError``...), ``detail`` its message.
    """

    def __init__(self, method: str, path: str, status: int, kind: str, detail: str) -> None:
        super().__init__(f"{method} {path} answered HTTP {status} {kind}: {detail}".replace(" : ", ": "))
        self.method = method
        self.path = path
        self.status = status
        self.kind = kind
        self.detail = detail


def zenml_argument_spec(**options: dict) -> dict:
    """Return the login options shared by every ZenML module, plus the module's own ``options``."""
    spec: dict = {
        "server_url": {"type": "str", "required": True},
        "admin_username": {"type": "str", "required": True},
        "admin_password": {"type": "str", "required": True, "no_log": True},
        "validate_certs": {"type": "bool", "default": True},
        "timeout": {"type": "int", "default": 30},
    }
    spec.update(options)
    return spec


def error_detail(body: Any) -> tuple[str, str]:
    """Split ZenML's error body into (exception class, message).

    The server answers ``{"detail": ["KeyError", "message"]}`` for its own exceptions,
    ``{"detail": "Not Found"}`` for unknown routes and a bare ``["ValueError", "..."]`` for some
    validation errors.
    """
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list) and len(detail) == 2 and all(isinstance(part, str) for part in detail):
        return detail[0], detail[1]
    if isinstance(detail, str):
        return "", detail
    return "", str(detail)


def page_items(answer: Any) -> tuple[list[dict], int]:
    """The items of one page of a ZenML list answer and how many pages there are."""
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise ZenmlModuleError(f"expected a page of items from ZenML, got {str(answer)[:200]}; {_VERSION_HINT}")
    return answer["items"], int(answer.get("total_pages") or 1)


class ZenmlClient:
    """One HTTP session to a ZenML server, logged in as the admin and, on demand, as other accounts.

    Cookies are refused: a password login sets a session cookie, which would otherwise mix the
    identities of the admin and the users. Every request names its account with a bearer token instead.
    """

    def __init__(self, session: Any, server_url: str, timeout: int, verify: bool = True) -> None:
        self.session = session
        self.base_url = server_url.rstrip("/")
        self.timeout = timeout
        self.verify = verify
        self.admin_token: str | None = None
        self.server_version = ""

    def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        params: dict | None = None,
        body: dict | None = None,
        form: dict | None = None,
        anonymous: bool = False,
    ) -> Any:
        """Send one request, as ``token`` or else the admin; return the decoded JSON answer.

        ``anonymous`` sends no token at all (the login and activation endpoints).
        """
        headers = {"Accept": "application/json"}
        bearer = None if anonymous else token or self.admin_token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        response = self.session.request(
            method,
            f"{self.base_url}{API}{path}",
            headers=headers,
            params=params,
            json=body,
            data=form,
            timeout=self.timeout,
            verify=self.verify,
        )
        try:
            answer = response.json() if response.content else None
        except ValueError as exc:
            raise ZenmlModuleError(
                f"{method} {path} answered HTTP {response.status_code} with something other than JSON "
                f"({response.text[:80]!r}); check that server_url is the ZenML server itself"
            ) from exc
        if response.status_code >= 400:
            raise ZenmlApiError(method, path, response.status_code, *error_detail(answer))
        return answer

    def get_or_none(self, path: str, token: str | None = None, **params: Any) -> dict | None:
        """GET one resource; None when ZenML says it does not exist (or is hidden from this account)."""
        try:
            return self.request("GET", path, token, params=params or None)
        except ZenmlApiError as exc:
            if exc.status == 404 and exc.kind == "KeyError":
                return None
            raise

    def list_all(self, path: str, token: str | None = None, **filters: Any) -> list[dict]:
        """Every item of a paged list endpoint that matches ``filters`` (ZenML filter syntax)."""
        items: list[dict] = []
        page = 1
        while True:
            answer = self.request("GET", path, token, params={**filters, "page": page, "size": _PAGE_SIZE})
            page_of_items, total_pages = page_items(answer)
            items.extend(page_of_items)
            if page >= total_pages:
                return items
            page += 1

    def login(self, username: str, password: str) -> str | None:
        """Log in with a password; the access token, or None when ZenML refuses the credentials."""
        try:
            answer = self.request("POST", "/login", form={"username": username, "password": password}, anonymous=True)
        except ZenmlApiError as exc:
            if exc.status == 401:
                return None
            raise
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise ZenmlModuleError(f"the login answer has no access_token; {_VERSION_HINT}")
        return token


def new_session(validate_certs: bool) -> "requests.Session":
    """A requests session without cookies that retries idempotent calls on dropped connections."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    retry = Retry(
        total=3,
        connect=3,
        read=2,
        status=0,
        backoff_factor=0.3,
        allowed_methods=frozenset({"GET", "PUT", "DELETE"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if not validate_certs:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return session


def _api_error_message(exc: ZenmlApiError, params: dict, version: str) -> str:
    running = f" (it reports {version})" if version else ""
    text = f"ZenML {exc}"
    if exc.status == 401:
        return f"{text}; check admin_username and admin_password"
    if exc.status == 403 and "admin" in exc.detail.lower():
        return f"{text}; check that {params.get('admin_username')} is a ZenML admin account"
    if exc.status == 404 and not exc.kind:
        return f"{text}; check that server_url is the ZenML server, and that it runs ZenML {TESTED_VERSION}{running}"
    if exc.status == 409:
        return f"{text}; the name is taken by another resource of ZenML (for example a service account)"
    if exc.status >= 500:
        return f"{text}; look at the ZenML server's log and {_VERSION_HINT}{running}"
    return f"{text}; {_VERSION_HINT}{running}"


@contextmanager
def zenml_errors(module: AnsibleModule, action: str, version: str = "", **fail_extra: Any) -> Iterator[None]:
    """Turn what ``requests`` and the server raise into ``fail_json`` saying what to check."""
    server_url = module.params.get("server_url")
    try:
        yield
    except ZenmlModuleError as exc:
        module.fail_json(msg=f"{action}: {exc}", **fail_extra)
    except ZenmlApiError as exc:
        module.fail_json(
            msg=f"{action}: {_api_error_message(exc, module.params, version)}",
            exception=traceback.format_exc(),
            **fail_extra,
        )
    except requests.exceptions.SSLError as exc:
        module.fail_json(
            msg=f"{action}: TLS error talking to ZenML at {server_url} ({exc}); check the certificate or "
            "validate_certs",
            exception=traceback.format_exc(),
            **fail_extra,
        )
    except requests.exceptions.RequestException as exc:
        module.fail_json(
            msg=f"{action}: cannot talk to ZenML at {server_url} ({exc}); check server_url, that the server "
            "is running and reachable from this host, and timeout",
            exception=traceback.format_exc(),
            **fail_extra,
        )


def connect(module: AnsibleModule) -> ZenmlClient:
    """Open the session and log in as the admin, or fail the module saying what is wrong."""
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(
            msg="Failed to import the requests Python library: install requests (pip install requests) for "
            "the Python interpreter that runs this module",
            exception=REQUESTS_IMPORT_ERROR,
        )
    params = module.params
    client = ZenmlClient(
        new_session(params["validate_certs"]), params["server_url"], params["timeout"], params["validate_certs"]
    )
    with zenml_errors(module, f"connecting to ZenML at {params['server_url']}"):
        _admin_login(client, params)
    if not client.server_version.startswith(TESTED_VERSION.rsplit(".", 1)[0] + "."):
        module.warn(
            f"the ZenML server reports version {client.server_version}; this module was tested with {TESTED_VERSION}"
        )
    return client


def _admin_login(client: ZenmlClient, params: dict) -> None:
    info = client.request("GET", "/info", anonymous=True)
    if not isinstance(info, dict) or "version" not in info:
        raise ZenmlModuleError("/api/v1/info has no version; check that server_url is a ZenML server")
    client.server_version = str(info["version"])
    token = client.login(params["admin_username"], params["admin_password"])
    if token is None:
        raise ZenmlModuleError(
            f"ZenML refused the login of {params['admin_username']}; check admin_username and admin_password"
        )
    client.admin_token = token
    me = client.request("GET", "/current-user")
    if not me.get("body", {}).get("is_admin"):
        raise ZenmlModuleError(
            f"{params['admin_username']} is not a ZenML admin; the modules need an admin account to manage users"
        )
