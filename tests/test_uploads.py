"""What students upload, as the grader finds it: a whole course repository, hw3/ beside other
folders, flat files beside a hw3/ copy, misnamed files, zips within zips; Gradescope's upload
as one submission whatever it holds; what a course configures (items hidden from students, a
TA's regrades), the autograder's setup.sh, which installs what grading imports, and the pairs
a small class's similarity lists."""

import ast
import csv
import importlib.metadata
import random
import re
import shutil
import string
import sys
from pathlib import Path

import pytest
from classroom import write
from conftest import REPO

from workshop.grading import autograder, grade, reports, similarity, uploads


def _layout(upload: Path, tmp_path: Path) -> uploads.Layout:
    return uploads.unpack(uploads.find_submissions([upload], single=True)[0], tmp_path / "into")


def test_a_whole_course_repository_is_graded_from_its_hw3(tmp_path):
    """hw1/ ... hw5/, two of them with an mlp.py and a main.py: hw3's are graded, and said so."""
    for number in range(1, 6):
        (tmp_path / "repo" / f"hw{number}").mkdir(parents=True)
    write(tmp_path / "repo" / "hw2" / "code")
    write(tmp_path / "repo" / "hw3" / "src")
    layout = _layout(tmp_path / "repo", tmp_path)
    assert layout.graded == ("hw3/src/mlp.py", "hw3/src/main.py") and layout.look == ""


def test_hw3_beside_plots_and_flat_files_beside_a_copy(tmp_path):
    """hw3/ beside plots/ is graded from hw3/; flat mlp.py and main.py beside a hw3/ copy: the
    hw3/ copy, and the report names the files graded."""
    write(tmp_path / "a" / "hw3")
    (tmp_path / "a" / "plots").mkdir()
    (tmp_path / "a" / "plots" / "acc.png").write_bytes(b"png")
    assert _layout(tmp_path / "a", tmp_path / "x").graded == ("hw3/mlp.py", "hw3/main.py")
    write(tmp_path / "b")
    write(tmp_path / "b" / "hw3")
    assert _layout(tmp_path / "b", tmp_path / "y").graded == ("hw3/mlp.py", "hw3/main.py")


def test_two_candidates_and_no_name_ask_a_person(tmp_path):
    """Two folders holding both files, neither named like the homework: the shallowest is
    graded, NEEDS A LOOK lists both."""
    write(tmp_path / "up" / "final")
    write(tmp_path / "up" / "old" / "draft")
    layout = _layout(tmp_path / "up", tmp_path)
    assert layout.graded == ("final/mlp.py", "final/main.py")
    assert "final" in layout.look and "old/draft" in layout.look


def test_misnamed_files_are_found_by_what_they_define(tmp_path):
    """MLP.py and 'main (1).py' are graded as mlp.py and main.py, with a note; a folder with
    no homework lists the Python files it found."""
    write(tmp_path / "src")
    (tmp_path / "up").mkdir()
    shutil.copy(tmp_path / "src" / "mlp.py", tmp_path / "up" / "MLP.py")
    shutil.copy(tmp_path / "src" / "main.py", tmp_path / "up" / "main (1).py")
    (tmp_path / "up" / "notes.py").write_text("print('hello')\n")
    layout = _layout(tmp_path / "up", tmp_path)
    assert (layout.home / "mlp.py").read_text() == (tmp_path / "src" / "mlp.py").read_text()
    assert "'MLP.py' as mlp.py" in layout.look and "'main (1).py' as main.py" in layout.look
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.py").write_text("print('hello')\n")
    nothing = _layout(tmp_path / "empty", tmp_path / "z")
    assert nothing.home is None and nothing.python == ("notes.py",)


def _score(item: str, points: float, most: float) -> grade.Score:
    status = grade.Status.PASS if points == most else grade.Status.FAIL
    return grade.Score(item, status, points, most, f"{item} said")


def test_a_hidden_item_never_reaches_what_students_see():
    """An item the rubric hides is marked so in results.json, and the output every student sees
    does not name it; stdout_visibility is the rubric's."""
    rubric = grade.Rubric({"featurize": 10, "accuracy": 10}, None,
                          {"accuracy": "hidden"}, "hidden")
    results = reports.gradescope([_score("featurize", 10, 10), _score("accuracy", 0, 10)], 1.0,
                                 rubric)
    assert "accuracy" not in results["output"] and "featurize" in results["output"]
    assert {test["name"]: test["visibility"] for test in results["tests"]} == {
        "featurize": "visible", "accuracy": "hidden"}
    assert results["stdout_visibility"] == "hidden"


def test_a_rubric_with_an_unknown_visibility_is_one_line(tmp_path):
    """A [visibility] value that is not Gradescope's is a one-line error naming it."""
    path = tmp_path / "rubric.toml"
    path.write_text(grade.RUBRIC.read_text() + '"activation Tanh" = "secret"\n')
    with pytest.raises(Exception, match="activation Tanh = 'secret'"):
        grade.load_rubric(path)


def test_a_regrade_changes_the_total_and_says_why(tmp_path):
    """A TA's regrades file sets an item's points over the grader's: grades.csv has the new
    total and the reason, the report says it was regraded and why; a file that is not one is a
    one-line error."""
    rubric = grade.load_rubric()
    regrades = tmp_path / "regrades.csv"
    regrades.write_text("submission,item,points,reason\nsum,featurize,10,agreed in office hours\n")
    scores = [_score(item, most - 5 * (item == "featurize"), most)
              for item, most in rubric.points.items()]
    found = uploads.Upload("sum", tmp_path)
    regraded = reports.regrade(found, scores, reports.read_overrides(regrades, rubric))
    run = reports.start_run(tmp_path / "out", "the boundary")
    reports.write_grades(tmp_path / "out", found, uploads.Layout(None, (), ()), regraded, 1.0,
                         run, rubric)
    with open(tmp_path / "out" / "grades.csv", newline="") as file:
        row = next(csv.DictReader(file))
    assert (row["featurize"], row["total"]) == ("10", "100")
    assert row["regraded"] == "featurize: agreed in office hours"
    assert "Regraded by a TA to 10" in (tmp_path / "out" / "sum" / "report.md").read_text()
    regrades.write_text("submission,item,points\nsum,nothing,3\n")
    with pytest.raises(Exception, match=r"regrades .* are not a CSV"):
        reports.read_overrides(regrades, rubric)


def _imported(path: Path) -> set[str]:
    """The top-level modules a file imports, outside the standard library and this project."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
        found |= {name.split(".")[0] for name in names if name}
    return found - set(sys.stdlib_module_names) - {"workshop", "mlp", "main"}


def test_setup_installs_what_grading_imports_at_the_versions_tested():
    """setup.sh installs exactly the distributions of what the autograder's files import
    (grading, and students' code through the launcher), each pinned at the version installed
    here; none of the tests' or linters'."""
    shipped = [REPO / name for name in autograder.sources() if name.suffix == ".py"]
    distributions = importlib.metadata.packages_distributions()
    wanted = {distribution for path in shipped for module in _imported(path)
              for distribution in distributions.get(module, [module])}
    script = autograder.setup_script()
    pinned = dict(re.findall(r"([\w.-]+)==([\w.+-]+)", script))
    assert set(pinned) == wanted
    assert all(importlib.metadata.version(name).split("+")[0] == version
               for name, version in pinned.items())
    assert not {"pytest", "ruff", "pytest-xdist"} & set(pinned)


def _code(seed: int, lines: int = 40) -> str:
    """Python written by one student: names and numbers of their own."""
    rng = random.Random(seed)
    words = ["".join(rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(12)]
    return "\n".join(f"def {words[i % 12]}_{i}({words[(i + 1) % 12]}):\n    return "
                     f"{words[(i + 2) % 12]} * {rng.randint(2, 999)} + {rng.randint(2, 999)}\n"
                     for i in range(lines))


def test_a_group_of_three_who_share_code_is_listed_in_a_small_class(tmp_path):
    """In a class of ten, three who share a passage are listed pair by pair, under a table of
    the pairs at the top of similarity.md; the others are not."""
    shared = _code(999, 60)
    codes = {f"s{index}": _code(index) + (shared if index < 3 else "") for index in range(10)}
    pairs = similarity.similar_pairs(codes)
    assert {(pair.first, pair.second) for pair in pairs} == {("s0", "s1"), ("s0", "s2"),
                                                            ("s1", "s2")}
    text = similarity.markdown(pairs, len(codes), skeleton=False)
    assert text.index("| s0 | s1 |") < text.index("## s0 and s1")
