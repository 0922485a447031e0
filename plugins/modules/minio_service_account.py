#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: minio_service_account
short_description: Manage MinIO service accounts (access keys) of a user
version_added: 0.1.0
description:
  - Create, update or remove a service account, an extra access key pair that acts for a MinIO built-in
    user, optionally restricted by an inline policy to a part of what the user may do.
  - Typical use is the GitLab Runner cache, whose credentials may only read and write one bucket prefix.
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
    description: Returns the account before and after; a secret that changes shows as a placeholder.
  idempotent:
    support: full
    description: A second run with the same options reports no change.
options:
  user:
    description:
      - The user the account belongs to (its parent). It must exist.
      - Required when O(state=present). An existing account of another user is not moved; the module fails.
    type: str
  service_access_key:
    description:
      - Access key of the service account (3 to 20 characters), unique on the server.
      - Not called C(access_key) because that option holds the admin login.
    type: str
    required: true
  service_secret_key:
    description:
      - Secret key of the service account (8 to 40 characters). Required to create it. Never returned.
    type: str
  update_password:
    description:
      - V(on_create) sets O(service_secret_key) only when the account is created.
      - V(always) makes the stored secret equal to O(service_secret_key); the module signs a request with it
        and rewrites it only if MinIO refuses the signature.
    type: str
    choices: [always, on_create]
    default: on_create
  policy:
    description:
      - Inline IAM policy that restricts the account to a subset of its user's rights. It cannot grant
        more than the user has.
      - V({}) removes the inline policy, so the account acts with all of its user's rights.
      - Omitted, an existing account keeps its policy and a new one gets none.
    type: dict
  name:
    description:
      - Display name of the account (up to 32 characters, starting with a letter).
      - MinIO cannot clear a name, so an empty value leaves it as it is.
    type: str
  description:
    description:
      - Description of the account. MinIO cannot clear it, so an empty value leaves it as it is.
    type: str
  state:
    description:
      - V(present) creates or updates the account. V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - MinIO drops the inline policy of a service account on every update that does not restate it (the
    account then gets all its user's rights), so every update this module sends carries the policy.
  - Removing the parent user with M(onprem.mlops.minio_user) removes its service accounts too.
  - The SDK's C(add_service_account) cannot name the parent user; the module sends that admin request
    (with C(targetUser)) itself, through the SDK's signed and encrypted transport.
seealso:
  - module: onprem.mlops.minio_user
  - module: onprem.mlops.minio_policy
"""

EXAMPLES = r"""
- name: Cache credentials for the GitLab Runner, limited to one prefix of one bucket
  onprem.mlops.minio_service_account:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    user: gitlab-runner
    service_access_key: runner-cache
    service_secret_key: "{{ runner_cache_secret }}"
    update_password: always
    name: runner-cache
    description: GitLab Runner distributed cache
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          Resource: arn:aws:s3:::runner-cache/cache/*
        - Effect: Allow
          Action: s3:ListBucket
          Resource: arn:aws:s3:::runner-cache
  no_log: true

- name: Revoke the key
  onprem.mlops.minio_service_account:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    service_access_key: runner-cache
    state: absent
"""

RETURN = r"""
service_account:
  description: The account after the run (without its secret); empty when O(state=absent).
  returned: success
  type: dict
  contains:
    access_key:
      description: The account's access key.
      type: str
      sample: runner-cache
    user:
      description: The parent user.
      type: str
      sample: gitlab-runner
    status:
      description: V(enabled) or V(disabled) (not changed by this module).
      type: str
      sample: enabled
    name:
      description: Display name, empty if none.
      type: str
      sample: runner-cache
    description:
      description: Description, empty if none.
      type: str
      sample: GitLab Runner distributed cache
    policy:
      description: The inline policy in canonical form, or null when the account has its user's rights.
      type: dict
password_changed:
  description: Whether the secret of an existing account was (or in check mode would be) rewritten.
  returned: when O(state=present)
  type: bool
  sample: false
diff:
  description: The account before and after, as in RV(service_account).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_service_account import (
    ensure_service_account,
)
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    connect,
    minio_argument_spec,
    minio_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=minio_argument_spec(
            user={"type": "str"},
            service_access_key={"type": "str", "required": True, "no_log": False},
            service_secret_key={"type": "str", "no_log": True},
            update_password={
                "type": "str",
                "choices": ["always", "on_create"],
                "default": "on_create",
                "no_log": False,
            },
            policy={"type": "dict"},
            name={"type": "str"},
            description={"type": "str"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        ),
        required_if=[("state", "present", ["user"])],
        supports_check_mode=True,
    )
    clients = connect(module)
    key = module.params["service_access_key"]
    with minio_errors(module, f"managing MinIO service account {key}"):
        module.exit_json(**ensure_service_account(clients, module.params, module.check_mode))


if __name__ == "__main__":
    main()
