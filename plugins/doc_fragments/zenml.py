# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Login options shared by the onprem.mlops ZenML modules."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  server_url:
    description:
      - Base URL of the ZenML server, without the C(/api/v1) path, for example V(http://127.0.0.1:8080).
    type: str
    required: true
  admin_username:
    description:
      - Account the module logs in with. It must be a ZenML admin (C(is_admin)), such as the default
        account the server creates on activation.
    type: str
    required: true
  admin_password:
    description:
      - Password of O(admin_username).
    type: str
    required: true
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate when O(server_url) is V(https://...).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer of the server.
    type: int
    default: 30
requirements:
  - requests (on the host that runs the module); neither the zenml package nor its CLI is needed
notes:
  - The modules talk to ZenML's REST API and were written against ZenML 0.98.0; another version gets a
    warning, and errors name the version the server reports.
  - The modules are in the action group C(onprem.mlops.zenml), so the login options can be given once with
    C(module_defaults) and C(group/onprem.mlops.zenml).
"""
