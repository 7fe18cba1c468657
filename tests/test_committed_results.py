"""The committed run: full-data sweeps with three seeds, and every plot that hw3.md shows.

Read through git from HEAD, because `python main.py` rewrites plots/ with its own run.
"""

import re

import pytest
from conftest import PLOTS, PNG, REPO, committed


def test_committed_sweeps_are_complete_full_data_runs(committed_results):
    """Each sweep hw3.md quotes finished, on the homework's splits, 20 epochs, three seeds."""
    for sweep in [*PLOTS, "three-layer-learning-rates"]:
        entry = committed_results[sweep]
        assert entry["complete"], sweep
        assert entry["settings"]["sizes"] == [5000, 20000, 10000], sweep
        assert entry["settings"]["epochs"] == 20 and entry["settings"]["seeds"] == [42, 43, 44]
        assert all(len(run["dev_accs"]) == 20 for c in entry["configs"] for run in c["runs"])


@pytest.mark.parametrize("sweep", PLOTS)
def test_each_sweeps_plots_are_committed_and_shown(sweep):
    """The sweep's plots (and each structure's loss plot) are committed PNGs that hw3.md shows."""
    shown = re.findall(r"\]\((plots/[\w.]+\.png)\)", (REPO / "hw3.md").read_text())
    for name in PLOTS[sweep]:
        assert committed(f"plots/{name}").startswith(PNG), name
        assert f"plots/{name}" in shown, name


def test_every_plot_hw3_shows_is_committed():
    """No image link of hw3.md points at a file that is not committed."""
    for path in re.findall(r"\]\((plots/[\w.]+\.png)\)", (REPO / "hw3.md").read_text()):
        assert committed(path).startswith(PNG), path
