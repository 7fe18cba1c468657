"""The committed run: plots/ holds every required file, and hw3.md quotes its numbers."""

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "plots" / "results.json"
PLOTS = [
    "activation_functions.png",
    "structures_loss_none.png", "structures_loss_512.png", "structures_loss_512x512.png",
    "structures_loss_512x512x512.png", "structures_dev_acc.png", "structures_dev_loss.png",
    "activations_dev_acc.png", "activations_dev_loss.png",
    "learning_rates_dev_acc.png", "learning_rates_dev_loss.png",
]


def _fmt(stat: dict) -> str:
    """A mean ± std as results.md and hw3.md print it."""
    return f"{stat['mean']:.4f} ± {stat['std']:.4f}"


def test_every_plot_is_committed_and_embedded():
    """Each required plot exists, is a PNG, and hw3.md embeds it."""
    text = (REPO / "hw3.md").read_text()
    for name in PLOTS:
        assert (REPO / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"](plots/{name})" in text, name


def test_committed_run_is_complete():
    """results.json holds the three finished sweeps of the full data with three seeds."""
    sweeps = json.loads(RESULTS.read_text())["sweeps"]
    assert set(sweeps) == {"structures", "activations", "learning-rates"}
    for entry in sweeps.values():
        assert entry["complete"]
        assert entry["settings"]["sizes"] == [5000, 20000, 10000]
        assert entry["settings"]["epochs"] == 20 and len(entry["settings"]["seeds"]) == 3


@pytest.mark.parametrize("sweep", ["structures", "activations", "learning-rates"])
def test_hw3_table_quotes_the_committed_run(sweep):
    """Every configuration's best dev and test accuracy in hw3.md's table are results.json's."""
    text = (REPO / "hw3.md").read_text()
    rows = {
        cells[1].strip(): (cells[2].strip("* "), cells[3].strip("* "))
        for line in text.splitlines()
        if (cells := line.split("|")[1:-1]) and len(cells) == 4 and "±" in line
    }
    for config in json.loads(RESULTS.read_text())["sweeps"][sweep]["configs"]:
        name = config["name"].replace(" -> ", " → ")
        if sweep == "structures":
            name = f"{name}, lr {config['lr']}"
        elif sweep == "learning-rates":
            name = re.sub(r"^lr ", "", name)
        assert rows[name] == (_fmt(config["best_dev_acc"]), _fmt(config["test_acc"])), name
