# Copyright: onprem.mlops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Login options shared by the onprem.mlops MinIO modules."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  endpoint:
    description:
      - The MinIO S3 API of the server, as V(host:port) or V(http://host:port) / V(https://host:port).
      - The S3 API port (9000 by default), not the console port.
    type: str
    required: true
  access_key:
    description:
      - Access key (user name) of the account the module logs in with.
      - It must be a MinIO admin, that is the root user or a user with the C(consoleAdmin) policy.
    type: str
    required: true
  secret_key:
    description:
      - Secret key (password) of the account in O(access_key).
    type: str
    required: true
  secure:
    description:
      - Whether to talk to MinIO over TLS.
      - Defaults to V(true) when O(endpoint) starts with V(https://), else V(false). A value that
        contradicts the scheme in O(endpoint) is an error.
    type: bool
  validate_certs:
    description:
      - Whether to verify the server's TLS certificate. The CA bundle is C(SSL_CERT_FILE) if set, else
        the one of the C(certifi) package.
    type: bool
    default: true
  region:
    description:
      - Region MinIO is configured with (C(MINIO_SITE_REGION)); leave unset unless the server has one.
    type: str
requirements:
  - minio, the MinIO Python SDK (tested with 7.2.20), on the host that runs the module
notes:
  - All the MinIO modules are in the action group C(onprem.mlops.minio), so the login options can be
    given once with C(module_defaults) and C(group/onprem.mlops.minio).
  - The modules talk to the admin API through the SDK's C(MinioAdmin) and do not need the C(mc) client.
"""
