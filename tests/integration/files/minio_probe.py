"""Look at a MinIO server independently of the modules under test, for the integration targets.

S3 calls go through boto3 (not the SDK the modules use); IAM reads use the SDK's admin client, the only
client for MinIO's admin API. The admin login comes from MLOPS_TEST_MINIO_*; account secrets under test
come from PROBE_SECRET so they stay off the command line. Prints one JSON object.

    minio_probe.py policy|group|user|service-account|bucket NAME
    minio_probe.py login ACCESS_KEY                      # list buckets as ACCESS_KEY
    minio_probe.py put ACCESS_KEY BUCKET OBJECT          # write a small object as ACCESS_KEY
    minio_probe.py upload BUCKET OBJECT SIZE             # write SIZE bytes as the admin
    minio_probe.py add-rule BUCKET RULE_ID DAYS          # add a lifecycle rule for the prefix tmp/
"""

import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from minio import MinioAdmin
from minio.credentials import StaticProvider
from minio.error import MinioAdminException

ENDPOINT = os.environ["MLOPS_TEST_MINIO_ENDPOINT"]
ADMIN_KEY = os.environ["MLOPS_TEST_MINIO_ACCESS_KEY"]
ADMIN_SECRET = os.environ["MLOPS_TEST_MINIO_SECRET_KEY"]
HOST = ENDPOINT.split("://", 1)[-1]
SECURE = ENDPOINT.startswith("https://")


def s3(access_key: str, secret_key: str):
    return boto3.client(
        "s3",
        endpoint_url=("https://" if SECURE else "http://") + HOST,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
    )


def admin_read(call, name: str) -> dict | None:
    try:
        text = call(name)
    except MinioAdminException as exc:
        if getattr(exc, "_code", "") == "404":
            return None
        raise
    return json.loads(text)


def s3_outcome(call) -> dict:
    try:
        call()
    except ClientError as exc:
        return {"ok": False, "code": exc.response["Error"]["Code"]}
    return {"ok": True, "code": ""}


def main(command: str, *args: str) -> dict:
    admin = MinioAdmin(endpoint=HOST, credentials=StaticProvider(ADMIN_KEY, ADMIN_SECRET), secure=SECURE)
    root = s3(ADMIN_KEY, ADMIN_SECRET)
    secret = os.environ.get("PROBE_SECRET", "")
    if command == "policy":
        document = admin_read(admin.policy_info, args[0])
        return {"exists": document is not None, "document": document}
    if command == "group":
        info = admin_read(admin.group_info, args[0])
        return {"exists": info is not None, **(info or {})}
    if command == "user":
        info = admin_read(admin.user_info, args[0])
        return {"exists": info is not None, **(info or {})}
    if command == "service-account":
        info = admin_read(admin.get_service_account, args[0])
        return {"exists": info is not None, **(info or {})}
    if command == "bucket":
        name = args[0]
        if not s3_outcome(lambda: root.head_bucket(Bucket=name))["ok"]:
            return {"exists": False}
        quota = json.loads(admin.bucket_quota_get(name))
        try:
            rules = root.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
        except ClientError:
            rules = []
        return {
            "exists": True,
            "quota": max(quota.get("quota", 0), quota.get("size", 0)),
            "lifecycle": {rule["ID"]: rule.get("Expiration", {}).get("Days") for rule in rules},
            "versioning": root.get_bucket_versioning(Bucket=name).get("Status", ""),
            "has_policy": s3_outcome(lambda: root.get_bucket_policy(Bucket=name))["ok"],
        }
    if command == "login":
        # Developers may not list all buckets: AccessDenied still proves the credentials were accepted.
        outcome = s3_outcome(lambda: s3(args[0], secret).list_buckets())
        return {"ok": True, "code": ""} if outcome["code"] == "AccessDenied" else outcome
    if command == "put":
        client = s3(args[0], secret)
        return s3_outcome(lambda: client.put_object(Bucket=args[1], Key=args[2], Body=b"probe"))
    if command == "upload":
        return s3_outcome(lambda: root.put_object(Bucket=args[0], Key=args[1], Body=b"x" * int(args[2])))
    if command == "add-rule":
        try:
            rules = root.get_bucket_lifecycle_configuration(Bucket=args[0])["Rules"]
        except ClientError:
            rules = []
        rule = {"ID": args[1], "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": int(args[2])}}
        configuration = {"Rules": [*rules, rule]}
        return s3_outcome(
            lambda: root.put_bucket_lifecycle_configuration(Bucket=args[0], LifecycleConfiguration=configuration)
        )
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
