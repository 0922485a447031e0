#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: database_tenant
short_description: Give people (or take away) a database account, a private schema and its privileges
version_added: 0.1.0
description:
  - For each listed person, creates or removes, on a MySQL 8.4 or MariaDB server, the account
    C(name@account_host), the private schema O(schema_prefix) + C(name) (for instance the person's
    MLflow tracking store), the privileges their role gives, and their row in the user registry table
    O(registry_schema).C(users).
  - A V(developer) gets on their own schema only what MLflow needs (C(SELECT), C(INSERT), C(UPDATE),
    C(DELETE), C(CREATE), C(DROP), C(ALTER), C(INDEX), C(REFERENCES)), and nothing else, so no C(CREATE VIEW),
    C(TRIGGER), C(CREATE ROUTINE), C(ALTER ROUTINE), C(EVENT), C(EXECUTE). An V(administrator) gets the same
    on their own schema and C(SELECT) on every schema matching O(schema_prefix) (everybody's MLflow runs), and
    may write nowhere else; nobody gets a global privilege or C(GRANT OPTION). An existing account is brought
    to exactly these grants (an administrator's former C(ALL PRIVILEGES ON *.*) is revoked).
  - With O(schema_template), the owner also gets C(TRIGGER) on the tables the template's triggers are on
    (MLflow 3.17 has one), because a trigger fires only while its definer holds it; copies of the template's
    triggers are defined by the owner, never by the login account, and a copied trigger that an earlier
    version defined otherwise is made again with the owner as its definer.
  - With O(max_connections), each account gets C(MAX_USER_CONNECTIONS).
  - With O(state=absent) or O(state=archived) and O(archive_suffix), each schema is first copied into
    C(archive_<name>_<archive_suffix>), table by table, by the login account with every name quoted; a
    schema holding views, sequences, routines or events is refused before anything changes.
  - The whole list goes through one connection, so a class of fifty is provisioned in about a second.
    Everything is read and planned before the first write; an invalid name or a missing password fails
    the task before anything changes.
  - With O(schema_template), a new (or empty) schema is filled as a copy of a template that MLflow's
    own migrations built, so the person's MLflow tracking server starts on it without migrating. With
    O(schema_revision) as well, the module looks after the template and reports the schemas that
    MLflow's migrations must upgrade; it never runs them itself.
author:
  - onprem.mlops contributors
extends_documentation_fragment:
  - onprem.mlops.database
  - onprem.mlops.tenant
attributes:
  diff_mode:
    support: full
    description:
      - Returns each user before and after (account, grants, schema, registry role); a password that
        changes shows as a placeholder.
  idempotent:
    support: partial
    description:
      - A second run with the same options reports no change, except with O(update_password=always) when
        the module host cannot log in as C(name@account_host) (see O(update_password)), and with
        O(state=archived), whose second run with the same O(archive_suffix) is refused (the archive exists).
options:
  state:
    description:
      - V(present) creates what is missing and corrects what differs.
      - V(absent) drops the schema (with everything in it), the account and the registry row. A user
        already gone is not an error.
      - V(archived) only copies each user's schema into its archive (see O(archive_suffix)) and changes
        nothing else, so that the archive can be made before the user is removed from other services.
    type: str
    choices: [present, absent, archived]
    default: present
  update_password:
    description:
      - V(on_create) sets O(users[].password) only when the account is created.
      - V(always) makes the account's password equal to O(users[].password). A server never returns a
        password and its hash depends on the authentication plugin, so the module tries to log in as the
        user through O(login_host) and changes the password only if that login is refused; the task
        reports a change only then. If O(account_host) does not admit the address the module connects
        from, the login is always refused and the password is rewritten on every run.
    type: str
    choices: [always, on_create]
    default: on_create
  schema_prefix:
    description:
      - Prefix of each user's private schema name.
    type: str
    default: mlflow_
  registry_schema:
    description:
      - Schema of the user registry table C(users) (columns C(username), C(role), C(created_at),
        C(updated_at)), which the C(onprem.mlops.database) role creates.
    type: str
    default: stack_management
  account_host:
    description:
      - Host part of every account, V(%) for any address.
    type: str
    default: "%"
  max_connections:
    description:
      - C(MAX_USER_CONNECTIONS) of every listed account; V(0) means no limit. Omitted, the limit is left as
        it is.
      - An existing account whose limit differs is changed.
    type: int
  require_ssl:
    description:
      - V(true) makes every listed account C(REQUIRE SSL) (the server refuses its logins without TLS);
        V(false) makes it C(REQUIRE NONE). Omitted, the requirement is left as it is.
      - An account that already requires more (C(X509), a certificate subject) is left alone.
    type: bool
  archive_suffix:
    description:
      - With O(state=absent) or O(state=archived), copy each user's schema into
        C(archive_<name>_<archive_suffix>) first (base tables with their rows; triggers are not copied), with
        the login account and every name quoted. Letters, digits and C(_), at most 24. Required with
        O(state=archived).
      - Refused, before anything changes, when the archive schema exists already or the user's schema holds
        views, sequences, routines or events.
    type: str
  usage:
    description:
      - Also return, per user, the size in bytes and the number of tables of their schema, as found before
        the run (for a listing of users).
    type: bool
    default: false
  schema_template:
    description:
      - A schema that MLflow's migrations built (it holds C(alembic_version)). With O(state=present), a
        listed user's schema that is new, or holds no table, is filled as a copy of it - every table as
        C(SHOW CREATE TABLE) prints it, its triggers and views, and the rows the migrations seeded (the
        C(alembic_version) row last) - on a few connections of its own. A schema that holds MLflow tables
        (or anything else) is never touched; one whose copy broke off (the template's tables, no row in
        any) is copied again.
      - Copying needs the template migrated; the task fails before any change when it is not, except in
        check mode.
      - Must not be a listed user's schema nor O(registry_schema). Ignored with O(state=absent).
    type: str
  schema_revision:
    description:
      - The Alembic revision of the MLflow that will use the schemas (C(mlops-migrate-schemas --head) in
        the job image). Needs O(schema_template).
      - The module then creates the template (empty) if it is missing, empties it if a migration broke
        off before its first revision, and returns in RV(schemas_to_migrate) the template unless it is at
        this revision, then every registered or listed user's schema that holds MLflow tables at another
        revision.
      - Give it with O(users=[]) to prepare the template before a class is provisioned.
    type: str
notes:
  - Changing a user's O(users[].role) turns the account's privileges into those of the new role.
  - Schema-level grants name the schema with C(_) escaped (C(mlflow\_alice)), because C(_) is a wildcard
    there and C(mlflow_alice) would also match C(mlflowXalice).
  - On MySQL 8.4 new passwords are set C(IDENTIFIED WITH caching_sha2_password), the server's default,
    because C(mysql_native_password) is disabled there by default.
  - Grants the module never writes (on tables, columns or routines, proxies, roles, MySQL partial
    revokes) are left alone and shown as they are in the diff.
  - O(update_password=always) opens one extra connection per existing account to test its password.
  - A copy of MLflow 3.17's schema (65 tables and a trigger) took 0.2 s on MariaDB with half a CPU on an
    idle machine, 0.3 to 0.6 s on a busy one; MLflow's migrations of an empty schema took 2 to 12 s.
  - The owner's privileges were measured by running MLflow 3.17.2's migrations (empty schema to head) and a
    tracking server as the user; C(CREATE TEMPORARY TABLES) and C(LOCK TABLES) are not needed.
  - Schema-level grants of an administrator overlap on their own schema; the servers apply the most specific
    pattern, the own schema's, so the owner's privileges hold there.
seealso:
  - module: community.mysql.mysql_user
"""

EXAMPLES = r"""
- name: Give two students and a teacher their database resources
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users:
      - name: alice
        role: developer
        password: "{{ vault_passwords.alice }}"
      - name: bob
        role: developer
        password: "{{ vault_passwords.bob }}"
      - name: carol
        role: administrator
        password: "{{ vault_passwords.carol }}"
    max_connections: 40

- name: List the users with the size of their schema
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users: "{{ registered_users }}"
    usage: true
  check_mode: true
  register: listing

- name: Reset a password that someone changed by hand
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users:
      - name: alice
        role: developer
        password: "{{ vault_passwords.alice }}"
    update_password: always

- name: Find what the job image's MLflow must migrate; create the template if it is missing
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users: []
    schema_template: mlflow_template
    schema_revision: "{{ mlflow_head }}"
  register: mlflow_schemas

- name: Give a student a schema that is a copy of the migrated template
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users:
      - name: alice
        role: developer
        password: "{{ vault_passwords.alice }}"
    schema_template: mlflow_template

- name: Remove a student after archiving their schema into archive_bob_20261203
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users:
      - name: bob
    state: absent
    archive_suffix: "20261203"

- name: Remove a student and everything in their schema
  onprem.mlops.database_tenant:
    login_password: "{{ database_root_password }}"
    users:
      - name: bob
    state: absent
"""

RETURN = r"""
users:
  description: One entry per listed user, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The user name.
      type: str
      sample: alice
    role:
      description: The role after the run; null with O(state=absent).
      type: str
      sample: developer
    previous_role:
      description: The role in the registry before the run; null if the user had no registry row.
      type: str
      sample: null
    schema:
      description: The user's private schema.
      type: str
      sample: mlflow_alice
    account_exists:
      description:
        - Whether the account existed before the run. In check mode this tells who already has one.
      type: bool
      sample: false
    changed:
      description: Whether anything of this user was (or in check mode would be) changed.
      type: bool
      sample: true
    password_changed:
      description: Whether the password of an existing account was (or would be) rewritten.
      type: bool
      returned: when O(state=present)
      sample: false
    schema_copied:
      description:
        - Whether the schema was (or would be) filled as a copy of O(schema_template), or its template
          triggers were (or would be) made again with the owner as their definer.
      type: bool
      returned: when O(schema_template) is given and O(state=present)
      sample: true
    schema_revision:
      description: The schema's Alembic revision after the run (null when it holds no MLflow tables).
      type: str
      returned: when O(schema_template) is given and O(state=present)
      sample: dc11669786a5
    archive:
      description: The archive schema the user's schema was (or would be) copied into; null without a schema.
      type: str
      returned: when O(archive_suffix) is given and O(state=absent) or O(state=archived)
      sample: archive_alice_20261203180000
    usage:
      description: Size and table count of the schema before the run; zeros when there is no schema.
      type: dict
      returned: when O(usage=true)
      contains:
        bytes:
          description: Data and index size in bytes, as the server's table statistics report it.
          type: int
          sample: 1130496
        tables:
          description: Number of tables.
          type: int
          sample: 27
template:
  description: The template after this module's part of the run (its migration is the caller's).
  returned: when O(schema_revision) is given and O(state=present)
  type: dict
  contains:
    schema:
      description: The template's name.
      type: str
      sample: mlflow_template
    revision:
      description: Its Alembic revision; null while it holds no MLflow tables.
      type: str
      sample: dc11669786a5
    tables:
      description: Its number of tables.
      type: int
      sample: 65
    created:
      description: Whether the module created (or emptied and created again) the template.
      type: bool
      sample: false
schemas_to_migrate:
  description:
    - The schemas MLflow's migrations must bring to O(schema_revision) - the template first when it is not
      at it, then the users' schemas holding MLflow tables at another revision - as arguments for
      C(mlops-migrate-schemas). Empty when everything is current.
  returned: when O(schema_revision) is given and O(state=present)
  type: list
  elements: str
  sample: [mlflow_template, mlflow_alice]
diff:
  description:
    - Each user before and after, under C(users.<name>) with C(account), C(grants), C(schema),
      C(max_connections), C(charset), C(role) and, with O(schema_template), the schema's Alembic
      C(revision), for what exists; with O(archive_suffix), the C(archive) it is copied into.
      Never a password. With O(schema_revision), the template under C(template).
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils._database_tenant import ensure_tenants
from ansible_collections.onprem.mlops.plugins.module_utils._tenant import users_argument_spec
from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    connect,
    database_argument_spec,
    database_errors,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=database_argument_spec(
            **users_argument_spec(),
            state={"type": "str", "choices": ["present", "absent", "archived"], "default": "present"},
            schema_prefix={"type": "str", "default": "mlflow_"},
            registry_schema={"type": "str", "default": "stack_management"},
            account_host={"type": "str", "default": "%"},
            usage={"type": "bool", "default": False},
            max_connections={"type": "int"},
            require_ssl={"type": "bool"},
            archive_suffix={"type": "str"},
            schema_template={"type": "str"},
            schema_revision={"type": "str"},
        ),
        required_by={"schema_revision": "schema_template"},
        supports_check_mode=True,
    )
    session = connect(module)
    try:
        with database_errors(module, "managing database tenants"):
            module.exit_json(**ensure_tenants(session, module.params, module.check_mode))
    finally:
        session.close()


if __name__ == "__main__":
    main()
