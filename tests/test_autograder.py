"""The Gradescope autograder that `python main.py grade --autograder` writes, run as Gradescope
runs it (within its 768 MB and one CPU where this machine can hold a process to them): a correct
submission uploaded as a whole course repository, and every attack of tests/attacks.py on the
autograder's own files (the grades of mistakes: test_grade.py)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from attacks import attacker, targets
from classroom import Student, write
from conftest import REPO

from workshop.grading import landlock

GRADESCOPE_MEMORY = 768 * 2**20  # Gradescope's default machine: 768 MB and one CPU
MEMORY_CGROUP = Path("/sys/fs/cgroup/memory")  # cgroup v1's memory controller, where there is one


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The autograder zip, as the grade command writes it."""
    path = tmp_path_factory.mktemp("autograder") / "autograder.zip"
    done = subprocess.run([sys.executable, "main.py", "grade", "--autograder", str(path)],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return path


def _limited(root: Path) -> tuple[list[str], Path | None]:
    """The command prefix that holds a process to one CPU (taskset) and, where this machine
    lets a cgroup be made, its memory group (None where it does not)."""
    prefix = ["taskset", "--cpu-list", "0"] if shutil.which("taskset") else []
    group = MEMORY_CGROUP / f"hw3-autograder-{os.getpid()}-{root.name}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(GRADESCOPE_MEMORY))
    except OSError:
        return prefix, None
    return prefix, group


def _run_autograder(bundle: Path, root: Path, submission: Path) -> tuple[dict, int | None]:
    """Unpack the autograder into root laid out as Gradescope's (source/, submission/,
    results/), run run_autograder there: its results.json, and the most memory it took (bytes,
    where a cgroup measured it)."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        (root / "source" / script).chmod(0o755)
    shutil.copytree(submission, root / "submission")
    prefix, group = _limited(root)
    command = [*prefix, "bash", str(root / "source" / "run_autograder")]
    if group is not None:  # the shell joins the group, then becomes the autograder
        command = ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh", *command]
    env = {**os.environ, "HW3_AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        peak = int((group / "memory.max_usage_in_bytes").read_text()) if group else None
    finally:
        if group is not None:
            group.rmdir()
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text()), peak


def _upload(folder: Path, student: Student | None) -> Path:
    """What a student uploads: a whole course repository, hw1/ to hw3/ with plots/ beside."""
    for number in (1, 2):
        (folder / f"hw{number}").mkdir(parents=True)
    write(folder / "hw3", student)
    (folder / "plots").mkdir()
    return folder


@pytest.mark.parametrize("student", [None], ids=["correct"])  # mistakes: test_grade.py
def test_the_autograder_grades_as_gradescope_runs_it(bundle, tmp_path, student):
    """setup.sh and run_autograder at the zip's root; run in a Gradescope layout (within 768 MB
    and one CPU where this machine allows) on a whole course repository, run_autograder grades
    its hw3/ and writes results.json with the fields Gradescope reads: a score, each test's
    status, Markdown output, the time it took."""
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert {"setup.sh", "run_autograder", "rubric.toml", "mlp.py", "main.py",
            "workshop/grading/checks.py"} <= names
    results, peak = _run_autograder(bundle, tmp_path / "autograder",
                                    _upload(tmp_path / "repository", student))
    assert set(results) >= {"score", "execution_time", "output", "output_format", "tests"}
    assert results["output_format"] == "md" and results["execution_time"] > 0
    assert all(test["status"] in ("passed", "failed") and test["max_score"] > 0
               and set(test) >= {"name", "score", "output"} for test in results["tests"])
    assert results["score"] == sum(test["score"] for test in results["tests"])
    failed = {test["name"] for test in results["tests"] if test["status"] == "failed"}
    assert failed == (student.loses if student else set())
    assert (results["score"] == 100) == (student is None)
    if peak is not None:  # it ran within the limit, the cgroup's own count says so
        assert 0 < peak <= GRADESCOPE_MEMORY


@pytest.mark.skipif(not landlock.abi(), reason="this kernel has no Landlock: grading here has "
                                                "no kernel boundary to test")
def test_the_autograder_keeps_its_own_files_from_every_attack(bundle, tmp_path):
    """A completion that tries every route of tests/attacks.py against the autograder's own
    files (its source, the reference solution among them; its rubric; its results) grades 100
    in Gradescope's layout, and nothing of the autograder reaches its results."""
    root, server = tmp_path / "autograder", socket.create_server(("127.0.0.1", 0))
    source = root / "source"
    aims = targets(secrets=[source / "mlp.py", source / "rubric.toml"],
                   folders=[source, root / "results", root], files=[source / "rubric.toml"],
                   reference=[source / "mlp.py", source / "main.py"], pids=[os.getpid()],
                   port=server.getsockname()[1], abstract="hw3-autograder-test")
    with server:
        results, _ = _run_autograder(bundle, root, write(tmp_path / "submitted" / "hw3",
                                                         attacker("every", aims)))
    assert results["score"] == 100, [test["output"][:300] for test in results["tests"]
                                     if test["status"] != "passed"][:1]
    with zipfile.ZipFile(bundle) as archive:
        assert (source / "rubric.toml").read_bytes() == archive.read("rubric.toml")
    assert not [path for folder in aims["folders"] for path in Path(folder).glob("hw3-breach*")]
    assert "def featurize" not in json.dumps(results)


