# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the onprem.mlops tenant modules share: the users, update_password and their attributes."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  users:
    description:
      - The people to provision or remove, a whole class in one task. The list is checked before anything
        is read or written, so an invalid name, a name listed twice, or the account the module logs in with
        fails the task and changes nothing.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The username, from which the names of all the person's resources derive (see the
            C(onprem.mlops.user_resources) filter).
          - 3 to 20 characters, lower-case letters a-z and digits, starting with a letter; reserved names
            (such as V(root), V(admin), V(template)) and names starting with V(shared), V(archive),
            V(mlflow), V(gitlabrunner) or V(minio) are refused. Every tenant module and the
            C(onprem.mlops.username_errors) filter apply this same rule.
        type: str
        required: true
      role:
        description:
          - V(developer) or V(administrator). Required with O(state=present); ignored with
            O(state=absent).
        type: str
        choices: [developer, administrator]
      password:
        description:
          - The person's password in this service. Required with O(state=present) for a person who does
            not exist yet. Never returned.
        type: str
  update_password:
    description:
      - V(on_create) sets O(users[].password) only when the account is created.
      - V(always) makes the password of each existing account equal to O(users[].password). No service
        returns a password, so the module tries the given one and resets it only when the service refuses
        it; a person is reported as changed only then.
    type: str
    choices: [always, on_create]
    default: on_create
attributes:
  check_mode:
    support: full
    description: Reads every listed person's state and reports what would change, without writing anything.
  diff_mode:
    support: full
    description:
      - Returns each listed person before and after under C(users.NAME), an empty dictionary for nothing.
        Never a secret; one that changes shows as C(<hidden, changed>).
  idempotent:
    support: full
    description: A second run with the same options reports no change.
notes:
  - The C(*_tenant) modules (M(onprem.mlops.database_tenant), M(onprem.mlops.minio_tenant),
    M(onprem.mlops.zenml_tenant)) take the same O(users) list, so one list of names, roles and
    passwords provisions a person in every service.
"""
