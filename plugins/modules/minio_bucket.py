#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: minio_bucket
short_description: Manage MinIO buckets with their quota, expiry, versioning and policy
version_added: 0.1.0
description:
  - Create or remove a bucket and set its hard quota, an expiry rule for its objects, versioning and its
    bucket policy. Each setting that is omitted is left as it is.
  - Optionally returns how many objects and bytes the bucket holds.
author:
  - onprem.mlops contributors
extends_documentation_fragment:
  - onprem.mlops.minio
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing anything.
  diff_mode:
    support: full
    description: Returns the bucket's settings before and after.
  idempotent:
    support: full
    description: A second run with the same options reports no change.
options:
  name:
    description:
      - Name of the bucket (3 to 63 lowercase letters, digits, dots and hyphens).
    type: str
    required: true
  state:
    description:
      - V(present) creates the bucket and applies the settings.
      - V(absent) removes it. A bucket that holds objects or object versions is refused unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), first delete every object, every version and every delete marker.
    type: bool
    default: false
  quota:
    description:
      - Hard quota of the bucket; writes that would exceed it are refused.
      - Bytes as an integer, or a string with a unit such as V(512MiB), V(10GiB), V(10g) (powers of 1024)
        or V(10GB) (powers of 1000).
      - V(0) or V(none) removes the quota. Omitted, the quota is left as it is.
    type: raw
  object_lifetime_days:
    description:
      - Expire current objects this many days after they were written, through a lifecycle rule with the
        ID C(onprem-mlops-expiry) that covers the whole bucket. Other lifecycle rules are kept.
      - V(0) removes the rule. Omitted, the rule is left as it is.
    type: int
  versioning:
    description:
      - V(true) enables versioning. V(false) suspends it if it was enabled (a bucket can never return
        to unversioned); on a bucket that was never versioned it changes nothing.
      - Omitted, versioning is left as it is.
    type: bool
  policy:
    description:
      - Bucket policy, for access that does not go through users, such as anonymous downloads.
      - V({}) removes the bucket policy. Omitted, it is left as it is.
      - Compared in the same canonical form as M(onprem.mlops.minio_policy) documents.
    type: dict
  usage:
    description:
      - Also return RV(bucket.usage), counted by listing every object version (exact, but takes time on
        buckets with many objects; MinIO's own usage figures lag behind by up to several minutes).
    type: bool
    default: false
seealso:
  - module: onprem.mlops.minio_policy
  - name: MinIO bucket quotas
    description: How MinIO enforces hard quotas.
    link: https://min.io/docs/minio/linux/reference/minio-mc/mc-quota-set.html
"""

EXAMPLES = r"""
- name: A student's bucket, 10 GiB at most, objects kept for a semester
  onprem.mlops.minio_bucket:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: alice
    quota: 10GiB
    object_lifetime_days: 180

- name: A public, versioned bucket for datasets
  onprem.mlops.minio_bucket:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: datasets
    versioning: true
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Principal: "*"
          Action: s3:GetObject
          Resource: arn:aws:s3:::datasets/*

- name: How full is each user's bucket?
  onprem.mlops.minio_bucket:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: "{{ item }}"
    usage: true
  loop: [alice, bob]
  check_mode: true
  register: __buckets

- name: Remove a bucket with everything in it
  onprem.mlops.minio_bucket:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: alice
    state: absent
    force: true
"""

RETURN = r"""
bucket:
  description: The bucket after the run; empty when O(state=absent).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the bucket.
      type: str
      sample: alice
    quota:
      description: Hard quota in bytes, null when there is none.
      type: int
      sample: 10737418240
    object_lifetime_days:
      description: Days after which the C(onprem-mlops-expiry) rule expires objects, null without the rule.
      type: int
      sample: 180
    versioning:
      description: Whether versioning is enabled.
      type: bool
      sample: false
    policy:
      description: The bucket policy in canonical form, null when there is none.
      type: dict
    usage:
      description: What the bucket holds (zero for a bucket only created in check mode).
      returned: when O(usage=true)
      type: dict
      contains:
        objects:
          description: Number of current objects (not counting older versions and delete markers).
          type: int
          sample: 42
        size:
          description: Bytes in the current objects.
          type: int
          sample: 1048576
        size_all_versions:
          description: Bytes in all stored versions, which is what the quota counts.
          type: int
          sample: 2097152
diff:
  description: The bucket before and after, as in RV(bucket) without RV(bucket.usage).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_bucket import ensure_bucket
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    connect,
    minio_argument_spec,
    minio_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=minio_argument_spec(
            name={"type": "str", "required": True},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            force={"type": "bool", "default": False},
            quota={"type": "raw"},
            object_lifetime_days={"type": "int"},
            versioning={"type": "bool"},
            policy={"type": "dict"},
            usage={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    clients = connect(module)
    with minio_errors(module, f"managing MinIO bucket {module.params['name']}"):
        module.exit_json(**ensure_bucket(clients, module.params, module.check_mode))


if __name__ == "__main__":
    main()
