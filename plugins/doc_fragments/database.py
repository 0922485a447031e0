# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Login options shared by the onprem.mlops database modules."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the MySQL or MariaDB server.
    type: str
    default: 127.0.0.1
  login_port:
    description:
      - TCP port of the server.
    type: int
    default: 3306
  login_user:
    description:
      - Account the module logs in with. It must be allowed to create and drop accounts and schemas and
        to grant what the module grants, that is hold C(ALL PRIVILEGES ON *.* WITH GRANT OPTION) like
        C(root).
    type: str
    default: root
  login_password:
    description:
      - Password of O(login_user).
    type: str
  connect_timeout:
    description:
      - Seconds to wait for the server when connecting.
    type: int
    default: 30
requirements:
  - PyMySQL >= 1.1 (on the host that runs the module)
  - cryptography, for accounts with MySQL 8.4's default C(caching_sha2_password) plugin
notes:
  - Works with MySQL 8.4 and MariaDB 10.11 and later; the module reads the server's version and speaks
    its dialect.
  - All the database modules are in the action group C(onprem.mlops.database), so the login options can
    be given once with C(module_defaults) and C(group/onprem.mlops.database).
"""
