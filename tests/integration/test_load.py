"""bench/load's engine on the deployed stack: a small class at once for 45 s, with no error.

Ten students, created by the test with one `manage_users.yml --tags sync` and removed at the end by one
more (prune=yes, with a roster of every other registered developer, so nobody else is touched), each with
their own MLflow tracker (a job-image container on the jobs network); the teacher is the stack's
administrator (mlops_administrator), or an administrator the test adds and removes when there is none. Every path
the stack offers is measured: the back ends always, the TLS front door when <credentials>/tls/ca.crt
exists and the users' files carry https. The figures are printed (pytest -s, or the report on failure).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
import load_engine as engine
from deployed_stack import CREDENTIALS

RUN = uuid.uuid4().hex[:4]
STUDENTS = [f"ld{RUN}s{index:02d}" for index in range(1, 11)]
SECONDS = 45


def write_roster(path: Path, users: list[tuple[str, str]]) -> Path:
    path.write_text("username,role\n" + "".join(f"{name},{role}\n" for name, role in users), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def load_class(stack, tmp_path_factory):
    """(the stack for the engine, the teacher's name): the students provisioned from a roster, pruned at the end."""
    directory = tmp_path_factory.mktemp("load")
    teacher = stack.vars.get("mlops_administrator") or ""
    own_teacher = not teacher or not (CREDENTIALS / f"{teacher}.env").is_file()
    teacher = f"ld{RUN}t" if own_teacher else teacher
    users = [(name, "developer") for name in STUDENTS] + ([(teacher, "administrator")] if own_teacher else [])
    try:
        run = stack.manage_users("sync", roster=str(write_roster(directory / "class.csv", users)))
        assert run.returncode == 0, run.tail()
        yield engine.Stack.from_vars(stack.vars, CREDENTIALS), teacher
    finally:
        others = stack.root_query("SELECT username FROM stack_management.users WHERE role = 'developer'")
        rest = [(name, "developer") for (name,) in others if name not in STUDENTS]
        pruned = stack.manage_users(
            "sync", roster=str(write_roster(directory / "rest.csv", rest)), prune=True, confirm=True
        )
        assert pruned.returncode == 0, pruned.tail()
        if own_teacher:
            stack.manage_users("remove", username=teacher, confirm="yes")


def test_a_class_at_once_gets_no_error(load_class, capsys):
    stack, teacher = load_class
    result = engine.run_load(stack, STUDENTS, teacher, duration=SECONDS, think=1.0)
    report = "\n".join(engine.report_pass(one, len(STUDENTS)) for one in result.passes)
    with capsys.disabled():
        print(f"\n{report}\npeak memory:\n{result.memory.report()}")
    assert result.trackers == len(STUDENTS)
    tls = (CREDENTIALS / "tls" / "ca.crt").is_file()
    assert [one.endpoints.name for one in result.passes][-1] == "back ends (direct)"
    assert len(result.passes) in ((1, 2) if tls else (1,))
    for one in result.passes:
        served = {row.service: row.requests for row in engine.figures(one.samples, one.seconds)}
        assert all(served.values()), f"{one.endpoints.name}: a service got no request: {served}\n{report}"
    assert result.errors == 0, report
    assert result.memory.peaks, "no memory figure of the stack's containers"
