#!/usr/bin/python
# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: server_status
short_description: Report the health of an onprem.mlops server and what each user uses
version_added: 0.1.0
description:
  - Reads, in one run, the state of the stack's containers (state, health, image and version, uptime, CPU
    and memory against their limits, the size of their volumes), the Docker daemon and its free disk, and
    for every user in the registry table their role, MLflow schema size, bucket size against its quota,
    number of MLflow runs and ZenML pipeline runs, and their last activity.
  - Lists what is wrong in RV(status.problems) - a service that is missing, stopped or unhealthy, free disk
    below O(min_free_disk), a bucket at or above O(quota_percent) of its quota, a service that could not
    be read - and never fails because of them, so that the caller can still write the report.
  - The number of requests does not grow with the number of users, except the quota of each bucket, read
    a few at a time; a class of 200 takes about a second.
  - Changes nothing.
author:
  - onprem.mlops contributors
extends_documentation_fragment:
  - onprem.mlops.database
  - onprem.mlops.minio
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode reports the same.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to compare.
  idempotent:
    support: full
    description: Never changes anything.
options:
  stack:
    description:
      - Name of the stack (C(mlops_stack_name)); its containers carry the label C(org.onprem-mlops.stack=<stack>).
    type: str
    required: true
  services:
    description:
      - Services (values of the C(org.onprem-mlops.service) label) that must have a running, healthy
        container. A missing one is a problem.
      - Without V(zenml-server) (a server deployed without ZenML) none of ZenML's tables are read, and the
        users' C(zenml_runs) are null.
    type: list
    elements: str
    default: [database, minio, zenml-server]
  docker_host:
    description:
      - The Docker daemon's socket, as V(unix:///path).
    type: str
    default: unix:///var/run/docker.sock
  registry_schema:
    description:
      - Schema holding the user registry table C(users) (username, role).
    type: str
    default: stack_management
  zenml_schema:
    description:
      - Schema of the ZenML server, whose C(pipeline_run) and C(user) tables give the pipeline runs per user.
    type: str
    default: zenml
  schema_prefix:
    description:
      - Prefix of the users' MLflow schemas.
    type: str
    default: mlflow_
  bucket_usage:
    description:
      - V(scanner) takes bucket sizes from MinIO's data-usage summary, one request for every bucket. It is
        what MinIO enforces quotas with, and lags behind by up to one pass of MinIO's scanner (about a
        minute on a small server, longer on a large one). Buckets the scanner has not seen yet are listed.
      - V(listing) lists every object version of every user's bucket - exact, but one request per 1,000
        objects.
    type: str
    choices: [scanner, listing]
    default: scanner
  min_free_disk:
    description:
      - Free space under the Docker daemon's root directory below which the report has a problem.
      - Bytes as an integer, or a size such as V(10GiB) or V(10g) (powers of 1024) or V(10GB).
    type: raw
    default: 5GiB
  quota_percent:
    description:
      - A bucket filled to this percentage of its quota or more is a problem.
    type: float
    default: 90
  cpu_sample_seconds:
    description:
      - Window over which the containers' CPU use is measured (all containers in the same window).
    type: float
    default: 0.5
requirements:
  - PyMySQL and the minio SDK, as for the other database and MinIO modules
  - read access to the Docker socket and, for CPU and memory, to the containers' control groups under
    C(/sys/fs/cgroup) (the module falls back to the Docker stats API, about a second per container)
notes:
  - The module is in the action groups C(onprem.mlops.database) and C(onprem.mlops.minio), so both
    logins can come from C(module_defaults).
  - Schema sizes are InnoDB's estimates from C(information_schema).
  - The C(onprem.mlops.status) role and C(playbooks/status.yml) write the report as JSON and Markdown and
    fail when RV(status.problems) is not empty.
seealso:
  - module: onprem.mlops.minio_bucket
"""

EXAMPLES = r"""
- name: Read the server's status
  onprem.mlops.server_status:
    stack: onprem-mlops
    login_password: "{{ database_root_password }}"
    endpoint: 127.0.0.1:9000
    access_key: root
    secret_key: "{{ minio_root_password }}"
  register: __status

- name: Fail when something is wrong
  ansible.builtin.assert:
    that: __status.status.ok
    fail_msg: "{{ __status.status.problems | join('; ') }}"
"""

RETURN = r"""
status:
  description: The report, also what C(playbooks/status.yml) writes as JSON.
  returned: always
  type: dict
  contains:
    stack:
      description: The stack's name.
      type: str
    generated_at:
      description: When the report was made (UTC, ISO 8601).
      type: str
    ok:
      description: Whether RV(status.problems) is empty.
      type: bool
    problems:
      description: One sentence per problem found, naming the service, disk or user.
      type: list
      elements: str
      sample: ["service zenml-server: container onprem-mlops-zenml is exited, not running"]
    errors:
      description: The sources that could not be read, with what to check (also in RV(status.problems)).
      type: list
      elements: str
    thresholds:
      description: O(min_free_disk) in bytes and O(quota_percent).
      type: dict
    docker:
      description: The daemon's C(version), C(containers_running), C(containers_stopped), C(root_dir),
        C(cgroup_version), C(disk_total) and C(disk_free) (bytes under C(root_dir)).
      type: dict
    services:
      description:
        - One entry per container of the stack with C(service), C(container), C(state), C(health) (null
          without a health check), C(image), C(version) (as the service reports it, else the image's),
          C(started_at), C(uptime_seconds), C(restart_count), C(cpu_used) (cores), C(cpu_limit) (cores),
          C(cpu_percent) (of the limit), C(memory_usage), C(memory_limit), C(memory_percent), C(volumes)
          and C(volume_size) (bytes). A figure that cannot be measured is null.
      type: list
      elements: dict
    users:
      description:
        - One entry per registered user with C(username), C(role), C(schema), C(schema_size), C(bucket),
          C(bucket_size) (bytes of every version), C(bucket_objects), C(bucket_quota), C(bucket_quota_percent),
          C(mlflow_runs) (not deleted), C(zenml_runs) and C(last_activity) (latest MLflow or ZenML run,
          ISO 8601 UTC). Null when the resource does not exist.
      type: list
      elements: dict
    totals:
      description: C(users), C(schema_size), C(bucket_size), C(mlflow_runs) and C(zenml_runs) over all users.
      type: dict
    bucket_usage:
      description: C(source) of the bucket sizes, C(scanner_updated_at) (the scanner's last pass) and the
        buckets C(listed) because the scanner had not seen them yet.
      type: dict
table:
  description: The report as lines of text (summary, services, users, problems) for the play's output.
  returned: always
  type: list
  elements: str
markdown:
  description: The report as a Markdown page.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.onprem.mlops.plugins.module_utils import _status, _status_report
from ansible_collections.onprem.mlops.plugins.module_utils._status_docker import DockerApi, DockerError
from ansible_collections.onprem.mlops.plugins.module_utils.database import (
    PYMYSQL_IMPORT_ERROR,
    database_argument_spec,
    open_session,
)
from ansible_collections.onprem.mlops.plugins.module_utils.minio import (
    MinioModuleError,
    connect,
    minio_argument_spec,
    parse_size,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=database_argument_spec(
            **minio_argument_spec(
                stack={"type": "str", "required": True},
                services={"type": "list", "elements": "str", "default": ["database", "minio", "zenml-server"]},
                docker_host={"type": "str", "default": "unix:///var/run/docker.sock"},
                registry_schema={"type": "str", "default": "stack_management"},
                zenml_schema={"type": "str", "default": "zenml"},
                schema_prefix={"type": "str", "default": "mlflow_"},
                bucket_usage={"type": "str", "choices": ["scanner", "listing"], "default": "scanner"},
                min_free_disk={"type": "raw", "default": "5GiB"},
                quota_percent={"type": "float", "default": 90},
                cpu_sample_seconds={"type": "float", "default": 0.5},
            )
        ),
        supports_check_mode=True,
    )
    if PYMYSQL_IMPORT_ERROR:
        module.fail_json(
            msg="Failed to import PyMySQL: install the PyMySQL Python package for the interpreter that runs "
            "this module",
            exception=PYMYSQL_IMPORT_ERROR,
        )
    options = dict(module.params)
    try:
        options["min_free_disk"] = parse_size(options["min_free_disk"])
        docker = DockerApi(options["docker_host"])
    except (MinioModuleError, DockerError) as exc:
        module.fail_json(msg=f"check the options: {exc}")
    report = _status.collect(
        options,
        docker=docker,
        open_db=lambda: open_session(module.params),
        clients=connect(module),
        describe=lambda exc: _status.describe(exc, module.params),
    )
    module.exit_json(
        changed=False,
        status=report,
        table=_status_report.text(report),
        markdown=_status_report.markdown(report),
    )


if __name__ == "__main__":
    main()
