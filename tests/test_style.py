"""The code's standing rules: ruff is clean, no function is over 40 lines, the homework's two
files keep to their budgets (450 and 300 lines)."""

import ast
import subprocess
import sys

import pytest
from conftest import REPO

SOURCES = sorted(path for path in REPO.rglob("*.py") if ".venv" not in path.parts)


def test_ruff_is_clean():
    """`ruff check .` finds nothing (the rules are in pyproject.toml)."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(REPO)))
def test_no_function_over_40_lines(path):
    """Every function and method, docstring included, fits in 40 lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > 40]
    assert long == []


@pytest.mark.parametrize(("name", "budget"), [("mlp.py", 450), ("main.py", 300)])
def test_homework_files_keep_to_their_budgets(name, budget):
    """mlp.py and main.py hold the homework; the rest lives in extras.py."""
    assert len((REPO / name).read_text(encoding="utf-8").splitlines()) <= budget
