"""python main.py grade on a class written here (tests/classroom.py): correct completions in
other shapes than ours get full marks, a single mistake loses exactly the items it breaks,
hostile submissions lose what they break and touch nothing else; the reports, the class's
summary and similarity, a Canvas export and its gradebook (the autograder: test_autograder.py).
One file: its tests share one core of the suite's."""

import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from classroom import COPIED, CORRECT, HOSTILE, ITEMS, MISTAKES, Student, write
from conftest import REPO

import main
from workshop.grading import checks, grade, reports, sandbox, summary, uploads

CLASS = CORRECT + COPIED + MISTAKES + HOSTILE


def test_rubric_gives_every_item_points():
    """rubric.toml has a number of points for each item, 100 in all."""
    rubric = grade.load_rubric()
    assert set(rubric.points) == ITEMS and sum(rubric.points.values()) == 100


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line holds text (Linux's /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _canvas_export(folder: Path, scratch: Path) -> None:
    """Students' files in folder as Canvas exports them (lastfirst[_LATE]_userid_
    submissionid_file, -1 on a file handed in again): smithjohn's first mlp.py has a mistake,
    the one handed in again does not; doejane's came late; müllerjosé handed in a zip of a hw3/
    folder holding a zip of its files; and a file no student's."""
    first, again = write(scratch / "first", MISTAKES[0]), write(scratch / "again")
    for name in ("mlp.py", "main.py"):
        shutil.copy(first / name, folder / f"smithjohn_12345_67890_{name}")
        shutil.copy(again / name, folder / f"doejane_LATE_222_333_{name}")
    shutil.copy(again / "mlp.py", folder / "smithjohn_12345_67899_mlp-1.py")  # the newest
    with zipfile.ZipFile(scratch / "inner.zip", "w") as inner:
        for name in ("mlp.py", "main.py"):
            inner.write(again / name, name)
    with zipfile.ZipFile(folder / "müllerjosé_444_555_hw3.zip", "w") as outer:
        outer.write(scratch / "inner.zip", "hw3/hw3.zip")
    (folder / "grading-notes.txt").write_text("a TA's note, not a submission")


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path, str, dict[str, dict[str, dict]]]:
    """The class graded by `python main.py grade CLASS`, a 5-second limit and 1 GiB of memory
    an item: a completion (as a zip, inside a hw3/ folder), the skeleton as handed out, and every
    student of tests/classroom.py. The class folder, the grades folder, what the command printed,
    and each submission's tests by item (results.json)."""
    folder = tmp_path_factory.mktemp("class")
    write(folder / "staging" / "hw3")
    with zipfile.ZipFile(folder / "completion.zip", "w") as archive:
        for file in (folder / "staging").rglob("*.py"):
            archive.write(file, file.relative_to(folder / "staging"))
    shutil.rmtree(folder / "staging")
    write(folder / "skeleton", blanks=True)
    for student in CLASS:
        write(folder / student.name, student)
    _canvas_export(folder, tmp_path_factory.mktemp("canvas"))
    rubric = folder.parent / "rubric.toml"
    rubric.write_text(re.sub(r"seconds = \d+", "seconds = 5",
                             re.sub(r"memory_mib = \d+", "memory_mib = 1024",
                                    grade.RUBRIC.read_text())))
    out = folder.parent / "grades"
    args = ["grade", str(folder), "--out", str(out), "--rubric", str(rubric)]
    done = subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    tests = {path.parent.name: {test["name"]: test for test in
                                json.loads(path.read_text())["tests"]}
             for path in out.glob("*/results.json")}
    return folder, out, done.stdout, tests


def lost(tests: dict[str, dict]) -> dict[str, str]:
    """The items that did not get full points, and what their output says."""
    return {item: test["output"] for item, test in tests.items()
            if test["score"] < test["max_score"]}


@pytest.mark.parametrize("student", [Student("completion"), *CORRECT, *COPIED],
                         ids=["completion", *(student.name for student in CORRECT + COPIED)])
def test_a_correct_completion_in_any_shape_gets_full_marks(graded, student):
    """A correct completion (nltk's word_tokenize with no punkt data, gensim's vectors, EasyDict
    configurations; a zip inside a hw3/ folder), written however a student writes it, passes
    every item; where it differs from the handout in style only, its report says so."""
    assert lost(graded[3][student.name]) == {}
    assert f"{student.name}: 100 / 100" in graded[2]


def test_a_consistent_float64_completion_loses_the_handouts_point_alone(graded):
    """float64 features and float64 layers: its own pipeline trains, so only featurize's
    FloatTensor point goes, with a note saying so; the layers say theirs work too."""
    tests = graded[3]["float64-throughout"]
    assert sum(test["score"] for test in tests.values()) == 99
    assert "featurize gives float64 features" in tests["featurize"]["output"]
    assert "its layers are float64" in tests["layers"]["output"]


def test_style_that_changes_nothing_is_a_note(graded):
    """A layer stack in nn.Sequential, integer 0/1s that the student's own evaluate averages, or
    'GELU' spelled so in the student's model and sweep: full marks, and a note."""
    notes = {name: " ".join(test["output"] for test in graded[3][name].values())
             for name in ("sequential", "integer-accuracy-and-own-evaluate",
                          "gelu-spelled-upper")}
    assert "not in self.linears = nn.ModuleList()" in notes["sequential"]
    assert "which your evaluate averages" in notes["integer-accuracy-and-own-evaluate"]
    assert "takes the activation as 'GELU'" in notes["gelu-spelled-upper"]


def test_the_skeleton_as_handed_out_gets_nothing(graded):
    """Every blank raising NotImplementedError: 0 points on every item, each saying so."""
    scores = graded[3]["skeleton"]
    assert set(scores) == ITEMS and all(test["score"] == 0 for test in scores.values())
    assert all("NotImplementedError" in test["output"] for test in scores.values())


@pytest.mark.parametrize("student", MISTAKES + HOSTILE,
                         ids=[student.name for student in MISTAKES + HOSTILE])
def test_each_mistake_loses_exactly_its_items(graded, student):
    """A submission with one mistake (or a hostile one) loses points on the items it breaks, and
    only those."""
    lose = set(lost(graded[3][student.name]))
    assert lose >= student.loses if student.at_least else lose == student.loses


def _why(graded, name: str, item: str) -> str:
    return lost(graded[3][name])[item]


def test_feedback_says_what_came_and_what_was_expected(graded):
    """A failed case names the call, what it gave and what was expected (this project's), the
    line of the student's own file an error came from, and the slip it looks like."""
    words = checks.Draw(json.loads((graded[1] / "grading.json").read_text())["draw"]).words
    total = [float(a + b) for a, b in zip(words["good"], words["movie"], strict=True)]
    assert f"featurize('good movie', vectors) gave tensor {total}" in _why(
        graded, "featurize-sum", "featurize")
    assert "(that is their sum: divide by how many they are)" in _why(
        graded, "featurize-sum", "featurize")
    assert "It matches the products with no Sigmoid after the hidden layers" in _why(
        graded, "no-hidden-activation", "forward")
    assert "use nn.ModuleList" in _why(graded, "python-list-of-layers", "layers")
    assert "(that is their mean: return the 0/1 of each)" in _why(graded, "accuracy-mean",
                                                                   "accuracy")
    assert "which CrossEntropyLoss refuses" in _why(graded, "float-labels",
                                                    "create_tensor_dataset")
    assert "expected at least 4" in _why(graded, "three-learning-rates",
                                         "explore_mlp_learning_rates")
    assert "cannot train a configuration: your own run_mlp raised AttributeError" in _why(
        graded, "lr-sweep-without-num-classes", "explore_mlp_learning_rates")
    assert "saved no figure of the dev accuracy" in _why(graded, "plots-train-accuracy",
                                                         "explore_mlp_activations")
    assert re.search(r"raised NotImplementedError: activation GeLU.*\(at mlp\.py line \d+, in "
                     r"__init__: `raise NotImplementedError", _why(graded, "no-gelu",
                                                                   "activation GeLU"))
    for name, hint in (("no-step", "optimizer.step()"), ("no-zero-grad", "zero_grad()"),
                       ("learning-rate-ignored", "config.lr"),
                       ("dev-read-from-train", "the training set's numbers")):
        assert hint in _why(graded, name, "training"), name


def test_each_item_shows_what_it_printed_itself(graded):
    """What the code printed while an item ran goes under that item: accuracy's report shows
    its own line, not forward's."""
    shown = graded[3]["talks-in-two-items"]["accuracy"]["output"]
    assert "ACCURACY-TALKS" in shown and "FORWARD-TALKS" not in shown


def test_the_summary_reads_the_failures_records_not_their_wording(graded, tmp_path):
    """summary.md groups failures by their records' kind and hint: with every message and
    output reworded, it is the same."""
    _, out, _, _ = graded
    shutil.copytree(out, tmp_path / "grades")
    for path in (tmp_path / "grades").glob("*/results.json"):
        results = json.loads(path.read_text())
        for test in results["tests"]:
            test["output"] = "reworded"
            for failure in test["failures"]:
                failure["said"] = "said otherwise"
        path.write_text(json.dumps(results))
    summary.write(tmp_path / "grades", list(checks.ITEMS))
    assert (tmp_path / "grades" / "summary.md").read_text() == (out / "summary.md").read_text()


def test_hostile_submissions_reach_nothing_but_their_own(graded):
    """The grader finishes every submission and says what happened to each hostile one; no
    submission's folder, nor a folder of the grader's, is touched; no process a submission
    started outlives the grader; each submission sees only its own copy."""
    folder, out, _, tests = graded
    assert all("sys.exit(3)" in why for why in lost(tests["exits-at-import"]).values())
    stopped = _why(graded, "loops-forever-in-a-sweep", "explore_mlp_learning_rates")
    assert "timed out after 5 s: it never returned" in stopped
    assert re.search(r"where its code was when it was stopped, innermost first: File "
                     r"\"main\.py\", line \d+ in explore_mlp_learning_rates", stopped)
    assert "ran out of the memory" in _why(graded, "grabs-all-memory-in-forward", "forward")
    assert all((folder / student.name / "mlp.py").is_file() for student in HOSTILE)
    assert _processes_naming(str(folder)) == []
    with open(out / "grades.csv", newline="") as file:
        assert len(list(csv.DictReader(file))) == len(tests) == len(CLASS) + 5


def test_the_report_and_gradescopes_results(graded):
    """Each submission's results.json is Gradescope's format (its score the sum of its tests'),
    its report.md names every item and says what went wrong."""
    _, out, _, _ = graded
    results = json.loads((out / "floods-its-output" / "results.json").read_text())
    assert set(results) >= {"score", "tests"}
    assert results["score"] == sum(test["score"] for test in results["tests"])
    assert {test["name"] for test in results["tests"]} == ITEMS
    assert all(set(test) >= {"name", "score", "max_score", "output", "visibility"}
               for test in results["tests"])
    report = (out / "loops-forever-in-a-sweep" / "report.md").read_text()
    assert all(f"| {item} |" in report for item in ITEMS)
    assert "timed out after 5 s" in report.split("## explore_mlp_learning_rates: ERROR", 1)[1]


def _rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as file:
        return {row["submission"]: row for row in csv.DictReader(file)}


def test_a_regrade_keeps_the_draw_and_names_the_rows_it_kept(graded, tmp_path, capsys):
    """Grading one submission again into the same folder draws the same inputs (grading.json),
    so it gets the same grades; its row is this run's, and every other row is kept with the
    earlier run that graded it, which the console names."""
    folder, out, _, _ = graded
    before = _rows(out / "grades.csv")
    shutil.copytree(out, tmp_path / "grades")
    main.main(["grade", str(folder / MISTAKES[0].name), "--out", str(tmp_path / "grades")])
    after = _rows(tmp_path / "grades" / "grades.csv")
    assert after.keys() == before.keys()
    assert all({**after[name], "run": ""} == {**before[name], "run": ""} for name in before)
    earlier = {name for name in before if after[name]["run"] == before[name]["run"]}
    assert earlier == set(before) - {MISTAKES[0].name}
    assert f"grades.csv keeps {len(earlier)} rows graded by earlier runs" in capsys.readouterr().out


def _writes(name: str) -> str:
    Path(name).write_text("x")
    return Path(name).read_text()


def _reads(name: str) -> str:
    return Path(name).read_text()


def _runs() -> int:
    return subprocess.run(["true"], check=False).returncode


def test_the_sandbox_keeps_a_task_to_its_own_copy(tmp_path):
    """A task's folder is a copy of its source made when it runs; it may write there and not
    beside it, read nothing under its private paths, start no program, reach no network; what
    it raises comes back as its error."""
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "given.txt").write_text("given")
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.txt").write_text("secret")
    limits = sandbox.Limits(seconds=10, memory_mib=1024, output_bytes=1000)
    box = {"source": tmp_path / "source", "private": (tmp_path / "private",)}
    tasks = [sandbox.Task("inside", _writes, ("inside.txt",), tmp_path / "a", limits, **box),
             sandbox.Task("given", _reads, ("given.txt",), tmp_path / "b", limits, **box),
             sandbox.Task("outside", _writes, (str(tmp_path / "outside.txt"),), tmp_path / "c",
                          limits, **box),
             sandbox.Task("secret", _reads, (str(tmp_path / "private" / "secret.txt"),),
                          tmp_path / "d", limits, **box),
             sandbox.Task("program", _runs, (), tmp_path / "e", limits, **box)]
    ran = {task.key: found for task, found in sandbox.run_many(tasks, 2)}
    assert ran["inside"].value == "x" and ran["inside"].error is None
    assert ran["given"].value == "given"
    assert "PermissionError" in ran["outside"].error and not (tmp_path / "outside.txt").exists()
    assert "reading" in ran["secret"].error and ran["secret"].value is None
    assert "runs no other program" in ran["program"].error


def test_bad_paths_and_rubrics_are_one_line(tmp_path):
    """A path that does not exist, or a rubric without an item's points: one line, exit 1."""
    with pytest.raises(SystemExit) as stop:
        main.main(["grade", str(tmp_path / "nowhere")])
    assert stop.value.code == f"error: no submission or folder {tmp_path / 'nowhere'}"
    (tmp_path / "rubric.toml").write_text("[points]\nfeaturize = 10\n")
    with pytest.raises(SystemExit) as stop:
        main.main(["grade", str(tmp_path), "--rubric", str(tmp_path / "rubric.toml")])
    assert stop.value.code.startswith(f"error: the rubric {tmp_path / 'rubric.toml'} is not valid")


def test_the_class_summary_counts_what_grades_csv_holds(graded):
    """summary.md's table gives, for each item, how many submissions got full, partial and zero
    points, as grades.csv has them; its failures name how many share each and one of them;
    summary.png is drawn."""
    _, out, printed, _ = graded
    rubric = grade.load_rubric()
    with open(out / "grades.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    text = (out / "summary.md").read_text()
    for item in ITEMS:
        points = [float(row[item].split()[0]) for row in rows]
        full = sum(value >= rubric.points[item] for value in points)
        zero = sum(value == 0 for value in points)
        assert f"| {item} | {full} | {len(points) - full - zero} | {zero} |" in text, item
    assert f"# Class summary: {len(rows)} submissions" in text
    forward = text.split("## forward\n", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"\| \d+ \| .* \| [\w-]+ \|", forward)
    assert (out / "summary.png").read_bytes().startswith(b"\x89PNG")
    assert "written " + str(out / "summary.md") in printed


def test_similarity_lists_a_shared_blank_and_not_independent_work(graded):
    """similarity.md lists the two submissions that share a filled blank, and no pair of
    correct completions written independently; it says it is a question, not a finding."""
    _, out, _, _ = graded
    text = (out / "similarity.md").read_text()
    listed = re.findall(r"^## (\S+) and (\S+)$", text, re.M)
    assert ("copied-forward-a", "copied-forward-b") in listed
    independent = {student.name for student in CORRECT}
    assert not [pair for pair in listed if set(pair) <= independent]
    assert "not a finding" in text and "hidden = self.linears[position](hidden)" in text


def test_a_canvas_export_is_one_submission_per_student(graded):
    """Files as Canvas exports them are graded one student each, from their newest files; their
    ids go into grades.csv."""
    with open(graded[1] / "grades.csv", newline="") as file:
        rows = {row["submission"]: row for row in csv.DictReader(file)}
    assert (rows["smithjohn"]["user_id"], rows["smithjohn"]["submission_id"]) == ("12345",
                                                                                  "67899")
    assert rows["doejane"]["user_id"] == "222"
    assert rows["smithjohn"]["total"] == rows["doejane"]["total"] == "100"
    assert "smithjohn_12345_67899_mlp-1.py" in rows["smithjohn"]["files"]
    assert (rows["doejane"]["late"], rows["smithjohn"]["late"]) == ("late", "")
    assert rows["müllerjosé"]["total"] == "100"  # a zip within a zip, a name of any alphabet
    assert "skipped " in graded[2] and "grading-notes.txt: not named as Canvas" in graded[2]


def test_canvas_students_go_into_a_gradebook_canvas_imports(graded):
    """gradebook.csv has Canvas's import columns and a row per Canvas student, with the total."""
    with open(graded[1] / "gradebook.csv", newline="", encoding="utf-8") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "HW3"]
    assert sorted((row[0], row[1], row[5]) for row in rows[1:]) == [
        ("doejane", "222", "100"), ("müllerjosé", "444", "100"), ("smithjohn", "12345", "100")]


def test_what_the_grader_cannot_judge_is_left_to_a_person(tmp_path):
    """An observation the judge cannot read (the grader's own failure, not the student's) is
    NEEDS A LOOK, with no points given or taken for good: in the report and in grades.csv."""
    ran = sandbox.Ran({"observed": {"featurize": {"unforeseen": []}}}, None, "", 0.1)
    scored = grade.score("featurize", 10, ran, {"cases": []}, checks.Draw(0))
    assert scored.status == grade.Status.NEEDS_LOOK and "a person should look" in scored.why
    run = reports.start_run(tmp_path, "no boundary")
    reports.write_grades(tmp_path, uploads.Upload("someone", tmp_path),
                         uploads.Layout(None, (), ()), [scored], 1.0, run, grade.load_rubric())
    with open(tmp_path / "grades.csv", newline="") as file:
        row = next(csv.DictReader(file))
    assert (row["featurize"], row["needs_a_look"]) == ("0", "featurize")
    assert "## featurize: NEEDS A LOOK" in (tmp_path / "someone" / "report.md").read_text()
