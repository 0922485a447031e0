#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: minio_policy
short_description: Manage MinIO IAM (canned) policies
version_added: 0.1.0
description:
  - Create, update or remove a named IAM policy on a MinIO server, the kind that is attached to users
    and groups with M(onprem.mlops.minio_user) and M(onprem.mlops.minio_group).
  - The document on the server is compared with O(policy) in a canonical form, so neither the order of
    statements, actions, resources or condition values, nor a single value written as a string instead of
    a one-element list, nor duplicate statements cause a change.
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
    description: Returns the canonical policy before and after.
  idempotent:
    support: full
    description: A second run with the same options reports no change.
options:
  name:
    description:
      - Name of the policy.
    type: str
    required: true
  policy:
    description:
      - The IAM policy document (C(Version) and C(Statement)), as a dictionary.
      - Required when O(state=present).
      - MinIO checks the document when it is written and refuses unknown actions or condition keys that do
        not apply to an action.
    type: dict
  state:
    description:
      - V(present) creates the policy or replaces its document. V(absent) removes it.
      - MinIO refuses to remove a policy that is still attached to a user or group; the module then fails
        and names them.
    type: str
    choices: [present, absent]
    default: present
notes:
  - MinIO stores the document in its own normal form (C(Id) becomes C(ID), empty C(Sid) is dropped,
    single values become lists); the returned O(policy) is the canonical form used for comparing.
seealso:
  - module: onprem.mlops.minio_group
  - module: onprem.mlops.minio_user
  - name: MinIO policy-based access control
    description: Actions, resources and condition keys MinIO understands.
    link: https://min.io/docs/minio/linux/administration/identity-access-management/policy-based-access-control.html
"""

EXAMPLES = r"""
- name: Let each user read and write only the bucket named after them
  onprem.mlops.minio_policy:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: own-bucket
    policy:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: ["s3:ListBucket", "s3:GetBucketLocation"]
          Resource: "arn:aws:s3:::${aws:username}"
        - Effect: Allow
          Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
          Resource: "arn:aws:s3:::${aws:username}/*"

- name: Several policies with the login options given once
  module_defaults:
    group/onprem.mlops.minio:
      endpoint: https://minio.example.org:9000
      access_key: "{{ minio_root_user }}"
      secret_key: "{{ minio_root_password }}"
  block:
    - name: Read-only access to the shared datasets
      onprem.mlops.minio_policy:
        name: datasets-read
        policy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: s3:GetObject
              Resource: arn:aws:s3:::datasets/*

    - name: Remove a policy nobody uses any more
      onprem.mlops.minio_policy:
        name: old-policy
        state: absent
"""

RETURN = r"""
policy:
  description: The policy after the run; empty when O(state=absent).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the policy.
      type: str
      sample: own-bucket
    policy:
      description: The document in canonical form (lists sorted, statements sorted and unique).
      type: dict
      sample:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: ["s3:GetObject"]
            Resource: ["arn:aws:s3:::datasets/*"]
diff:
  description: The policy before and after, as in RV(policy).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_policy import ensure_policy
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    connect,
    minio_argument_spec,
    minio_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=minio_argument_spec(
            name={"type": "str", "required": True},
            policy={"type": "dict"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        ),
        required_if=[("state", "present", ["policy"])],
        supports_check_mode=True,
    )
    clients = connect(module)
    with minio_errors(module, f"managing MinIO policy {module.params['name']}"):
        module.exit_json(**ensure_policy(clients, module.params, module.check_mode))


if __name__ == "__main__":
    main()
