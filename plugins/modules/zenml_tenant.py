#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: zenml_tenant
short_description: Give people their own ZenML account, project, private secrets, components and stack
version_added: 0.1.0
description:
  - For each person in O(users), create or remove a ZenML account and, owned by that account, two
    private secrets, three stack components and a stack that uses them, through ZenML's REST API.
  - "With O(state=present) every person C(NAME) gets: the account C(NAME) (an admin for
    V(administrator)); the private secrets C(NAME-s3) (keys C(aws_access_key_id),
    C(aws_secret_access_key)) and C(NAME-mlflow) (keys C(username), C(password)); the components
    C(NAME-artifact-store) (flavor C(s3), path C(s3://BUCKET/PREFIX), credentials through its
    C(authentication_secret)), C(NAME-mlflow) (experiment tracker, flavor C(mlflow), credentials as
    C({{NAME-mlflow.username}}) and C({{NAME-mlflow.password}}) references) and C(NAME-orchestrator)
    (flavor C(local)); and the stack C(NAME-stack) made of the three."
  - Every person also gets the project C(NAME), created by the admin and set as the account's default
    project, where their pipelines, runs, artifacts and models live. Names are unique within a project,
    so two people's pipelines of the same name do not collide; the server's access control lets a
    developer create only in their own project.
  - The secrets, components and stack are created and changed with the person's own login, so that the
    person owns them and only the person (and the person's pipeline runs) can read the private secrets.
  - Each resource is read and compared first; only what is missing or differs is written, and nothing is
    duplicated. A person whose resources were only partly created is completed by the next run.
author:
  - onprem.mlops contributors
extends_documentation_fragment:
  - onprem.mlops.zenml
  - onprem.mlops.tenant
attributes:
  check_mode:
    support: full
    description:
      - Reports what would change without writing anything.
      - When a password would be reset first, the person's private secrets cannot be read yet and are
        reported as V(write) actions.
  diff_mode:
    support: full
    description:
      - Returns, per person, the role, the secrets (key names only), the components with their
        configuration and the stack before and after. Secret values and passwords never appear; a value
        or password that changes shows as a placeholder.
  idempotent:
    support: full
    description:
      - A second run with the same options reports no change. With O(state=absent), a kept account (see
        O(state)) is reported as changed by check mode but not by the run itself.
options:
  users:
    description:
      - The people to manage. The list is checked before anything is read or written, so an invalid name,
        a name listed twice or the admin account fails the task and changes nothing. With O(state=absent)
        only O(users[].name) and, optionally, O(users[].password) are used.
    suboptions:
      name:
        description:
          - ZenML user name; also the prefix of the person's resource names.
          - The tenant modules' username rule, 3 to 20 characters, lower-case letters a-z and digits,
            starting with a letter, not a reserved name (as the C(onprem.mlops.username_errors) filter).
        type: str
        required: true
      role:
        description:
          - V(administrator) makes the account a ZenML admin, which in ZenML OSS can also manage users
            and the server's settings. V(developer) is an ordinary account.
          - ZenML OSS has no RBAC, so either role can read and change other people's stacks, components
            and non-private secrets; only private secrets are personal.
        type: str
        choices: [developer, administrator]
        default: developer
      password:
        description:
          - Password of the account. Required with O(state=present); the module logs in with it to
            create the person's resources.
          - With O(state=absent) it is used, if it works, to read the person's private secrets before
            deleting them; otherwise the module enters the account as described in O(state).
        type: str
      s3_access_key:
        description:
          - S3 access key the artifact store uses, stored in the secret C(NAME-s3). Required with
            O(state=present).
        type: str
      s3_secret_key:
        description:
          - S3 secret key, stored in the secret C(NAME-s3). Required with O(state=present).
        type: str
      s3_bucket:
        description:
          - Bucket of the artifact store. Required with O(state=present).
        type: str
      mlflow_username:
        description:
          - User name the experiment tracker sends to MLflow, stored in the secret C(NAME-mlflow).
            Required with O(state=present).
          - ZenML's MLflow flavor refuses an http(s) tracking URI without credentials, even one on localhost.
        type: str
      mlflow_password:
        description:
          - Password the experiment tracker sends to MLflow, stored in the secret C(NAME-mlflow).
            Required with O(state=present).
        type: str
  state:
    description:
      - V(present) creates or updates each person's account and resources.
      - V(absent) deletes the stack, the three components, the two secrets, the account and, once the
        account is gone and if it holds nothing (ZenML deletes a project's contents with it), the
        project. ZenML hides
        private secrets from the admin and refuses to delete an account that owns anything; without a
        working O(users[].password), the module deactivates the account, activates it again with a random
        password, logs in with it and deletes the secrets.
      - An account that still owns other resources (pipeline runs, artifacts, models, secrets of its own)
        cannot be deleted; it is left deactivated, so nobody can log in with it, and the task warns. Such
        an account, deactivated and without the module's stack and components, counts as removed.
    type: str
    choices: [present, absent]
    default: present
  s3_endpoint_url:
    description:
      - S3 endpoint the artifact store uses (its C(client_kwargs.endpoint_url)), as pipeline steps see it.
      - The default is MinIO on the stack's Docker network, where the CI jobs run.
    type: str
    default: http://minio:9000
  mlflow_tracking_uri:
    description:
      - Tracking URI of the experiment tracker. The default fits CI jobs that start their own MLflow server.
    type: str
    default: http://127.0.0.1:5000
  artifact_path_prefix:
    description:
      - Prefix inside each person's bucket; artifacts go to C(s3://BUCKET/PREFIX). Empty means the bucket root.
    type: str
    default: zenml
notes:
  - With O(update_password=on_create), a run that cannot log in with O(users[].password) fails, because
    the module needs the person's login. With O(update_password=always), ZenML lets nobody set another
    account's password, so the module deactivates the account and activates it with the new password,
    which also ends the person's sessions.
  - The module handles four people at a time over one HTTP session. Passwords are checked by logging in,
    which costs the server a bcrypt hash (about 0.4 s of CPU). Creating a person costs the server about
    1.1 s of CPU in all, a run that changes nothing about 0.45 s, a removal about 0.6 s; with the server
    limited to one CPU (the default of the zenml_server role) this bounds the run time of a class. Measured
    for 50 people on a busy two-core machine, 60 to 115 s to create and 28 to 55 s to check again.
  - The stack is made of exactly the three components; other components added to it are removed. The
    components' configuration is exactly the one above; other settings are removed.
  - The module refuses components or a stack with the person's names that another account owns.
seealso:
  - module: onprem.mlops.minio_user
  - name: ZenML secrets
    description: Private secrets and secret references in component configuration.
    link: https://docs.zenml.io/concepts/secrets
"""

EXAMPLES = r"""
- name: Give the class their ZenML resources
  onprem.mlops.zenml_tenant:
    server_url: http://127.0.0.1:8080
    admin_username: root
    admin_password: "{{ zenml_admin_password }}"
    users:
      - name: alice
        password: "{{ vault_passwords.alice }}"
        s3_access_key: alice
        s3_secret_key: "{{ vault_s3_keys.alice }}"
        s3_bucket: alice
        mlflow_username: alice
        mlflow_password: "{{ vault_mlflow_passwords.alice }}"
      - name: teacher
        role: administrator
        password: "{{ vault_passwords.teacher }}"
        s3_access_key: teacher
        s3_secret_key: "{{ vault_s3_keys.teacher }}"
        s3_bucket: teacher
        mlflow_username: teacher
        mlflow_password: "{{ vault_mlflow_passwords.teacher }}"

- name: Reset forgotten passwords to the ones in the vault
  onprem.mlops.zenml_tenant:
    server_url: http://127.0.0.1:8080
    admin_username: root
    admin_password: "{{ zenml_admin_password }}"
    update_password: always
    users: "{{ zenml_people }}"

- name: Take the resources away at the end of the term
  onprem.mlops.zenml_tenant:
    server_url: http://127.0.0.1:8080
    admin_username: root
    admin_password: "{{ zenml_admin_password }}"
    state: absent
    users:
      - name: alice
      - name: teacher
"""

RETURN = r"""
users:
  description: One entry per person, in the order of O(users); no secret values.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The user name.
      type: str
      sample: alice
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    changed:
      description: Whether anything of this person was (or in check mode would be) written.
      type: bool
      sample: true
    actions:
      description: The writes, in order, as C(ACTION KIND NAME).
      type: list
      elements: str
      sample: [create user alice, create secret alice-s3, create stack alice-stack]
    role:
      description: V(developer) or V(administrator).
      returned: when O(state=present)
      type: str
      sample: developer
    password_changed:
      description: Whether the password of an existing account was (or would be) reset.
      returned: when O(state=present)
      type: bool
      sample: false
    user:
      description: Name and id of the account (the id is null when check mode would create it).
      returned: when O(state=present)
      type: dict
      sample: {name: alice, id: 4e38d443-8688-4312-9c0d-35d8e5c1fc41}
    project:
      description: Name and id of the person's project, their account's default project.
      returned: when O(state=present)
      type: dict
      sample: {name: alice, id: 0b6a4a53-2b7f-4f0e-9f43-6f7f4c1f2a10}
    stack:
      description: Name and id of the stack.
      returned: when O(state=present)
      type: dict
      sample: {name: alice-stack, id: 9d8f19a0-62df-4676-8f6e-03ec3d66c06f}
    components:
      description: Name and id of each component, by type.
      returned: when O(state=present)
      type: dict
      sample:
        artifact_store: {name: alice-artifact-store, id: f02da0a6-e0bf-453e-8188-e3bf3ce5d229}
        experiment_tracker: {name: alice-mlflow, id: 2b1e8749-c824-47f0-b369-23c313947c09}
        orchestrator: {name: alice-orchestrator, id: 60315985-09e2-4aba-b568-020bba6f8017}
    secrets:
      description: Name and id of each private secret, by purpose (V(s3), V(mlflow)).
      returned: when O(state=present)
      type: dict
      sample:
        s3: {name: alice-s3, id: bf743802-b77e-49de-99cd-df35fff83510}
        mlflow: {name: alice-mlflow, id: 6db27273-e5f5-4b5c-8392-fb417fd69047}
    account:
      description:
        - V(deleted), V(absent) (there was none) or V(deactivated) (kept because it owns other resources).
        - In check mode, V(deleted) for an account that would be removed.
      returned: when O(state=absent)
      type: str
      sample: deleted
failed_users:
  description: The people whose run failed; the message is the first one's error.
  returned: failure
  type: list
  elements: str
  sample: [bob]
diff:
  description:
    - Each person before and after, under C(users.NAME), with C(role), C(active), C(project),
      C(default_project), C(secrets) (key names only), C(components) (type, flavor, configuration) and
      C(stack). A person without an account
      shows as an empty dictionary. Never a secret value or password.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import PartialFailure, users_argument_spec
from ansible_collections.onprem.mlops.plugins.module_utils._zenml_tenant import ensure_tenants, validate
from ansible_collections.onprem.mlops.plugins.module_utils.zenml import (
    ZenmlClient,
    connect,
    zenml_argument_spec,
    zenml_errors,
)

USER_OPTIONS = {
    "s3_access_key": {"type": "str", "no_log": False},
    "s3_secret_key": {"type": "str", "no_log": True},
    "s3_bucket": {"type": "str"},
    "mlflow_username": {"type": "str"},
    "mlflow_password": {"type": "str", "no_log": True},
}


def report(module: AnsibleModule, client: ZenmlClient) -> dict:
    """Manage everyone, then fail with the first failure, if any, after the people that went through."""
    try:
        result = ensure_tenants(client, module.params, module.check_mode)
    except PartialFailure as partial:
        result, failures = partial.result, partial.failures
    else:
        failures = []
    for user in result["users"]:
        for warning in user.pop("warnings", []):
            module.warn(warning)
    if failures:
        name, error = failures[0]
        others = f" ({len(failures) - 1} other people failed too)" if len(failures) > 1 else ""
        with zenml_errors(
            module,
            f"managing the ZenML resources of {name}{others}",
            client.server_version,
            changed=result["changed"],
            users=result["users"],
            failed_users=[failed_name for failed_name, _ in failures],
        ):
            raise error
    return dict(result)


def main() -> None:
    module = AnsibleModule(
        argument_spec=zenml_argument_spec(
            **users_argument_spec(role_default="developer", **USER_OPTIONS),
            state={"type": "str", "choices": ["present", "absent"], "default": "present"},
            s3_endpoint_url={"type": "str", "default": "http://minio:9000"},
            mlflow_tracking_uri={"type": "str", "default": "http://127.0.0.1:5000"},
            artifact_path_prefix={"type": "str", "default": "zenml"},
        ),
        supports_check_mode=True,
    )
    # Checked before the login too, so a bad list fails without a server.
    with zenml_errors(module, "checking the users"):
        validate(module.params)
    client = connect(module)
    module.exit_json(**report(module, client))


if __name__ == "__main__":
    main()
