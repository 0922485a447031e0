#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: minio_group
short_description: Manage MinIO groups, their members and attached policies
version_added: 0.1.0
description:
  - Create or remove a group of MinIO built-in users, set exactly which policies are attached to it and,
    optionally, exactly who its members are.
  - A group can be created with no members and given its policies before any user exists, so a role can
    lay out C(developers) and C(administrators) on a fresh server and add users later.
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
    description: Returns the group's members and policies before and after.
  idempotent:
    support: full
    description: A second run with the same options reports no change.
options:
  name:
    description:
      - Name of the group.
    type: str
    required: true
  policies:
    description:
      - Names of the policies attached to the group; exactly these, others are detached.
      - An empty list detaches all. Omitted, the attached policies are left as they are.
      - The policies must exist (see M(onprem.mlops.minio_policy)); built-in ones such as C(readwrite)
        and C(consoleAdmin) exist on every server.
    type: list
    elements: str
  members:
    description:
      - Access keys of the users in the group; exactly these, others are removed from the group.
      - An empty list empties the group. Omitted, the members are left as they are, which suits a group
        whose membership is set per user with the O(onprem.mlops.minio_user#module:groups) option.
      - The users must exist.
    type: list
    elements: str
  state:
    description:
      - V(present) creates or updates the group. V(absent) removes its members from it and removes it.
      - Removing a group does not remove its users, only their membership.
    type: str
    choices: [present, absent]
    default: present
notes:
  - "What the MinIO admin API does with groups, as tested against MinIO built from its last (2026)
    sources: a group can be created with an empty member list (C(mc admin group add) insists on members,
    the API does not); a policy can be attached to an empty group but not to a group that does not exist
    (C(XMinioAdminNoSuchGroup)) nor to a disabled one; removing the last member keeps the group; a group
    that still has members cannot be removed (C(XMinioAdminGroupNotEmpty)), so O(state=absent) removes the
    members first; removing a group also drops its policy mapping."
  - Manage a group's membership either here with O(members) or per user with
    O(onprem.mlops.minio_user#module:groups), not both, or the two will undo each other.
seealso:
  - module: onprem.mlops.minio_policy
  - module: onprem.mlops.minio_user
"""

EXAMPLES = r"""
- name: Lay out the groups on a fresh server, before any user exists
  module_defaults:
    group/onprem.mlops.minio:
      endpoint: 127.0.0.1:9000
      access_key: "{{ minio_root_user }}"
      secret_key: "{{ minio_root_password }}"
  block:
    - name: Developers get their own bucket
      onprem.mlops.minio_group:
        name: developers
        policies: [own-bucket]

    - name: Administrators get the console
      onprem.mlops.minio_group:
        name: administrators
        policies: [consoleAdmin]

- name: Set the members of a group exactly
  onprem.mlops.minio_group:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: administrators
    members: [alice, bob]

- name: Remove a group (its users stay)
  onprem.mlops.minio_group:
    endpoint: 127.0.0.1:9000
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    name: course-2024
    state: absent
"""

RETURN = r"""
group:
  description: The group after the run; empty when O(state=absent).
  returned: success
  type: dict
  contains:
    name:
      description: Name of the group.
      type: str
      sample: developers
    status:
      description: V(enabled) or V(disabled) (not changed by this module).
      type: str
      sample: enabled
    members:
      description: Access keys of the members, sorted.
      type: list
      elements: str
      sample: [alice, bob]
    policies:
      description: Names of the attached policies, sorted.
      type: list
      elements: str
      sample: [own-bucket]
diff:
  description: The group before and after, as in RV(group).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._minio_group import ensure_group
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    connect,
    minio_argument_spec,
    minio_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=minio_argument_spec(
            name={"type": "str", "required": True},
            policies={"type": "list", "elements": "str"},
            members={"type": "list", "elements": "str"},
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        ),
        supports_check_mode=True,
    )
    clients = connect(module)
    with minio_errors(module, f"managing MinIO group {module.params['name']}"):
        module.exit_json(**ensure_group(clients, module.params, module.check_mode))


if __name__ == "__main__":
    main()
