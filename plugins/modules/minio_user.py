#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: minio_user
short_description: Manage MinIO built-in users, their groups and policies
version_added: 0.1.0
description:
  - Create, update or remove a user of MinIO's built-in identity provider, and set its secret, whether it
    is enabled, the groups it belongs to and the policies attached to it directly.
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
    description: Returns the user before and after; a secret that changes shows as a placeholder.
  idempotent:
    support: partial
    description:
      - A second run with the same options reports no change, except with O(update_password=always) for
        a user that is and stays disabled, whose secret cannot be checked and is therefore rewritten.
options:
  name:
    description:
      - The user's access key, that is its user name (3 to 20 characters for MinIO).
      - Not called C(access_key) because that option holds the admin login, which C(module_defaults)
        give to every MinIO module.
    type: str
    required: true
    aliases: [user]
  password:
    description:
      - The user's secret key (8 to 40 characters for MinIO).
      - Required to create the user. Never returned.
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) only when the user is created.
      - V(always) makes the stored secret equal to O(password). MinIO cannot return a secret, so the module
        signs a request as the user with O(password) and rewrites the secret only if MinIO refuses the
        signature; the task reports a change only then.
    type: str
    choices: [always, on_create]
    default: on_create
  status:
    description:
      - V(enabled) or V(disabled). A disabled user keeps its groups, policies and service accounts but
        every request it or its service accounts make is refused.
      - Omitted, a new user is enabled and an existing one is left as it is.
    type: str
    choices: [enabled, disabled]
  groups:
    description:
      - Groups the user is a member of; exactly these, it is removed from others.
      - The groups must exist (see M(onprem.mlops.minio_group)); the module refuses to create them
        implicitly, which the admin API would otherwise do.
      - Omitted, the memberships are left as they are.
    type: list
    elements: str
  policies:
    description:
      - Policies attached to the user itself, not through a group; exactly these, others are detached.
      - Omitted, the directly attached policies are left as they are.
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the user.
      - V(absent) removes the user; MinIO removes its service accounts and group memberships with it.
        Its buckets and objects stay.
    type: str
    choices: [present, absent]
    default: present
notes:
  - MinIO's add-user call rewrites the whole identity and enables the user, so changing the secret of a
    disabled user is followed by disabling it again.
  - A disabled user is refused before MinIO checks the signature, so with O(update_password=always) its
    secret is rewritten on every run while it stays disabled.
seealso:
  - module: onprem.mlops.minio_group
  - module: onprem.mlops.minio_service_account
"""

EXAMPLES = r"""
- name: Create a student who belongs to the developers group
  onprem.mlops.minio_user:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: alice
    password: "{{ alice_minio_password }}"
    groups: [developers]
  no_log: true

- name: Reset the secret if it is not the one in the vault, and attach a policy directly
  onprem.mlops.minio_user:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: alice
    password: "{{ alice_minio_password }}"
    update_password: always
    policies: [datasets-read]
  no_log: true

- name: Lock a user out without deleting anything
  onprem.mlops.minio_user:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: alice
    status: disabled

- name: Remove a user and its service accounts
  onprem.mlops.minio_user:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: alice
    state: absent
"""

RETURN = r"""
user:
  description: The user after the run (without any secret); empty when O(state=absent).
  returned: success
  type: dict
  contains:
    name:
      description: The access key.
      type: str
      sample: alice
    status:
      description: V(enabled) or V(disabled).
      type: str
      sample: enabled
    groups:
      description: Groups the user is a member of, sorted.
      type: list
      elements: str
      sample: [developers]
    policies:
      description: Policies attached to the user directly, sorted.
      type: list
      elements: str
      sample: [datasets-read]
    service_accounts:
      description: Access keys of the user's service accounts, sorted (read only).
      type: list
      elements: str
      sample: [alice-runner]
password_changed:
  description: Whether the secret of an existing user was (or in check mode would be) rewritten.
  returned: when O(state=present)
  type: bool
  sample: false
diff:
  description: The user before and after, as in RV(user).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_user import ensure_user
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    connect,
    minio_argument_spec,
    minio_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=minio_argument_spec(
            name={"type": "str", "required": True, "aliases": ["user"]},
            password={"type": "str", "no_log": True},
            update_password={
                "type": "str",
                "choices": ["always", "on_create"],
                "default": "on_create",
                "no_log": False,
            },
            status={"type": "str", "choices": ["enabled", "disabled"]},
            groups={"type": "list", "elements": "str"},
            policies={"type": "list", "elements": "str"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        ),
        supports_check_mode=True,
    )
    clients = connect(module)
    with minio_errors(module, f"managing MinIO user {module.params['name']}"):
        module.exit_json(**ensure_user(clients, module.params, module.check_mode))


if __name__ == "__main__":
    main()
