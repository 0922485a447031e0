"""The REST helpers of the ZenML modules: how answers are read and which calls are made as whom."""

import pytest
from ansible_collections.onprem.mlops.plugins.module_utils import _zenml_resources as api
from ansible_collections.onprem.mlops.plugins.module_utils.zenml import ZenmlApiError, ZenmlClient
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_zenml_fake_server import FakeZenml


@pytest.fixture
def server() -> FakeZenml:
    fake = FakeZenml()
    fake.add_user("alice", "alice-pw")
    return fake


@pytest.fixture
def client(server: FakeZenml) -> ZenmlClient:
    zenml_client = ZenmlClient(server, "http://zenml:8080", 5)
    zenml_client.admin_token = server.token_for("root")
    return zenml_client


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {
                "id": "s",
                "name": "x",
                "body": {"user_id": "u"},
                "metadata": {"components": {"orchestrator": [{"id": "o"}]}},
            },
            {"id": "s", "name": "x", "user_id": "u", "components": {"orchestrator": ["o"]}},
        ),
        (
            {
                "id": "s",
                "name": "x",
                "body": {},
                "metadata": {"components": {"orchestrator": [], "deployer": [{"id": "d"}]}},
            },
            {"id": "s", "name": "x", "user_id": None, "components": {"deployer": ["d"]}},
        ),
        ({"id": "s", "name": "x", "metadata": None}, {"id": "s", "name": "x", "user_id": None, "components": {}}),
    ],
)
def test_stack_from(answer: dict, expected: dict) -> None:
    assert api.stack_from(answer) == expected


def test_component_from_without_metadata() -> None:
    answer = {"id": "c", "name": "x", "body": {"type": "orchestrator", "flavor_name": "local", "user_id": "u"}}
    assert api.component_from(answer)["configuration"] == {}


def test_read_components_keeps_the_wanted_name_of_each_type(server: FakeZenml, client: ZenmlClient) -> None:
    alice = server.token_for("alice")
    for name, kind in [
        ("alice-mlflow", "experiment_tracker"),
        ("alice-mlflow", "model_deployer"),
        ("alice-x", "orchestrator"),
    ]:
        api.create_component(client, alice, name, kind, "mlflow", {})
    found = api.read_components(client, "alice-", {"experiment_tracker": "alice-mlflow", "orchestrator": "alice-o"})
    assert list(found) == ["experiment_tracker"]
    assert found["experiment_tracker"]["user_id"] == server.user("alice")["id"]


def test_private_secrets_are_read_with_their_values_as_their_owner(server: FakeZenml, client: ZenmlClient) -> None:
    alice = server.token_for("alice")
    user = api.read_user(client, "alice")
    secret_id = api.create_secret(client, alice, "alice-s3", {"k": "v"})
    api.create_secret(client, alice, "alice-other", {"k": "w"})
    assert api.read_private_secrets(client, alice, user, {"alice-s3", "alice-mlflow"}) == {
        "alice-s3": {"id": secret_id, "values": {"k": "v"}}
    }
    assert api.read_private_secrets(client, client.admin_token, user, {"alice-s3"}) == {}


def test_reactivate_keeps_or_sets_the_password(server: FakeZenml, client: ZenmlClient) -> None:
    user_id = server.user("alice")["id"]
    api.reactivate(client, user_id, None)
    assert server.user("alice")["password"] == "alice-pw" and server.user("alice")["active"]
    api.reactivate(client, user_id, "new-pw")
    assert client.login("alice", "new-pw") is not None


def test_delete_user_reports_an_account_that_owns_resources(server: FakeZenml, client: ZenmlClient) -> None:
    user_id = server.user("alice")["id"]
    server.user("alice")["other_resources"] = 1
    assert api.delete_user(client, user_id) is False
    server.user("alice")["other_resources"] = 0
    assert api.delete_user(client, user_id) is True
    with pytest.raises(ZenmlApiError, match="No user account"):
        api.delete_user(client, user_id)
