"""Log in to the database, S3 and ZenML as each account of MLOPS_VERIFY_ACCOUNTS; exit 1 if one login fails.

Runs in a one-shot container of the job image on the stack's network, with the clients the CI jobs use.
"""

import json
import os
import ssl
import sys

import boto3
import pymysql
import requests
from botocore.config import Config


def _database(user: str, password: str) -> str:
    # A login check, not a trust decision: TLS when the server offers it, without verifying the internal name.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = pymysql.connect(
        host=os.environ["MLOPS_DB_HOST"], user=user, password=password, connect_timeout=10, ssl=context
    )
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _s3(access_key: str, secret_key: str, bucket: str) -> str:
    client = boto3.client(
        "s3",
        endpoint_url=os.environ["MLOPS_S3_ENDPOINT"],
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=os.environ.get("MLOPS_S3_REGION", "us-east-1"),
        config=Config(connect_timeout=10, retries={"max_attempts": 2}),
    )
    if bucket:
        return f"{client.list_objects_v2(Bucket=bucket, MaxKeys=1000).get('KeyCount', 0)} objects"
    return f"{len(client.list_buckets()['Buckets'])} buckets"


def _zenml(user: str, password: str) -> str:
    url = os.environ["MLOPS_ZENML_URL"].rstrip("/")
    response = requests.post(f"{url}/api/v1/login", data={"username": user, "password": password}, timeout=15)
    response.raise_for_status()
    token = response.json()["access_token"]
    stacks = requests.get(f"{url}/api/v1/stacks", headers={"Authorization": f"Bearer {token}"}, timeout=15)
    stacks.raise_for_status()
    return f"{stacks.json()['total']} stacks"


def main() -> int:
    failed = False
    for account in json.loads(os.environ["MLOPS_VERIFY_ACCOUNTS"]):
        results = {}
        for service, check in (("database", _database), ("s3", _s3), ("zenml", _zenml)):
            try:
                results[service] = check(*account[service])
            except Exception as error:  # every failure is reported, none stops the other checks
                failed = True
                results[service] = f"FAILED {type(error).__name__}: {str(error)[:200]}"
        print(json.dumps({"account": account["name"], **results}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
