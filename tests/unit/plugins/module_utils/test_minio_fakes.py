"""In-memory stand-ins for the SDK's MinioAdmin and Minio clients, shared by the MinIO unit tests.

They answer like the MinIO server observed in the integration tests (same JSON shapes and error codes,
including its quirks: add-user re-enables a user, a service account update without a policy drops the
inline policy, a group with members cannot be removed) and record every write in ``writes``, so a test
can assert that check mode wrote nothing. No tests live here; the file name keeps it with the MinIO tests.
"""

import json
from dataclasses import dataclass

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.onprem.mlops.plugins.module_utils.minio import MinioClients
from minio.error import MinioAdminException, S3Error
from minio.lifecycleconfig import LifecycleConfig
from minio.versioningconfig import VersioningConfig

READ_ONLY = {"readonly", "readwrite", "writeonly", "consoleAdmin", "diagnostics"}


def admin_error(status: int, code: str, message: str = "") -> MinioAdminException:
    return MinioAdminException(str(status), json.dumps({"Code": code, "Message": message or code}))


def s3_error(code: str) -> S3Error:
    return S3Error(None, code, code, "/", "request", "host")


class FakeAdmin:
    """MinioAdmin with IAM state held in dictionaries."""

    def __init__(self) -> None:
        self.writes: list[tuple] = []
        self.policies: dict[str, dict] = {name: {"Version": "2012-10-17", "Statement": []} for name in READ_ONLY}
        self.users: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.accounts: dict[str, dict] = {}
        self.quotas: dict[str, dict] = {}
        self.buckets: set[str] = set()

    def _write(self, *call: object) -> None:
        self.writes.append(call)

    # Policies
    def policy_info(self, name: str) -> str:
        if name not in self.policies:
            raise admin_error(404, "XMinioAdminNoSuchPolicy")
        return json.dumps(self.policies[name])

    def policy_add(self, name: str, policy_file: object = None, policy: dict | None = None) -> str:
        self._write("policy_add", name, policy)
        self.policies[name] = json.loads(json.dumps(policy))
        return ""

    def _entities(self, policy: str) -> tuple[list[str], list[str]]:
        users = [name for name, user in self.users.items() if policy in user["policies"]]
        groups = [name for name, group in self.groups.items() if policy in group["policies"]]
        return users, groups

    def policy_remove(self, name: str) -> str:
        self._write("policy_remove", name)
        if any(self._entities(name)):
            raise admin_error(400, "XMinioIAMPolicyInUse")
        self.policies.pop(name, None)
        return ""

    def get_policy_entities(self, users: list, groups: list, policies: list) -> str:
        mappings = []
        for policy in policies:
            policy_users, policy_groups = self._entities(policy)
            mappings.append({"policy": policy, "users": policy_users or None, "groups": policy_groups or None})
        return json.dumps({"timestamp": "now", "policyMappings": mappings})

    def _mapping(self, user: str | None, group: str | None) -> list[str]:
        if group is not None:
            if group not in self.groups:
                raise admin_error(404, "XMinioAdminNoSuchGroup")
            return self.groups[group]["policies"]
        if user not in self.users:
            raise admin_error(404, "XMinioAdminNoSuchUser")
        return self.users[user]["policies"]

    def attach_policy(self, policies: list[str], user: str | None = None, group: str | None = None) -> str:
        self._write("attach_policy", sorted(policies), user, group)
        mapping = self._mapping(user, group)
        new = [policy for policy in policies if policy not in mapping]
        if not new:
            raise admin_error(400, "XMinioAdminPolicyChangeAlreadyApplied")
        if any(policy not in self.policies for policy in new):
            raise admin_error(404, "XMinioAdminNoSuchPolicy")
        mapping.extend(new)
        return json.dumps({"policiesAttached": new})

    def detach_policy(self, policies: list[str], user: str | None = None, group: str | None = None) -> str:
        self._write("detach_policy", sorted(policies), user, group)
        mapping = self._mapping(user, group)
        gone = [policy for policy in policies if policy in mapping]
        if not gone:
            raise admin_error(400, "XMinioAdminPolicyChangeAlreadyApplied")
        mapping[:] = [policy for policy in mapping if policy not in gone]
        return json.dumps({"policiesDetached": gone})

    # Groups
    def group_info(self, name: str) -> str:
        if name not in self.groups:
            raise admin_error(404, "XMinioAdminNoSuchGroup")
        group = self.groups[name]
        return json.dumps(
            {
                "name": name,
                "status": group["status"],
                "members": sorted(group["members"]),
                "policy": ",".join(group["policies"]),
            }
        )

    def group_list(self) -> str:
        return json.dumps(sorted(self.groups))

    def group_add(self, name: str, members: list[str]) -> str:
        self._write("group_add", name, sorted(members))
        if any(member not in self.users for member in members):
            raise admin_error(404, "XMinioAdminNoSuchUser")
        group = self.groups.setdefault(name, {"status": "enabled", "members": set(), "policies": []})
        group["members"].update(members)
        return ""

    def group_remove(self, name: str, members: list[str] | None = None) -> str:
        self._write("group_remove", name, sorted(members) if members is not None else None)
        if name not in self.groups:
            raise admin_error(404, "XMinioAdminNoSuchGroup")
        if members is None:
            if self.groups[name]["members"]:
                raise admin_error(400, "XMinioAdminGroupNotEmpty")
            del self.groups[name]
        else:
            self.groups[name]["members"].difference_update(members)
        return ""

    # Users
    def user_info(self, name: str) -> str:
        if name in self.accounts:
            raise admin_error(403, "XMinioIAMActionNotAllowed")
        if name not in self.users:
            raise admin_error(404, "XMinioAdminNoSuchUser")
        user = self.users[name]
        info: dict = {"status": user["status"]}
        if user["policies"]:
            info["policyName"] = ",".join(user["policies"])
        groups = sorted(group for group, data in self.groups.items() if name in data["members"])
        if groups:
            info["memberOf"] = groups
        return json.dumps(info)

    def user_add(self, name: str, secret: str) -> str:
        self._write("user_add", name)
        user = self.users.setdefault(name, {"policies": []})
        user.update(secret=secret, status="enabled")
        return ""

    def user_enable(self, name: str) -> str:
        self._write("user_enable", name)
        self.users[name]["status"] = "enabled"
        return ""

    def user_disable(self, name: str) -> str:
        self._write("user_disable", name)
        self.users[name]["status"] = "disabled"
        return ""

    def user_remove(self, name: str) -> str:
        self._write("user_remove", name)
        if name not in self.users:
            raise admin_error(404, "XMinioAdminNoSuchUser")
        del self.users[name]
        for group in self.groups.values():
            group["members"].discard(name)
        for key in [key for key, account in self.accounts.items() if account["parent"] == name]:
            del self.accounts[key]
        return ""

    # Service accounts
    def list_service_account(self, user: str) -> str:
        accounts = [
            {"parentUser": user, "accessKey": key} for key, data in self.accounts.items() if data["parent"] == user
        ]
        return json.dumps({"accounts": accounts})

    def get_service_account(self, key: str) -> str:
        if key not in self.accounts:
            raise admin_error(404, "XMinioInvalidIAMCredentials")
        account = self.accounts[key]
        info = {
            "parentUser": account["parent"],
            "accountStatus": account["status"],
            "impliedPolicy": account["policy"] is None,
            "policy": json.dumps(account["policy"] or {"Version": "", "Statement": None}),
        }
        info.update({field: account[field] for field in ("name", "description") if account[field]})
        return json.dumps(info)

    def create_service_account(self, request: dict) -> None:
        self._write("add_service_account", request["targetUser"], request["accessKey"])
        if request["targetUser"] not in self.users:
            raise admin_error(404, "XMinioAdminNoSuchUser")
        if request["accessKey"] in self.accounts:
            raise admin_error(400, "XMinioIAMServiceAccountNotAllowed")
        self.accounts[request["accessKey"]] = {
            "parent": request["targetUser"],
            "secret": request["secretKey"],
            "status": "on",
            "name": request.get("name", ""),
            "description": request.get("description", ""),
            "policy": request.get("policy"),
        }

    def update_service_account(self, *, access_key: str, **changes: object) -> str:
        self._write("update_service_account", access_key, sorted(changes))
        if not any(changes.values()):
            raise ValueError("at least one of secret_key, name, description, policy or status")
        account = self.accounts[access_key]
        for field in ("name", "description"):
            if changes.get(field):
                account[field] = changes[field]
        if changes.get("secret_key"):
            account["secret"] = changes["secret_key"]
        # As MinIO does: an update without a policy drops the inline one.
        account["policy"] = changes.get("policy") or None
        return ""

    def delete_service_account(self, key: str) -> str:
        self._write("delete_service_account", key)
        self.accounts.pop(key, None)
        return ""

    # Quotas
    def bucket_quota_get(self, bucket: str) -> str:
        if bucket not in self.buckets:
            raise admin_error(404, "NoSuchBucket")
        return json.dumps(self.quotas.get(bucket, {"quota": 0, "size": 0, "rate": 0, "requests": 0}))

    def bucket_quota_set(self, bucket: str, size: int) -> str:
        self._write("bucket_quota_set", bucket, size)
        self.quotas[bucket] = {"quota": size, "size": 0, "quotatype": "hard"}
        return ""

    def bucket_quota_clear(self, bucket: str) -> str:
        self._write("bucket_quota_clear", bucket)
        self.quotas[bucket] = {"quota": 0, "size": 0, "quotatype": "hard"}
        return ""


@dataclass
class FakeObject:
    object_name: str
    size: int
    version_id: str | None = None
    is_latest: str | None = "true"
    is_delete_marker: bool = False


class FakeS3:
    """Minio (S3) client with buckets held in dictionaries; shares the bucket set with its FakeAdmin."""

    def __init__(self, admin: FakeAdmin) -> None:
        self.admin = admin
        self.writes = admin.writes
        self.lifecycle: dict[str, LifecycleConfig] = {}
        self.versioning: dict[str, str | None] = {}
        self.policy: dict[str, str] = {}
        self.objects: dict[str, list[FakeObject]] = {}

    def bucket_exists(self, name: str) -> bool:
        return name in self.admin.buckets

    def make_bucket(self, name: str, location: str | None = None) -> None:
        self.writes.append(("make_bucket", name))
        self.admin.buckets.add(name)
        self.versioning[name] = None
        self.objects[name] = []

    def remove_bucket(self, name: str) -> None:
        self.writes.append(("remove_bucket", name))
        if self.objects[name]:
            raise s3_error("BucketNotEmpty")
        self.admin.buckets.discard(name)

    def get_bucket_lifecycle(self, name: str) -> LifecycleConfig | None:
        return self.lifecycle.get(name)

    def set_bucket_lifecycle(self, name: str, config: LifecycleConfig) -> None:
        self.writes.append(("set_bucket_lifecycle", name, [rule.rule_id for rule in config.rules]))
        self.lifecycle[name] = config

    def delete_bucket_lifecycle(self, name: str) -> None:
        self.writes.append(("delete_bucket_lifecycle", name))
        self.lifecycle.pop(name, None)

    def get_bucket_versioning(self, name: str) -> VersioningConfig:
        return VersioningConfig(self.versioning.get(name))

    def set_bucket_versioning(self, name: str, config: VersioningConfig) -> None:
        self.writes.append(("set_bucket_versioning", name, config.status))
        self.versioning[name] = config.status

    def get_bucket_policy(self, name: str) -> str:
        if name not in self.policy:
            raise s3_error("NoSuchBucketPolicy")
        return self.policy[name]

    def set_bucket_policy(self, name: str, policy: str) -> None:
        self.writes.append(("set_bucket_policy", name))
        self.policy[name] = policy

    def delete_bucket_policy(self, name: str) -> None:
        self.writes.append(("delete_bucket_policy", name))
        self.policy.pop(name, None)

    def list_objects(self, name: str, recursive: bool = False, include_version: bool = False) -> list:
        return list(self.objects[name])

    def remove_objects(self, name: str, delete_list: list) -> list:
        self.writes.append(("remove_objects", name, len(delete_list)))
        gone = {(entry.name, entry.version_id) for entry in delete_list}
        self.objects[name] = [obj for obj in self.objects[name] if (obj.object_name, obj.version_id) not in gone]
        return []


class FakeClients(MinioClients):
    """MinioClients over the fakes; logins are checked against the fake's users and service accounts."""

    def __init__(self) -> None:
        self.fake_admin = FakeAdmin()
        self.fake_s3 = FakeS3(self.fake_admin)
        super().__init__(self.fake_admin, self.fake_s3, self._login)

    def _login(self, access_key: str, secret_key: str) -> "FakeLogin":
        return FakeLogin(self.fake_admin, access_key, secret_key)

    def add_service_account(self, target_user: str, request: dict) -> None:
        self.fake_admin.create_service_account({**request, "targetUser": target_user})


class FakeLogin:
    """The S3 client of one account: list_buckets answers as MinIO does for its credentials."""

    def __init__(self, admin: FakeAdmin, access_key: str, secret_key: str) -> None:
        self.admin, self.access_key, self.secret_key = admin, access_key, secret_key

    def list_buckets(self) -> list:
        account = self.admin.users.get(self.access_key) or self.admin.accounts.get(self.access_key)
        if account is None or account["status"] in ("disabled", "off"):
            raise s3_error("InvalidAccessKeyId")
        if account["secret"] != self.secret_key:
            raise s3_error("SignatureDoesNotMatch")
        raise s3_error("AccessDenied")


LOGIN = {"endpoint": "127.0.0.1:9000", "access_key": "root-user", "secret_key": "root-secret-key"}


def run_module(module: object, args: dict, clients: FakeClients, monkeypatch: object, capsys: object) -> dict:
    """Run a module's main() against the fakes and return what it exited with."""
    monkeypatch.setattr(module, "connect", lambda _module: clients)
    with patch_module_args({**LOGIN, **args}), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)
