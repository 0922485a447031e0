"""The fake MinIO clients of test_minio_fakes, with what minio_tenant also calls: the user listing, the
admin API's raw add-user request (decrypted as MinIO does), server-side copies and prefix listings.
No tests live here; the file name keeps it with the minio_tenant tests.
"""

import hashlib
import json

from ansible_collections.onprem.mlops.plugins.module_utils.minio import MinioClients
from ansible_collections.onprem.mlops.tests.unit.plugins.module_utils.test_minio_fakes import (
    LOGIN,
    FakeAdmin,
    FakeClients,
    FakeObject,
    FakeS3,
)
from Crypto.Cipher import AES
from minio.commonconfig import CopySource
from minio.minioadmin import _COMMAND

GROUPS = ("developers", "administrators")


def open_sealed(body: bytes, secret: str) -> bytes:
    """Decrypt an admin payload of AEAD ID 2 as MinIO's DecryptData does, written from the format (salt,
    ID, nonce, then sio chunks of AES-256-GCM under a PBKDF2-SHA256 key), not from the module's code."""
    salt, aead, nonce, chunk = body[:32], body[32], body[33:41], body[41:]
    assert aead == 2, f"AEAD ID {aead} is not PBKDF2 with AES-GCM"
    key = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 8192, 32)
    final = b"\x80" + AES.new(key, AES.MODE_GCM, nonce + bytes(4)).digest()
    cipher = AES.new(key, AES.MODE_GCM, nonce + (1).to_bytes(4, "little"))
    cipher.update(final)
    return cipher.decrypt_and_verify(chunk[:-16], chunk[-16:])


class TenantFakeAdmin(FakeAdmin):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret
        self.salts: list[bytes] = []

    def user_list(self) -> str:
        return json.dumps({name: json.loads(self.user_info(name)) for name in self.users})

    def _url_open(self, *, method: str, command: object, query_params: dict, body: bytes) -> None:
        """The add-user request as MinIO takes it: the body decrypts with the admin's secret or is refused."""
        assert (method, command) == ("PUT", _COMMAND.ADD_USER)
        request = json.loads(open_sealed(body, self.secret))
        assert request["status"] == "enabled"
        self.salts.append(body[:32])
        self.user_add(query_params["accessKey"], request["secretKey"])


class TenantFakeS3(FakeS3):
    def __init__(self, admin: FakeAdmin) -> None:
        super().__init__(admin)
        # Keys whose copies silently go missing, to prove that the archive is checked before deleting.
        self.lost_copies: set[str] = set()

    def list_objects(
        self, name: str, prefix: str | None = None, recursive: bool = False, include_version: bool = False
    ) -> list:
        return [
            entry
            for entry in self.objects[name]
            if entry.object_name.startswith(prefix or "")
            and (include_version or (entry.is_latest == "true" and not entry.is_delete_marker))
        ]

    def copy_object(self, bucket: str, name: str, source: CopySource) -> None:
        self.writes.append(("copy_object", bucket, name))
        if bucket not in self.admin.buckets:
            raise AssertionError(f"copy into the missing bucket {bucket}")
        original = next(
            entry
            for entry in self.list_objects(source.bucket_name, source.object_name)
            if entry.object_name == source.object_name
        )
        if source.object_name not in self.lost_copies:
            self.objects[bucket].append(FakeObject(name, original.size))


class TenantFakeClients(FakeClients):
    def __init__(self) -> None:
        self.fake_admin = TenantFakeAdmin(LOGIN["secret_key"])
        self.fake_s3 = TenantFakeS3(self.fake_admin)
        MinioClients.__init__(self, self.fake_admin, self.fake_s3, self._login, admin_secret=LOGIN["secret_key"])

    def add_user(self, name: str, secret: str, *groups: str, status: str = "enabled") -> None:
        self.fake_admin.users[name] = {"policies": [], "secret": secret, "status": status}
        for group in groups:
            self.fake_admin.groups[group]["members"].add(name)

    def add_bucket(self, name: str, *objects: FakeObject, quota: int | None = None) -> None:
        self.fake_s3.make_bucket(name)
        self.fake_s3.objects[name].extend(objects)
        if quota:
            self.fake_admin.bucket_quota_set(name, quota)


def tenant_server() -> TenantFakeClients:
    """A server with the two role groups, as the minio role leaves it, and no writes recorded."""
    clients = TenantFakeClients()
    for group in GROUPS:
        clients.fake_admin.groups[group] = {"status": "enabled", "members": set(), "policies": [group]}
    return clients
