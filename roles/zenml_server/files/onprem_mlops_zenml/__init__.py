"""Access control of the onprem.mlops ZenML server: every developer sees and changes only their own objects.

- ``policy`` and ``routes``: the decisions, pure Python (unit-tested without ZenML);
- ``rbac``: the ``RBACInterface`` implementation ZenML loads from ``ZENML_SERVER_RBAC_IMPLEMENTATION_SOURCE``;
- ``app``: the ASGI app uvicorn serves, ZenML's own behind a guard of the routes that are admin-only only
  while ZenML runs without access control.
"""
