"""The shared ZenML client: requests, logins, pages, errors and the messages that say what to check."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import zenml
from ansible_collections.onprem.mlops.plugins.module_utils.zenml import (
    ZenmlApiError,
    ZenmlClient,
    ZenmlModuleError,
    error_detail,
    zenml_argument_spec,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_zenml_fake_server import (
    FakeResponse,
    FakeZenml,
)


class Recorder:
    """A session that answers from a list and records what was sent."""

    def __init__(self, *answers: FakeResponse) -> None:
        self.answers = list(answers)
        self.sent: list[dict] = []

    def request(self, method: str, url: str, **kwargs) -> FakeResponse:
        self.sent.append({"method": method, "url": url, **kwargs})
        return self.answers.pop(0)


class Failed(Exception):
    pass


class FakeModule:
    def __init__(self, **params) -> None:
        self.params = {
            "server_url": "http://zenml:8080",
            "admin_username": "root",
            "admin_password": "admin-pw",
            "validate_certs": True,
            "timeout": 5,
            **params,
        }
        self.warnings: list[str] = []

    def fail_json(self, **kwargs) -> None:
        raise Failed(kwargs)

    def warn(self, text: str) -> None:
        self.warnings.append(text)


def _client(*answers: FakeResponse) -> tuple[ZenmlClient, Recorder]:
    session = Recorder(*answers)
    client = ZenmlClient(session, "http://zenml:8080/", 7)
    client.admin_token = "admin-token"
    return client, session


def test_argument_spec_hides_the_admin_password_and_adds_module_options() -> None:
    spec = zenml_argument_spec(users={"type": "list"})
    assert spec["admin_password"]["no_log"] is True
    assert spec["users"] == {"type": "list"}
    assert {"server_url", "admin_username", "validate_certs", "timeout"} <= set(spec)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"detail": ["KeyError", "no such user"]}, ("KeyError", "no such user")),
        ({"detail": "Not Found"}, ("", "Not Found")),
        (["ValueError", "is_admin: Field required"], ("ValueError", "is_admin: Field required")),
        ({"detail": [{"loc": ["body"], "msg": "bad"}]}, ("", "[{'loc': ['body'], 'msg': 'bad'}]")),
        (None, ("", "None")),
    ],
)
def test_error_detail(body, expected) -> None:
    assert error_detail(body) == expected


@pytest.mark.parametrize(
    ("token", "anonymous", "expected"),
    [(None, False, "Bearer admin-token"), ("user-token", False, "Bearer user-token"), ("user-token", True, None)],
)
def test_request_names_the_account_with_a_bearer_token(token, anonymous, expected) -> None:
    client, session = _client(FakeResponse(200, {"ok": True}))
    assert client.request("GET", "/info", token, anonymous=anonymous) == {"ok": True}
    sent = session.sent[0]
    assert sent["url"] == "http://zenml:8080/api/v1/info"
    assert sent["headers"].get("Authorization") == expected
    assert sent["timeout"] == 7


def test_request_raises_the_servers_error() -> None:
    client, _ = _client(FakeResponse(409, {"detail": ["EntityExistsError", "exists"]}))
    with pytest.raises(ZenmlApiError) as caught:
        client.request("POST", "/stacks", body={})
    assert (caught.value.status, caught.value.kind, caught.value.detail) == (409, "EntityExistsError", "exists")
    assert "POST /stacks answered HTTP 409 EntityExistsError: exists" in str(caught.value)


@pytest.mark.parametrize("status", [200, 403])
def test_an_answer_that_is_not_json_means_the_url_is_wrong(status: int) -> None:
    answer = FakeResponse(status)
    answer.content, answer.text = (
        b"<Error><Code>AccessDenied</Code></Error>",
        "<Error><Code>AccessDenied</Code></Error>",
    )
    client, _ = _client(answer)
    with pytest.raises(ZenmlModuleError, match=f"HTTP {status} with something other than JSON .*check that server_url"):
        client.request("GET", "/info")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (FakeResponse(200, {"access_token": "t"}), "t"),
        (FakeResponse(401, {"detail": ["CredentialsNotValid", "invalid username or password"]}), None),
    ],
)
def test_login(answer, expected) -> None:
    client, session = _client(answer)
    assert client.login("alice", "pw") == expected
    assert session.sent[0]["data"] == {"username": "alice", "password": "pw"}
    assert "Authorization" not in session.sent[0]["headers"]


def test_a_login_answer_without_token_is_an_error() -> None:
    client, _ = _client(FakeResponse(200, {"token_type": "bearer"}))
    with pytest.raises(ZenmlModuleError, match="access_token"):
        client.login("alice", "pw")


@pytest.mark.parametrize(
    ("answer", "missing"),
    [(FakeResponse(404, {"detail": ["KeyError", "gone"]}), True), (FakeResponse(404, {"detail": "Not Found"}), False)],
)
def test_get_or_none_only_swallows_a_missing_resource(answer, missing) -> None:
    client, _ = _client(answer)
    if missing:
        assert client.get_or_none("/users/alice") is None
    else:
        with pytest.raises(ZenmlApiError):
            client.get_or_none("/users/alice")


def test_list_all_follows_the_pages() -> None:
    pages = [FakeResponse(200, {"items": [{"n": page}], "total_pages": 3}) for page in (1, 2, 3)]
    client, session = _client(*pages)
    assert client.list_all("/components", name="startswith:alice-") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [sent["params"]["page"] for sent in session.sent] == [1, 2, 3]
    assert session.sent[0]["params"]["name"] == "startswith:alice-"


def test_list_all_refuses_something_that_is_not_a_page() -> None:
    client, _ = _client(FakeResponse(200, {"detail": "?"}))
    with pytest.raises(ZenmlModuleError, match="page of items"):
        client.list_all("/stacks")


def test_new_session_refuses_cookies() -> None:
    session = zenml.new_session(validate_certs=True)
    assert session.cookies.get_policy().allowed_domains() == ()


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        (ZenmlApiError("POST", "/login", 401, "CredentialsNotValid", "bad"), "check admin_username and admin_password"),
        (
            ZenmlApiError("POST", "/users", 403, "IllegalOperationError", "Only admin users can perform `create user`"),
            "check that root is a ZenML admin account",
        ),
        (ZenmlApiError("GET", "/stacks", 404, "", "Not Found"), "check that server_url is the ZenML server"),
        (ZenmlApiError("POST", "/stacks", 500, "RuntimeError", "boom"), "look at the ZenML server's log"),
        (ZenmlApiError("POST", "/users", 409, "EntityExistsError", "exists"), "the name is taken"),
        (ZenmlApiError("POST", "/stacks", 422, "ValueError", "bad"), "check that the server runs ZenML 0.98.0"),
    ],
)
def test_api_errors_say_what_to_check(error: ZenmlApiError, hint: str) -> None:
    module = FakeModule()
    with pytest.raises(Failed) as caught, zenml.zenml_errors(module, "doing it", "0.97.1"):
        raise error
    message = caught.value.args[0]["msg"]
    assert message.startswith("doing it: ZenML ")
    assert hint in message


def test_connection_errors_say_what_to_check() -> None:
    module = FakeModule()
    with pytest.raises(Failed) as caught, zenml.zenml_errors(module, "doing it", users=[]):
        raise zenml.requests.exceptions.ConnectionError("refused")
    assert "cannot talk to ZenML at http://zenml:8080" in caught.value.args[0]["msg"]
    assert caught.value.args[0]["users"] == []


def test_connect_asks_to_install_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zenml, "REQUESTS_IMPORT_ERROR", "Traceback: no module named requests")
    with pytest.raises(Failed) as caught:
        zenml.connect(FakeModule())
    assert "install requests" in caught.value.args[0]["msg"]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> FakeZenml:
    fake = FakeZenml()
    monkeypatch.setattr(zenml, "new_session", lambda validate_certs: fake)
    return fake


def test_connect_logs_in_as_the_admin(server: FakeZenml) -> None:
    module = FakeModule()
    client = zenml.connect(module)
    assert client.server_version == "0.98.0"
    assert server.tokens[client.admin_token] == server.user("root")["id"]
    assert module.warnings == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"admin_password": "wrong"}, "ZenML refused the login of root; check admin_username and admin_password"),
        ({"admin_username": "alice"}, "alice is not a ZenML admin"),
    ],
)
def test_connect_refuses_a_wrong_or_powerless_admin(server: FakeZenml, change: dict, message: str) -> None:
    server.add_user("alice", "admin-pw")
    with pytest.raises(Failed) as caught:
        zenml.connect(FakeModule(**change))
    assert message in caught.value.args[0]["msg"]


def test_connect_warns_about_another_version(server: FakeZenml) -> None:
    server.version = "0.99.1"
    module = FakeModule()
    zenml.connect(module)
    assert module.warnings == ["the ZenML server reports version 0.99.1; this module was tested with 0.98.0"]
