#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: minio_tenant
short_description: Give people (or take away) a MinIO user in their role's group and a private bucket
version_added: 0.1.0
description:
  - For each listed person C(NAME), creates or removes the MinIO user C(NAME) with its secret key, its
    membership of the group of its role, and the bucket C(NAME) with a hard quota and an expiry rule.
    The user name is thus also the access key and the bucket's name; O(users[].password) is the secret
    key, 8 to 40 characters as MinIO requires.
  - The groups exist already, with the policies that give each role its rights (the C(onprem.mlops.minio)
    role creates them); this module only puts people into them. A person changing role is moved from one
    group to the other.
  - A whole class goes through one task. The request is checked and every user read before the first
    write, so an invalid name, a missing group or a new user without password fails the task before
    anything changes; then a few people are handled at a time, and each group's membership changes in one
    call. On a two-core VM, fifty new people take two to three seconds, fifty already in place about one.
  - Only what differs is written. A person left half-provisioned by an interrupted run (a user without
    bucket, a bucket without user, the wrong group) is completed by the next one.
author:
  - onprem.mlops contributors
extends_documentation_fragment:
  - onprem.mlops.minio
  - onprem.mlops.tenant
attributes:
  diff_mode:
    support: full
    description:
      - Returns, per person, the user (status, groups, directly attached policies) and the bucket (quota,
        expiry, versioning, policy) before and after. A secret that changes shows as a placeholder.
  idempotent:
    support: partial
    description:
      - A second run with the same options reports no change, except with O(update_password=always) for a
        user that another tool disabled, whose secret cannot be checked and is therefore rewritten (which
        enables it).
options:
  developer_group:
    description:
      - Group of the V(developer) role. It must exist when a listed person has that role.
    type: str
    default: developers
  administrator_group:
    description:
      - Group of the V(administrator) role. It must exist when a listed person has that role.
    type: str
    default: administrators
  quota:
    description:
      - Hard quota of each person's bucket; writes that would exceed it are refused.
      - Bytes as an integer, or a string with a unit such as V(512MiB), V(10GiB), V(10g) (powers of 1024)
        or V(10GB) (powers of 1000), as for M(onprem.mlops.minio_bucket).
      - V(0) or V(none) removes the quota. Omitted, each bucket's quota is left as it is.
    type: raw
  object_lifetime_days:
    description:
      - Expire the objects of each person's bucket this many days after they were written, through the
        lifecycle rule C(onprem-mlops-expiry) (as M(onprem.mlops.minio_bucket) does). Other rules are kept.
      - V(0) removes that rule. Omitted, the rules are left as they are.
    type: int
  archive_bucket:
    description:
      - With O(state=absent), first copy every current object of each person's bucket, server-side, to
        C(ARCHIVE_BUCKET/NAME-SUFFIX/KEY), and check that each copy arrived before anything is deleted.
        The bucket is created if it is missing and there is something to copy.
      - Older versions and delete markers are not copied. Omitted, nothing is copied.
    type: str
  archive_prefix_suffix:
    description:
      - The C(SUFFIX) of the archive prefix, for instance the time stamp other archives of the same removal
        use. Letters, digits, dots, hyphens and underscores.
      - Omitted, the UTC time of the run as C(YYYYmmddHHMMSS).
    type: str
  state:
    description:
      - V(present) creates what is missing and corrects what differs.
      - V(absent) removes each user first (MinIO removes its group memberships and service accounts with
        it, and the user can write nothing more), then archives the bucket if O(archive_bucket) is set,
        then deletes every object, version and delete marker and the bucket. A person already gone is not
        an error.
    type: str
    choices: [present, absent]
    default: present
notes:
  - With O(update_password=always), MinIO cannot return a secret, so the module signs a request as the
    user and rewrites the secret only if MinIO refuses the signature.
  - Groups other than O(developer_group) and O(administrator_group), policies attached to a user directly,
    and the bucket's versioning and policy are left as they are.
  - A user's secret travels to the admin API encrypted under a key derived from O(secret_key). The module
    derives it with PBKDF2-SHA256, a format MinIO accepts (and itself uses in FIPS mode), rather than with
    the SDK's Argon2id, which MinIO decrypts one at a time at up to a third of a second each.
seealso:
  - module: onprem.mlops.minio_user
  - module: onprem.mlops.minio_bucket
  - module: onprem.mlops.minio_group
"""

EXAMPLES = r"""
- name: Give two students and a teacher their S3 account and a 10 GiB bucket
  onprem.mlops.minio_tenant:
    users:
      - name: alice
        role: developer
        password: "{{ vault_s3_secrets.alice }}"
      - name: bob
        role: developer
        password: "{{ vault_s3_secrets.bob }}"
      - name: carol
        role: administrator
        password: "{{ vault_s3_secrets.carol }}"
    quota: 10GiB
    object_lifetime_days: 0
  module_defaults:
    group/onprem.mlops.minio:
      endpoint: 127.0.0.1:9000
      access_key: "{{ minio_root_user }}"
      secret_key: "{{ minio_root_password }}"

- name: Make bob an administrator and reset secrets changed by hand
  onprem.mlops.minio_tenant:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    users:
      - name: bob
        role: administrator
        password: "{{ vault_s3_secrets.bob }}"
    update_password: always

- name: Remove bob, keeping a copy of his objects in the archive bucket
  onprem.mlops.minio_tenant:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    users:
      - name: bob
    archive_bucket: archive
    archive_prefix_suffix: "{{ now(utc=true, fmt='%Y%m%d%H%M%S') }}"
    state: absent
"""

RETURN = r"""
users:
  description: One entry per listed person, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The user name, also the access key and the bucket.
      type: str
      sample: alice
    role:
      description: The role asked for (null when not given).
      type: str
      sample: developer
    group:
      description: The group of the role; null with O(state=absent).
      type: str
      sample: developers
    user:
      description:
        - What happened to the user, V(created), V(updated) (secret, status or group) or V(unchanged); with
          O(state=absent) V(removed) or V(absent) (there was none). In check mode, what would happen.
      type: str
      sample: created
    bucket:
      description:
        - What happened to the bucket, with the same values as RV(users[].user).
      type: str
      sample: created
    password_changed:
      description: Whether the secret of an existing user was (or in check mode would be) rewritten.
      returned: when O(state=present)
      type: bool
      sample: false
    changed:
      description: Whether anything of this person was (or would be) changed.
      type: bool
      sample: true
    archived_objects:
      description: Number of objects copied (or in check mode to copy) to the archive.
      returned: when O(archive_bucket) is set
      type: int
      sample: 42
    archive_prefix:
      description: Where in O(archive_bucket) the objects went; null when the bucket held none.
      returned: when O(archive_bucket) is set
      type: str
      sample: bob-20261123140000/
diff:
  description:
    - Each person before and after, under C(users.NAME) with C(user) and C(bucket) for what exists. Never a
      secret.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_tenant import ensure_tenants
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import users_argument_spec
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    connect,
    minio_argument_spec,
    minio_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=minio_argument_spec(
            **users_argument_spec(),
            developer_group={"type": "str", "default": "developers"},
            administrator_group={"type": "str", "default": "administrators"},
            quota={"type": "raw"},
            object_lifetime_days={"type": "int"},
            archive_bucket={"type": "str"},
            archive_prefix_suffix={"type": "str"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        ),
        supports_check_mode=True,
    )
    clients = connect(module)
    with minio_errors(module, "managing MinIO tenants"):
        module.exit_json(**ensure_tenants(clients, module.params, module.check_mode))


if __name__ == "__main__":
    main()
