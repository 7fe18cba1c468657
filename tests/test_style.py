"""The code's standing rules: ruff is clean, every module says its one job and is named for it,
no two modules import each other (even lazily, even through others), no function is over 40
lines."""

import ast
import subprocess
import sys

import pytest
from conftest import REPO

# The project's own modules: the homework's two at the top, and its package beneath them.
MODULES = sorted(REPO.glob("*.py")) + sorted((REPO / "workshop").rglob("*.py"))
SOURCES = MODULES + sorted((REPO / "tests").glob("*.py"))


def _dotted(path) -> str:
    """A module's name as imported: mlp, workshop.runs.sweeps, workshop (its __init__)."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _ids(path) -> str:
    return str(path.relative_to(REPO))


def test_ruff_is_clean():
    """`ruff check .` finds nothing (the rules are in pyproject.toml)."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", SOURCES, ids=_ids)
def test_no_function_over_40_lines(path):
    """Every function and method, docstring included, fits in 40 lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.end_lineno - node.lineno + 1 > 40]
    assert long == []


@pytest.mark.parametrize("path", MODULES, ids=_ids)
def test_each_module_is_named_for_its_job_and_says_it(path):
    """A module opens with a docstring, and is not named for what it is not."""
    assert ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert path.stem not in {"extras", "utils", "util", "misc", "helpers", "common", "stuff"}


def _imports(path) -> set[str]:
    """The project's modules that path imports, anywhere in it (inside functions too): for
    `from workshop.runs import sweeps`, workshop.runs.sweeps."""
    ours, names = {_dotted(module) for module in MODULES}, set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
            names.add(node.module)
    # A name imported from a module is that module, unless it is a module of its own.
    found = {name if name in ours else name.rpartition(".")[0] for name in names}
    return found & ours - {_dotted(path), "workshop", "workshop.runs", "workshop.studies",
                           "workshop.grading"}


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """A chain of imports that comes back to where it started, or [] if there is none."""
    done, path = set(), []

    def visit(module: str) -> list[str]:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return []
        path.append(module)
        found = next((chain for name in sorted(graph[module]) if (chain := visit(name))), [])
        path.pop()
        done.add(module)
        return found

    return next((chain for module in sorted(graph) if (chain := visit(module))), [])


def test_the_circle_finder_finds_circles():
    """_circle sees a circle through three modules, and none in a chain."""
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_modules_import_each_other():
    """The modules' imports form no circle: each can be read knowing only those below it."""
    assert _circle({_dotted(path): _imports(path) for path in MODULES}) == []
