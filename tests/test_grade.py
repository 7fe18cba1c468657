"""python main.py grade: submissions written here in the course skeleton's shape (a completion,
the skeleton as handed out, and copies with one mistake each) lose exactly the points of the
items their mistake breaks; hostile ones lose what they break and nothing else; the reports."""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

import checks
import grade
import sandbox

COMPLETION = REPO / "tests" / "submissions" / "completion"
ALL = set(checks.ITEMS)
# (what is wrong, the file, the text replaced, its replacement, the items it costs points)
MISTAKES = [
    ("featurize returns the sum", "mlp.py", "np.mean(np.array(vectors), axis=0)",
     "np.sum(np.array(vectors), axis=0)", {"featurize"}),
    ("featurize returns a list", "mlp.py",
     "return torch.tensor(np.mean(np.array(vectors), axis=0), dtype=torch.float32)",
     "return list(np.mean(np.array(vectors), axis=0))", {"featurize"}),
    ("featurize returns zeros for no known word", "mlp.py", "        return None\n",
     "        return torch.zeros(embeddings.vector_size)\n", {"featurize"}),
    ("create_tensor_dataset keeps every review", "mlp.py",
     "        if feature is not None:\n            all_features", "        if True:\n"
     "            all_features", {"create_tensor_dataset"}),
    ("no activation after the hidden layers", "mlp.py", "x = self.activation(layer(x))",
     "x = layer(x)", {"forward"}),
    ("a Python list of layers", "mlp.py", "self.linears = nn.ModuleList()",
     "self.linears = []", {"layers", "training"}),
    ("layers built in float64", "mlp.py", "nn.Linear(sizes[i], sizes[i + 1])",
     "nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64)", {"forward", "training"}),
    ("no GeLU", "mlp.py", ', "GeLU": nn.GELU}', "}", {"activation GeLU"}),
    ("ReLU is a LeakyReLU", "mlp.py", '"ReLU": nn.ReLU', '"ReLU": nn.LeakyReLU',
     {"activation ReLU"}),
    ("accuracy returns the mean", "mlp.py", "return (predictions == labels).float()",
     "return (predictions == labels).float().mean()", {"accuracy"}),
    ("accuracy returns booleans", "mlp.py", "return (predictions == labels).float()",
     "return predictions == labels", {"accuracy", "training"}),
    ("three learning rates", "main.py", "lrs = [0.1, 0.02, 0.005, 0.001]",
     "lrs = [0.1, 0.02, 0.001]", {"explore_mlp_learning_rates"}),
    ("the activations at another learning rate", "main.py", "    lr = 0.02\n",
     "    lr = 0.01\n", {"explore_mlp_activations"}),
    ("the activations' plots never written", "main.py",
     '    visualize_configs(all_accs, activations, "Accuracy", "./all_mlp_activations_acc.png")'
     '\n    visualize_configs(all_losses, activations, "Loss", "./all_mlp_activations_loss.png")'
     '\n', "", {"explore_mlp_activations"}),
    ("no optimizer.step", "mlp.py", "            optimizer.step()\n", "", {"training"}),
]
HOSTILE = {  # what a submission does: the file, the text replaced and its replacement
    "exits at import": ("mlp.py", "import random", "import random, sys\nsys.exit(3)"),
    "loops forever in a sweep": ("main.py", "    lrs = [0.1, 0.02, 0.005, 0.001]\n",
                                 "    while True:\n        pass\n"),
    "floods its output": ("mlp.py", "torch.manual_seed(42)", "torch.manual_seed(42)\n"
                          "for _ in range(2000):\n    print('x' * 1000)"),
    "grabs all memory in forward": ("mlp.py", "        x = inp\n",
                                    "        hoard = [bytearray(2**28) for _ in range(64)]\n"
                                    "        x = inp\n"),
    "deletes its folder and others": ("mlp.py",  # DECOY: a folder of the test's, beside the class
        "torch.manual_seed(42)", "torch.manual_seed(42)\nimport os, shutil\n"
        "for attempt in (lambda: os.kill(os.getppid(), 9),\n"
        "                lambda: shutil.rmtree(os.environ['DECOY']),\n"
        "                lambda: shutil.rmtree(os.path.dirname(os.path.abspath(__file__)))):\n"
        "    try:\n        attempt()\n    except OSError:\n        pass\n"),
}


def blank(text: str) -> str:
    """The skeleton as handed out: each blank's answer replaced by raise NotImplementedError."""
    return re.sub(r"( *)# TODO \d+\n.*?# END TODO\n",
                  lambda found: f"{found.group(1)}raise NotImplementedError\n", text, flags=re.S)


def write_submission(folder: Path, changes: dict[str, tuple[str, str]] | None = None,
                     blanks: bool = False) -> Path:
    """A copy of the completion in folder, with each file's text changed as changes say."""
    folder.mkdir(parents=True)
    for name in ("mlp.py", "main.py"):
        text = (COMPLETION / name).read_text()
        old, new = (changes or {}).get(name, ("", ""))
        assert old in text, (name, old)
        text = text.replace(old, new, 1)
        (folder / name).write_text(blank(text) if blanks else text)
    return folder


def test_rubric_gives_every_item_points():
    """rubric.toml has a number of points for each item, 100 in all."""
    rubric = grade.load_rubric()
    assert set(rubric.points) == ALL and sum(rubric.points.values()) == 100


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Path, Path, str, dict[str, dict[str, dict]]]:
    """A class graded by `python main.py grade CLASS` with a 10-second limit and 1 GiB of
    memory an item: a completion (as a zip, inside a hw3/ folder), the skeleton as handed out,
    each mistake, each hostile submission, and this project's own code. The class folder, the
    grades folder, what the command printed, and each submission's tests by item (results.json)."""
    folder = tmp_path_factory.mktemp("class")
    write_submission(folder / "staging" / "hw3")
    with zipfile.ZipFile(folder / "completion.zip", "w") as archive:
        for file in (folder / "staging").rglob("*.py"):
            archive.write(file, file.relative_to(folder / "staging"))
    shutil.rmtree(folder / "staging")
    write_submission(folder / "skeleton", blanks=True)
    for index, (_, file, old, new, _) in enumerate(MISTAKES):
        write_submission(folder / f"mistake-{index}", {file: (old, new)})
    for name, (file, old, new) in HOSTILE.items():
        write_submission(folder / name.replace(" ", "-"), {file: (old, new)})
    (folder / "project").mkdir()
    for module in REPO.glob("*.py"):
        shutil.copy(module, folder / "project")
    rubric = folder.parent / "rubric.toml"
    rubric.write_text(re.sub(r"seconds = \d+", "seconds = 10",
                             re.sub(r"memory_mib = \d+", "memory_mib = 1024",
                                    grade.RUBRIC.read_text())))
    out, decoy = folder.parent / "grades", folder.parent / "decoy"
    decoy.mkdir()
    (decoy / "grades.csv").write_text("a TA's earlier grades\n")
    args = ["grade", str(folder), "--out", str(out), "--rubric", str(rubric)]
    done = subprocess.run([sys.executable, "main.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "DECOY": str(decoy)})
    assert done.returncode == 0, done.stderr[-3000:]
    tests = {path.parent.name: {test["name"]: test for test in
                                json.loads(path.read_text())["tests"]}
             for path in out.glob("*/results.json")}
    return folder, out, done.stdout, tests


def lost(tests: dict[str, dict]) -> dict[str, str]:
    """The items that did not get full points, and what their output says."""
    return {item: test["output"] for item, test in tests.items()
            if test["score"] < test["max_score"]}


def test_a_completion_and_this_project_get_full_marks(graded):
    """A correct completion in the skeleton's shape (nltk's word_tokenize with no punkt data,
    gensim's vectors, EasyDict configurations), zipped inside a hw3/ folder, and this project's
    mlp.py and main.py pass every item."""
    _, _, printed, tests = graded
    assert lost(tests["completion"]) == {} and lost(tests["project"]) == {}
    assert "completion: 100 / 100" in printed and "project: 100 / 100" in printed


def test_the_skeleton_as_handed_out_gets_nothing(graded):
    """Every blank raising NotImplementedError: 0 points on every item, each saying so."""
    scores = graded[3]["skeleton"]
    assert all(test["score"] == 0 for test in scores.values()) and set(scores) == ALL
    assert all("NotImplementedError" in test["output"] for test in scores.values())


@pytest.mark.parametrize(("index", "mistake"), list(enumerate(MISTAKES)),
                         ids=[mistake[0] for mistake in MISTAKES])
def test_each_mistake_loses_exactly_its_items(graded, index, mistake):
    """A submission with one mistake loses points on the items it breaks, and only those."""
    assert set(lost(graded[3][f"mistake-{index}"])) == mistake[4]


def test_feedback_says_what_came_and_what_was_expected(graded):
    """A failed case names the call, what it gave and what was expected, and the line of the
    student's own file an error came from."""
    def why(mistake: str, item: str) -> str:
        index = [name for name, *_ in MISTAKES].index(mistake)
        return lost(graded[3][f"mistake-{index}"])[item]

    assert "featurize('good movie', vectors) gave tensor [1.0, 1.0, 1.0, 2.0] of shape (4,)" \
           in why("featurize returns the sum", "featurize")
    assert "(that is their sum: divide by how many they are)" in why(
        "featurize returns the sum", "featurize")
    assert "It matches the products with no Sigmoid after the hidden layers" in why(
        "no activation after the hidden layers", "forward")
    assert "use nn.ModuleList" in why("a Python list of layers", "layers")
    assert "(that is their mean: return the 0/1 of each)" in why("accuracy returns the mean",
                                                                   "accuracy")
    assert "expected at least 4" in why("three learning rates", "explore_mlp_learning_rates")
    assert re.search(r"raised NotImplementedError: activation GeLU.*\(at mlp\.py line \d+, in "
                     r"__init__: `raise NotImplementedError", why("no GeLU", "activation GeLU"))


def test_hostile_submissions_lose_what_they_break_and_nothing_else(graded):
    """The grader finishes every submission; the hostile ones lose the items they break, each
    saying what happened; the submissions' own folders and a folder of the grader's are
    untouched."""
    folder, out, _, tests = graded
    assert set(lost(tests["exits-at-import"])) == ALL
    assert all("sys.exit(3)" in why for why in lost(tests["exits-at-import"]).values())
    assert set(lost(tests["loops-forever-in-a-sweep"])) == {"explore_mlp_learning_rates"}
    assert "timed out after 10 s" in lost(tests["loops-forever-in-a-sweep"])[
        "explore_mlp_learning_rates"]
    assert lost(tests["floods-its-output"]) == {}
    assert set(lost(tests["grabs-all-memory-in-forward"])) >= {"forward", "training"}
    assert "ran out of the memory" in lost(tests["grabs-all-memory-in-forward"])["forward"]
    assert "layers" not in lost(tests["grabs-all-memory-in-forward"])
    assert all((folder / name.replace(" ", "-") / "mlp.py").is_file() for name in HOSTILE)
    assert (folder.parent / "decoy" / "grades.csv").read_text() == "a TA's earlier grades\n"
    with open(out / "grades.csv", newline="") as file:
        assert len(list(csv.DictReader(file))) == len(tests) == len(MISTAKES) + len(HOSTILE) + 3


def test_the_report_and_gradescopes_results(graded):
    """Each submission's results.json is Gradescope's format (its score the sum of its tests'),
    its report.md names every item and says what went wrong."""
    _, out, _, _ = graded
    results = json.loads((out / "floods-its-output" / "results.json").read_text())
    assert set(results) >= {"score", "tests"}
    assert results["score"] == sum(test["score"] for test in results["tests"])
    assert {test["name"] for test in results["tests"]} == ALL
    assert all(set(test) >= {"name", "score", "max_score", "output", "visibility"}
               for test in results["tests"])
    report = (out / "loops-forever-in-a-sweep" / "report.md").read_text()
    assert all(f"| {item} |" in report for item in ALL)
    assert "timed out after 10 s" in report.split("## explore_mlp_learning_rates: ERROR", 1)[1]


def test_a_second_run_keeps_the_other_rows(graded, tmp_path):
    """Grading one submission again rewrites its row of grades.csv and keeps the others'."""
    folder, out, _, _ = graded
    before = (out / "grades.csv").read_text().splitlines()
    shutil.copytree(out, tmp_path / "grades")
    submission = grade.find_submissions([folder / "mistake-0"])
    for found, scores in grade.grade(submission, grade.load_rubric(), at_once=2):
        grade.write_grades(tmp_path / "grades", found, scores)
    assert sorted((tmp_path / "grades" / "grades.csv").read_text().splitlines()) == sorted(before)


def test_the_sandbox_keeps_writes_inside_its_folder(tmp_path):
    """A task may write in its own folder and not beside it, start no program, and reach no
    network; what it raises comes back as its error."""
    def writes(name: str) -> str:
        Path(name).write_text("x")
        return Path(name).read_text()

    def runs() -> int:
        return subprocess.run(["true"], check=False).returncode

    limits = sandbox.Limits(seconds=10)
    tasks = [sandbox.Task("inside", writes, ("inside.txt",), tmp_path / "box", limits),
             sandbox.Task("outside", writes, (str(tmp_path / "outside.txt"),), tmp_path / "box",
                          limits),
             sandbox.Task("program", runs, (), tmp_path / "box", limits)]
    ran = {task.key: found for task, found in sandbox.run_many(tasks, 2)}
    assert ran["inside"].value == "x" and ran["inside"].error is None
    assert "PermissionError" in ran["outside"].error and not (tmp_path / "outside.txt").exists()
    assert "runs no other program" in ran["program"].error


def test_bad_paths_and_rubrics_are_one_line(tmp_path):
    """A path that does not exist, or a rubric without an item's points: one line, exit 1."""
    main = __import__("main")
    with pytest.raises(SystemExit) as stop:
        main.main(["grade", str(tmp_path / "nowhere")])
    assert stop.value.code == f"error: no submission or folder {tmp_path / 'nowhere'}"
    (tmp_path / "rubric.toml").write_text("[points]\nfeaturize = 10\n")
    with pytest.raises(SystemExit) as stop:
        main.main(["grade", str(COMPLETION), "--rubric", str(tmp_path / "rubric.toml")])
    assert stop.value.code.startswith(f"error: the rubric {tmp_path / 'rubric.toml'} is not valid")
