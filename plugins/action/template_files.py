"""Render many templates with per-file variables and write them on the control node, in one task."""

from __future__ import annotations

import os
import stat
import tempfile
from typing import Any

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

DOCUMENTATION = r"""
module: template_files
short_description: Render many templates and write them on the control node in one task
version_added: 0.2.0
description:
  - Renders each entry of O(files) - a template from the role's C(templates/) directory with the task's variables
    plus the entry's own O(files[].vars) - and writes it on the control node, atomically, only when its content or
    mode differs.
  - One task for hundreds of files, instead of a loop of M(ansible.builtin.template) that runs a module per file;
    the users role writes every user's credential files with it.
  - Missing parent directories are created with O(directory_mode).
options:
  files:
    description: What to write.
    type: list
    elements: dict
    required: true
    suboptions:
      src:
        description: Template, looked up like M(ansible.builtin.template)'s O(ansible.builtin.template#module:src).
        type: str
        required: true
      dest:
        description: Absolute path of the file on the control node.
        type: path
        required: true
      vars:
        description: Variables for this file only, on top of the task's.
        type: dict
        default: {}
  mode:
    description: Mode of the files written.
    type: str
    default: "0600"
  directory_mode:
    description: Mode of parent directories this task creates (existing ones are left alone).
    type: str
    default: "0700"
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: The files hold credentials; no diff is shown.
  platform:
    platforms: posix
author:
  - onprem.mlops contributors
"""

EXAMPLES = r"""
- name: Write each user's credentials and instructions on the control node
  onprem.mlops.template_files:
    files: "{{ batch | onprem.mlops.credential_files(credentials_dir, 'mlflow_', secrets, ['env', 'md']) }}"
  no_log: true
"""

RETURN = r"""
written:
  description: Paths of the files created or changed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
unchanged:
  description: How many files already had the right content and mode.
  returned: always
  type: int
"""


def _mode(value: Any, option: str) -> int:
    try:
        return int(str(value), 8)
    except ValueError:
        raise AnsibleActionFail(f"{option} must be an octal mode such as '0600', not {value!r}") from None


def _up_to_date(path: str, content: bytes, mode: int) -> bool:
    try:
        with open(path, "rb") as current:
            same_content = current.read() == content
        return same_content and stat.S_IMODE(os.stat(path).st_mode) == mode
    except FileNotFoundError:
        return False


def _write_atomically(path: str, content: bytes, mode: int, directory_mode: int) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=directory_mode, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "wb") as target:
            target.write(content)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "mode", "directory_mode"))

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        files = self._task.args.get("files")
        if not isinstance(files, list):
            raise AnsibleActionFail("files must be a list of {src, dest, vars}")
        mode = _mode(self._task.args.get("mode", "0600"), "mode")
        directory_mode = _mode(self._task.args.get("directory_mode", "0700"), "directory_mode")

        sources: dict[str, tuple[str, Any]] = {}
        written: list[str] = []
        unchanged = 0
        for entry in files:
            src, dest = entry.get("src"), entry.get("dest")
            if not src or not dest or not os.path.isabs(str(dest)):
                raise AnsibleActionFail(f"each file needs src and an absolute dest, got src={src!r} dest={dest!r}")
            if src not in sources:
                sources[src] = self._load_template(src)
            content = self._render(sources[src], task_vars, entry.get("vars") or {})
            if _up_to_date(dest, content, mode):
                unchanged += 1
                continue
            written.append(dest)
            if not self._task.check_mode:
                try:
                    _write_atomically(dest, content, mode, directory_mode)
                except OSError as error:
                    message = f"cannot write {dest}: {error.strerror}; check the directory's owner and mode"
                    raise AnsibleActionFail(message) from None
        result.update(changed=bool(written), written=written, unchanged=unchanged)
        return result

    def _load_template(self, src: str) -> tuple[str, Any]:
        try:
            path = self._find_needle("templates", src)
        except AnsibleError as error:
            raise AnsibleActionFail(to_text(error)) from None
        return path, trust_as_template(self._loader.get_text_file_contents(path))

    def _render(self, source: tuple[str, Any], task_vars: dict[str, Any], file_vars: dict[str, Any]) -> bytes:
        path, template = source
        searchpath = [*task_vars.get("ansible_search_path", []), os.path.dirname(path)]
        variables = {"ansible_managed": "Ansible managed", **task_vars, "template_path": path, **file_vars}
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        rendered = templar.template(template, escape_backslashes=False)
        return to_text(rendered if rendered is not None else "").encode("utf-8")
