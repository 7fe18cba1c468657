"""The project where students keep it: beside a virtual environment of theirs, or as a folder
of a course's own git repository."""

import shutil
import subprocess
import sys
from pathlib import Path

import conftest
import pytest
from conftest import REPO

GIT = ["git", "-c", "user.name=student", "-c", "user.email=student@example.com"]
ENVIRONMENTS = ["venv", ".venv", "env"]  # python -m venv NAME, as people name them


def _copy_project(folder: Path) -> Path:
    """The project's files in folder (those git has or would add), but for the bundled reviews
    (these tests do not read them)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=False)
    if listed.returncode:
        pytest.skip("copies the project's files as git lists them, and this is no git checkout")
    for name in listed.stdout.decode().split("\0"):
        if name and not name.startswith("data/imdb/") and (REPO / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, folder / name)
    return folder


def _run(folder: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)


def test_a_virtual_environment_inside_the_project_changes_nothing(tmp_path):
    """venv/, .venv/ or env/ in the project, full of other packages' modules and tests: pytest
    collects the project's tests only, ruff checks the project's code only, git ignores them."""
    project = _copy_project(tmp_path / "hw3")
    _run(project, *GIT, "init", "-q")
    for name in ENVIRONMENTS:
        package = project / name / "lib" / "python3.11" / "site-packages" / "package"
        package.mkdir(parents=True)
        (package / "test_package.py").write_text("def test_its_own():\n    assert False\n")
        (package / "module.py").write_text("import os, sys\ndef f( x ) :\n  return x  \n")
    collected = _run(project, sys.executable, "-m", "pytest", "--collect-only", "-q",
                     "-p", "no:cacheprovider")
    assert collected.returncode == 0, collected.stdout[-2000:]
    tests = [line for line in collected.stdout.splitlines() if "::" in line]
    assert tests and all(line.startswith("tests/") for line in tests)
    assert not [line for line in tests if any(f"{name}/" in line for name in ENVIRONMENTS)]
    linted = _run(project, sys.executable, "-m", "ruff", "check", ".")
    assert linted.returncode == 0, linted.stdout[-2000:]
    ignored = _run(project, "git", "check-ignore", *ENVIRONMENTS).stdout.split()
    assert ignored == ENVIRONMENTS


def test_the_project_as_a_folder_of_a_course_repository(tmp_path, monkeypatch):
    """Committed as hw3/ inside a course's repository, the committed run's files are found in
    the project's own folder, not at the repository's root."""
    course = tmp_path / "course"
    project = _copy_project(course / "hw3")
    (course / "README.md").write_text("The course's homework, one folder each.\n")
    _run(course, *GIT, "init", "-q")
    _run(course, *GIT, "add", "-A")
    _run(course, *GIT, "commit", "-q", "-m", "homework 3")
    monkeypatch.setattr(conftest, "REPO", project)
    for path in ("plots/results.json", "hw3.md"):
        assert conftest.committed(path) == (REPO / path).read_bytes(), path
