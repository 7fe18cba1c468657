"""The grader's boundary against a hostile class (tests/attacks.py): every route to every goal
fails, so each attacker grades exactly as the completion it is built on, and nothing outside
the tasks' copies changes (this project, the grades folder, a classmate's files, $HOME, /tmp);
inputs drawn anew for each run, so that answers known in advance earn nothing; the launcher's
tasks never hold the reference. Where the kernel has no Landlock, the tests of the wall skip,
saying so; these machines have it."""

import csv
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from attacks import GOALS, attacker, targets
from classroom import Student, write
from conftest import REPO

from workshop.grading import checks, landlock, sandbox

WALLED = pytest.mark.skipif(not landlock.abi(), reason="this kernel has no Landlock: grading "
                                                       "here has no kernel boundary to test")


@pytest.fixture(scope="module")
def listeners():
    """A TCP port and an abstract unix socket that this process listens on, for the attacks
    to try to reach."""
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    name = f"hw3-boundary-{uuid.uuid4().hex}"
    unix.bind("\0" + name)
    unix.listen()
    yield tcp.getsockname()[1], name
    tcp.close()
    unix.close()


def _digest(paths: list[Path]) -> dict[str, str]:
    """Each file's checksum ('' where there is none)."""
    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            for path in paths}


def _breaches(folders: list[Path]) -> list[Path]:
    """The files an attack that got through would have left in folders."""
    return [path for folder in folders for path in folder.glob("hw3-breach*")]


def _class(top: Path, listeners: tuple[int, str]) -> tuple[dict, list[Path]]:
    """In top: a class (a completion, a classmate, an attacker per goal), a rubric, a grades
    folder with a run's record, sentinel files in $HOME and /tmp; what the attacks aim at, and
    the files that must not change."""
    folder, out, rubric = top / "class", top / "grades", top / "rubric.toml"
    rubric.write_text(re.sub(r"seconds = \d+", "seconds = 20", sandbox.PROJECT.joinpath(
        "workshop", "grading", "rubric.toml").read_text()))
    write(folder / "completion")
    classmate = write(folder / "classmate") / "mlp.py"
    sentinels = [Path.home() / f".hw3-sentinel-{uuid.uuid4().hex}",
                 Path(tempfile.gettempdir()) / f"hw3-sentinel-{uuid.uuid4().hex}"]
    for sentinel in sentinels:
        sentinel.write_text("untouched")
    out.mkdir()
    (out / "grading.json").write_text(json.dumps({"draw": 12345}))
    kept = [rubric, classmate, out / "grading.json", *sentinels]
    aims = targets(secrets=[REPO / "mlp.py", *kept],
                   folders=[REPO, out, folder, folder / "classmate", Path.home(),
                            Path(tempfile.gettempdir())],
                   files=[*kept, out / "grades.csv"], reference=[REPO / "mlp.py", REPO / "main.py"],
                   pids=[os.getpid()], port=listeners[0], abstract=listeners[1])
    for goal in GOALS:
        write(folder / f"attacks-{goal}", attacker(goal, aims))
    write(folder / "borrows-the-graders-code", Student("borrows", {"mlp.py": [(
        "def accuracy(logits, labels):\n", "from workshop.grading.checks import standard_accuracy"
        " as _theirs\n\n\ndef accuracy(logits, labels):\n    return _theirs(logits, labels)\n"
    )]}))
    return aims, kept


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, listeners):
    """`python main.py grade` of _class's class: each submission's tests by item, the grades
    folder, the checksums of the files that must not change before and after, the folders
    aimed at, and what the command printed."""
    top = tmp_path_factory.mktemp("attacked")
    aims, kept = _class(top, listeners)
    before = _digest(kept)
    try:
        done = subprocess.run([sys.executable, "main.py", "grade", str(top / "class"), "--out",
                               str(top / "grades"), "--rubric", str(top / "rubric.toml")],
                              cwd=REPO, capture_output=True, text=True, timeout=600)
        after = _digest(kept)
    finally:
        for sentinel in kept[-2:]:
            sentinel.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr[-3000:]
    tests = {path.parent.name: {test["name"]: test for test in
                                json.loads(path.read_text())["tests"]}
             for path in (top / "grades").glob("*/results.json")}
    return SimpleNamespace(tests=tests, out=top / "grades", before=before, after=after,
                           folders=aims["folders"], printed=done.stdout)


def _verdicts(tests: dict[str, dict]) -> dict[str, tuple]:
    return {item: (test["score"], test["status"]) for item, test in tests.items()}


@WALLED
@pytest.mark.parametrize("goal", list(GOALS))
def test_every_route_to_a_goal_fails_and_the_grades_are_the_completions(attacked, goal):
    """An attacker grades exactly as the completion it is built on: not one of its routes to
    reading, writing, the grader's memory, another process, a program or a socket worked."""
    tests = attacked.tests[f"attacks-{goal}"]
    assert _verdicts(tests) == _verdicts(attacked.tests["completion"]), [
        test["output"][:500] for test in tests.values() if test["status"] != "passed"][:1]
    assert all(test["score"] == test["max_score"] for test in tests.values())


@WALLED
def test_code_taken_from_the_grader_is_left_to_a_person(attacked):
    """A submission whose accuracy calls the grader's own (found in the interpreter) is marked
    NEEDS A LOOK, naming what it took: its points are a person's to give."""
    looks = {name: test["needs_a_look"] for name, test in
             attacked.tests["borrows-the-graders-code"].items()}
    assert all("the grader's own standard_accuracy" in look for look in looks.values())


def test_nothing_outside_the_copies_changed(attacked):
    """The rubric, the run's record of its draw, a classmate's file and files in $HOME and /tmp
    are as they were; no file an attack would leave is in this project, the grades folder,
    the class, $HOME or /tmp; grades.csv holds the class's rows alone, each its own total."""
    assert attacked.after == attacked.before
    assert _breaches([Path(folder) for folder in attacked.folders]) == []
    with open(attacked.out / "grades.csv", newline="") as file:
        rows = {row["submission"]: row["total"] for row in csv.DictReader(file)}
    assert rows == {name: "100" for name in attacked.tests}  # the borrowed accuracy works
    assert "Landlock domain" in attacked.printed.splitlines()[1]


@WALLED
def test_the_wall_is_the_kernels(tmp_path):
    """landlock.confine in a forked process: it reads and writes its own folder, and nothing
    else whatever the route (a path, a directory's descriptor, ctypes' open), starts no
    program, signals no process outside its domain."""
    own, other = tmp_path / "own", tmp_path / "other"
    own.mkdir()
    other.mkdir()
    (other / "secret").write_text("secret")
    read, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        landlock.confine(list(sandbox.system_reads()), [own])
        outcomes = []
        for attempt in (lambda: (own / "mine").write_text("mine"),
                        lambda: (other / "secret").read_text(),
                        lambda: os.open("secret", os.O_RDONLY, dir_fd=os.open(other,
                                                                              os.O_RDONLY)),
                        lambda: (other / "new").write_text("new"),
                        lambda: subprocess.run(["true"], check=True),
                        lambda: os.kill(os.getppid(), 0)):
            try:
                attempt()
                outcomes.append("done")
            except OSError:
                outcomes.append("refused")
        os.write(write_end, json.dumps(outcomes).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read) as pipe:
        outcomes = json.loads(pipe.read())
    os.waitpid(child, 0)
    assert outcomes == ["done"] + ["refused"] * 5
    assert (own / "mine").read_text() == "mine" and not (other / "new").exists()


def _fake(answers: dict[str, list[float] | None]) -> checks.Submission:
    """A submission whose featurize gives hard-coded answers."""
    module = SimpleNamespace(featurize=lambda sentence, vectors: None if answers[sentence] is None
                             else torch.tensor(answers[sentence]))
    return checks.Submission(module, None, Path("."))


def test_answers_known_in_advance_earn_nothing():
    """Each run draws its inputs anew: the expected answers of one draw, hard-coded, pass that
    draw's featurize item and fail another's; the draws differ in every kind of input."""
    first, second = checks.Draw(1), checks.Draw(2)
    answers = {sentence: None if first.mean_vector(sentence) is None else
               first.mean_vector(sentence).tolist() for sentence in checks.SENTENCES}
    for draw, passes in ((first, True), (second, False)):
        expected = checks.probe_featurize(
            checks.Submission(SimpleNamespace(featurize=draw.mean_vector), None, Path(".")), draw)
        verdict = checks.judge_featurize(checks.probe_featurize(_fake(answers), draw), expected,
                                         draw)
        assert (verdict.passed == verdict.cases) == passes
    assert first.words != second.words and first.structures != second.structures
    assert first.accuracy_cases != second.accuracy_cases
    assert not torch.equal(first.inputs(4), second.inputs(4))


def test_a_run_records_its_draw_and_a_regrade_reuses_it(tmp_path):
    """The first run into a folder draws a seed and records it in grading.json; the next run
    into it reads the same; a damaged record is a one-line error."""
    from workshop.grading import reports

    first = reports.start_run(tmp_path, "the boundary")
    assert reports.start_run(tmp_path, "the boundary").draw == first.draw
    assert reports.start_run(tmp_path / "other", "the boundary").draw != first.draw
    (tmp_path / "grading.json").write_text("{")
    with pytest.raises(Exception, match="is not the grader's record"):
        reports.start_run(tmp_path, "the boundary")


def test_the_launcher_holds_nothing_of_the_grader(tmp_path):
    """A task forked by the launcher finds none of this project's homework or grading modules
    in its interpreter (its mlp and main are the submission's), only the checks and the
    sandbox it runs under; its copy is gone when it ends."""
    from workshop.grading.launcher import Launcher, Order

    write(tmp_path / "source")
    main = tmp_path / "source" / "main.py"
    main.write_text(main.read_text() + "\nimport sys as _s\nraise RuntimeError(sorted(name for "
                    "name in _s.modules if name.startswith(('workshop', 'mlp', 'main'))))\n")
    limits = sandbox.Limits(seconds=60, memory_mib=1024, output_bytes=10000)
    order = Order("one", ("explore_mlp_activations",), str(tmp_path / "task"),
                  str(tmp_path / "source"), 1, limits)
    with Launcher() as launcher:
        [(_, ran)] = list(launcher.run([order], 1))
    loaded = set(re.search(r"RuntimeError: \[(.*)\]", ran.value["error"])[1]
                 .replace("'", "").split(", "))
    assert loaded == {"main", "mlp", "workshop", "workshop.grading", "workshop.grading.checks",
                      "workshop.grading.landlock", "workshop.grading.sandbox"}
    assert not (tmp_path / "task").exists()


def _who() -> list:
    """Who the task runs as, and whether it can write and read back its own folder."""
    Path("mine").write_text("mine")
    return [os.getuid(), os.getgid(), os.getgroups(), Path("mine").read_text()]


@pytest.mark.skipif(os.geteuid() != 0, reason="only a grader run by root drops to another user")
def test_run_by_root_a_task_becomes_nobody(monkeypatch):
    """Where the user nobody can read the Python installation (Gradescope's images), a task of
    a grader run by root runs as nobody, with no other group, and still writes its own copy
    (given to nobody); on these machines Python is in root's home, so grading itself stays
    root without capabilities, and this test asks for nobody by hand."""
    monkeypatch.setattr(sandbox, "WALL", sandbox.Wall(landlock.abi(), "nobody"))
    staging = Path(tempfile.mkdtemp(prefix="hw3-nobody-"))
    staging.chmod(0o711)  # as the grader's staging folder: nobody reaches its own folder only
    try:
        limits = sandbox.Limits(seconds=30, memory_mib=512, output_bytes=1000)
        [(_, ran)] = list(sandbox.run_many([sandbox.Task("who", _who, (), staging / "task",
                                                         limits)], 1))
    finally:
        shutil.rmtree(staging)
    assert ran.error is None and ran.value == [65534, 65534, [], "mine"]


def _leaves_a_detached_process() -> int:
    """Start a process that detaches (a new session, its parent gone) and sleeps; return."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    time.sleep(0.2)
    return 1


def test_a_task_ends_what_it_leaves_running_itself(tmp_path):
    """A task's own process ends every process it started and left, however it detached, before
    its result goes back, and says how many (the launcher's reaping is only the last resort)."""
    limits = sandbox.Limits(seconds=30, memory_mib=512, output_bytes=1000)
    task = sandbox.Task("left", _leaves_a_detached_process, (), tmp_path / "task", limits,
                        reads=sandbox.system_reads())  # /proc: where it finds its children
    [(_, ran)] = list(sandbox.run_many([task], 1))
    assert ran.value == 1 and re.search(r"the grader ended [1-9] process\(es\)", ran.output)
