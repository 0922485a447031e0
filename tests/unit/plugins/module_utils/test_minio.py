"""Unit tests of the shared MinIO helpers: canonical policies, sizes, endpoints, errors, plans."""

import json

import pytest
import urllib3
from ansible_collections.onprem.mlops.plugins.module_utils import minio as minio_utils
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioModuleError,
    Plan,
    admin_json,
    canonical_policy,
    csv_set,
    minio_argument_spec,
    minio_errors,
    parse_endpoint,
    parse_size,
    result,
    seal,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    FakeClients,
    admin_error,
    s3_error,
)
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_tenant_fakes import open_sealed
from minio import crypto
from minio.error import InvalidResponseError

BASE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::b/*"]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::b"]},
    ],
}


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(BASE, id="identical"),
        pytest.param({**BASE, "Statement": BASE["Statement"][::-1]}, id="statements-reordered"),
        pytest.param(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
                    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"},
                ],
            },
            id="strings-and-order",
        ),
        pytest.param({**BASE, "Statement": BASE["Statement"] + BASE["Statement"][:1]}, id="duplicate-statement"),
        pytest.param(
            {**BASE, "Statement": [{**BASE["Statement"][0], "Sid": ""}, BASE["Statement"][1]]}, id="empty-sid"
        ),
        pytest.param(json.dumps(BASE), id="json-string"),
    ],
)
def test_canonical_policy_ignores_form(variant: object) -> None:
    assert canonical_policy(variant) == canonical_policy(BASE)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({**BASE, "Statement": BASE["Statement"][:1]}, id="statement-dropped"),
        pytest.param(
            {**BASE, "Statement": [{**BASE["Statement"][0], "Effect": "Deny"}, BASE["Statement"][1]]}, id="effect"
        ),
        pytest.param(
            {**BASE, "Statement": [{**BASE["Statement"][0], "Resource": "arn:aws:s3:::c/*"}, BASE["Statement"][1]]},
            id="resource",
        ),
        pytest.param({**BASE, "Statement": [{**BASE["Statement"][0], "Sid": "named"}, BASE["Statement"][1]]}, id="sid"),
    ],
)
def test_canonical_policy_sees_real_changes(variant: dict) -> None:
    assert canonical_policy(variant) != canonical_policy(BASE)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::b/*"],
            },
            id="principal-star",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::b",
                "Condition": {"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"s3:max-keys": 10}},
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": ["arn:aws:s3:::b"],
                "Condition": {"Bool": {"aws:SecureTransport": ["true"]}, "NumericLessThan": {"s3:max-keys": [10]}},
            },
            id="condition-scalars",
        ),
    ],
)
def test_canonical_policy_matches_what_minio_stores(given: dict, stored: dict) -> None:
    mine = canonical_policy({"Version": "2012-10-17", "Id": "x", "Statement": given})
    assert mine == canonical_policy({"ID": "x", "Version": "2012-10-17", "Statement": [stored]})


@pytest.mark.parametrize("empty", [None, "", {}])
def test_canonical_policy_of_nothing_is_none(empty: object) -> None:
    assert canonical_policy(empty) is None


def test_canonical_policy_refuses_a_list() -> None:
    with pytest.raises(MinioModuleError, match="JSON object"):
        canonical_policy(["not", "a", "policy"])


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (1024, 1024),
        (0, 0),
        ("none", 0),
        ("None", 0),
        ("", 0),
        ("512", 512),
        ("10GiB", 10 * 1024**3),
        ("10 GiB", 10 * 1024**3),
        ("10g", 10 * 1024**3),
        ("10G", 10 * 1024**3),
        ("10GB", 10 * 1000**3),
        ("1.5MiB", 1572864),
        ("2TiB", 2 * 1024**4),
        ("100kb", 100000),
        ("7b", 7),
        (3.0, 3),
    ],
)
def test_parse_size(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["10 parsecs", "GiB", "-5", -5, True, [1], 1.5, "1,5GiB"])
def test_parse_size_refuses(value: object) -> None:
    with pytest.raises(MinioModuleError):
        parse_size(value)


@pytest.mark.parametrize(
    ("endpoint", "secure", "expected"),
    [
        ("127.0.0.1:9000", None, ("127.0.0.1:9000", False)),
        ("127.0.0.1:9000", True, ("127.0.0.1:9000", True)),
        ("http://minio:9000", None, ("minio:9000", False)),
        ("https://minio.example.org", None, ("minio.example.org", True)),
        ("HTTPS://minio.example.org:443/", True, ("minio.example.org:443", True)),
        (" minio:9000 ", False, ("minio:9000", False)),
    ],
)
def test_parse_endpoint(endpoint: str, secure: bool | None, expected: tuple) -> None:
    assert parse_endpoint(endpoint, secure) == expected


@pytest.mark.parametrize(
    ("endpoint", "secure", "message"),
    [
        ("https://minio:9000", False, "contradicts"),
        ("http://minio:9000", True, "contradicts"),
        ("http://minio:9000/bucket", None, "neither"),
        ("", None, "neither"),
    ],
)
def test_parse_endpoint_refuses(endpoint: str, secure: bool | None, message: str) -> None:
    with pytest.raises(MinioModuleError, match=message):
        parse_endpoint(endpoint, secure)


@pytest.mark.parametrize(("value", "names"), [(None, []), ("", []), ("readonly", ["readonly"]), ("b,a, b", ["a", "b"])])
def test_csv_set(value: str | None, names: list[str]) -> None:
    assert csv_set(value) == names


def test_argument_spec_hides_credentials_and_adds_options() -> None:
    spec = minio_argument_spec(name={"type": "str"})
    assert spec["access_key"]["no_log"] and spec["secret_key"]["no_log"]
    assert spec["endpoint"]["required"]
    assert spec["validate_certs"]["default"] is True
    assert "default" not in spec["secure"]
    assert spec["name"] == {"type": "str"}


def test_admin_json_returns_none_for_the_missing_codes_only() -> None:
    def missing(name: str) -> str:
        raise admin_error(404, "XMinioAdminNoSuchUser")

    assert admin_json(missing, "alice", missing=("XMinioAdminNoSuchUser",)) is None
    with pytest.raises(minio_utils.MinioAdminException):
        admin_json(missing, "alice", missing=("XMinioAdminNoSuchGroup",))
    assert admin_json(lambda: "") == {}
    assert admin_json(lambda: '{"a": 1}') == {"a": 1}


class FailingModule:
    """Just enough of AnsibleModule for minio_errors: fail_json raises like the real one exits."""

    def __init__(self) -> None:
        self.params = {"endpoint": "minio:9000"}
        self.failure: dict = {}

    def fail_json(self, **kwargs: object) -> None:
        self.failure = kwargs
        raise SystemExit(1)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(MinioModuleError("bucket b is not empty"), "doing it: bucket b is not empty", id="own"),
        pytest.param(admin_error(403, "SignatureDoesNotMatch"), "check access_key and secret_key", id="admin-403"),
        pytest.param(admin_error(403, "AccessDenied"), "is a MinIO admin", id="not-admin"),
        pytest.param(admin_error(400, "XMinioAdminVersionMismatch"), "MinIO release", id="version"),
        pytest.param(admin_error(404, "XMinioAdminNoSuchPolicy", "no such policy"), "no such policy", id="missing"),
        pytest.param(s3_error("InvalidAccessKeyId"), "check access_key and secret_key", id="s3-credentials"),
        pytest.param(InvalidResponseError(200, "text/html", "<html>"), "not the console port", id="console-port"),
        pytest.param(
            urllib3.exceptions.MaxRetryError(None, "/", "refused"), "cannot talk to MinIO at minio:9000", id="down"
        ),
        pytest.param(json.JSONDecodeError("Expecting value", "<", 0), "Expecting value", id="bad-json"),
    ],
)
def test_minio_errors_say_what_to_check(error: Exception, expected: str) -> None:
    module = FailingModule()
    with pytest.raises(SystemExit), minio_errors(module, "doing it"):
        raise error
    assert expected in module.failure["msg"]
    assert module.failure["msg"].startswith("doing it: ")


def test_minio_errors_lets_success_through() -> None:
    module = FailingModule()
    with minio_errors(module, "doing it"):
        pass
    assert module.failure == {}


def test_connect_without_the_library_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minio_utils, "MINIO_IMPORT_ERROR", "Traceback: No module named 'minio'")
    module = FailingModule()
    with pytest.raises(SystemExit):
        minio_utils.connect(module)
    assert "pip install minio" in module.failure["msg"]


@pytest.mark.parametrize(
    ("secret", "status", "works"),
    [("right-secret", "enabled", True), ("wrong-secret", "enabled", False), ("right-secret", "disabled", False)],
)
def test_login_works_compares_the_secret_by_using_it(secret: str, status: str, works: bool) -> None:
    clients = FakeClients()
    clients.fake_admin.users["alice"] = {"secret": "right-secret", "status": status, "policies": []}
    assert clients.login_works("alice", secret) is works


def test_login_works_passes_other_errors_on() -> None:
    clients = FakeClients()

    class Broken:
        def list_buckets(self) -> None:
            raise s3_error("SlowDown")

    clients._account_client = lambda key, secret: Broken()
    with pytest.raises(minio_utils.S3Error):
        clients.login_works("alice", "secret")


@pytest.mark.parametrize("check_mode", [True, False])
def test_plan_runs_only_outside_check_mode(check_mode: bool) -> None:
    done: list[str] = []
    plan = Plan()
    plan.add(done.append, "first")
    plan.add(done.append, "second")
    outcome = result(plan, check_mode, "thing", {"a": 1}, {"a": 2})
    assert outcome == {"changed": True, "diff": {"before": {"a": 1}, "after": {"a": 2}}, "thing": {"a": 2}}
    assert done == ([] if check_mode else ["first", "second"])


def test_result_of_an_empty_plan_and_absent_resource() -> None:
    outcome = result(Plan(), False, "thing", None, None)
    assert outcome == {"changed": False, "diff": {"before": {}, "after": {}}, "thing": {}}


def test_sealed_payload_opens_only_with_the_admin_secret() -> None:
    payload = json.dumps({"status": "enabled", "secretKey": "alice-secret-1"}).encode()
    sealed = seal(payload, "root-secret-key")
    assert open_sealed(sealed, "root-secret-key") == payload
    assert seal(payload, "root-secret-key")[:41] != sealed[:41], "each payload needs its own salt and nonce"
    with pytest.raises(ValueError, match="MAC check failed"):
        open_sealed(sealed, "another-secret")
    with pytest.raises(MinioModuleError, match="one chunk"):
        seal(b"x" * (crypto._CHUNK_SIZE + 1), "root-secret-key")
