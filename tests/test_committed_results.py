"""The committed run: full-data sweeps with three seeds, every plot that hw3.md shows, and a new
run of the README's command giving the same numbers.

The committed files are read through git from HEAD, because `python main.py` rewrites plots/.
"""

import json
import re
import shlex
import statistics
from collections.abc import Iterator

import pytest
from conftest import PLOTS, PNG, REPO, committed

import main

README_COMMAND = "python main.py"  # what the README says to run, and CI runs


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


def _numbers_apart(ran: object, kept: object, where: str = "") -> Iterator[str]:
    """Where two results files' numbers differ by more than hw3.md's four decimals (or, for
    numbers under 0.001, by more than 0.1 % of them), or their shapes differ; seconds, commands
    and machines aside."""
    if isinstance(kept, dict) and isinstance(ran, dict):
        if set(kept) != set(ran):
            yield f"{where}: keys {sorted(set(kept) ^ set(ran))}"
        for key in set(kept) & set(ran) - {"seconds", "command", "machine"}:
            yield from _numbers_apart(ran[key], kept[key], f"{where}/{key}")
    elif isinstance(kept, list) and isinstance(ran, list) and len(kept) == len(ran):
        for index, (one, other) in enumerate(zip(ran, kept, strict=True)):
            yield from _numbers_apart(one, other, f"{where}[{index}]")
    elif isinstance(kept, float | int) and isinstance(ran, float | int) and \
            not isinstance(kept, bool):
        if abs(ran - kept) >= (1e-4 if abs(kept) >= 1e-3 else 1e-3 * abs(kept) + 1e-12):
            yield f"{where}: {ran!r} now, {kept!r} committed"
    elif ran != kept:
        yield f"{where}: {ran!r} now, {kept!r} committed"


# Another kind of CPU rounds differently, and its runs drift apart from the committed ones: on an
# Intel Xeon against the committed AMD EPYC run, 14 of 25 configurations differ in the fourth
# decimal, by up to 0.0066 in one run's accuracy and 0.0023 in a configuration's mean.
OTHER_CPU_GAP = 0.005  # the most a configuration's mean accuracy may move there


def _new_run() -> dict:
    """plots/results.json of a new run of the README's command (skips the test where there is
    none)."""
    results = REPO / "plots" / "results.json"
    commands = set(re.findall(r'"command": "([^"]*)"', results.read_text())) \
        if results.is_file() else set()
    if commands != {README_COMMAND} or results.read_bytes() == committed("plots/results.json"):
        pytest.skip(f"plots/ is not from a new run of `{README_COMMAND}`")
    return json.loads(results.read_text())


def _machines(results: dict) -> set[str]:
    """The machines a results.json's sweeps ran on."""
    return {sweep["settings"]["machine"] for sweep in results["sweeps"].values()}


def _means_apart(ran: dict, kept: dict) -> Iterator[str]:
    """The configurations whose mean best dev or test accuracy over the seeds moved by more than
    OTHER_CPU_GAP."""
    assert ran["sweeps"].keys() == kept["sweeps"].keys()
    for sweep, entry in kept["sweeps"].items():
        ran_configs = {config["name"]: config for config in ran["sweeps"][sweep]["configs"]}
        assert ran_configs.keys() == {config["name"] for config in entry["configs"]}, sweep
        for config in entry["configs"]:
            for metric in ("best_dev_acc", "test_acc"):
                now, then = (statistics.mean(run[metric] for run in runs["runs"])
                             for runs in (ran_configs[config["name"]], config))
                if abs(now - then) > OTHER_CPU_GAP:
                    yield f"{sweep} / {config['name']} {metric}: {now:.4f} now, " \
                          f"{then:.4f} committed"


def test_the_readme_command_gives_the_committed_numbers():
    """After the README's `python main.py` (CI runs it before the tests), results.json and
    diagnose.json hold the committed numbers to the four decimals hw3.md quotes; on another
    kind of CPU than the committed run's, each configuration's mean accuracies within
    OTHER_CPU_GAP."""
    ran, kept = _new_run(), json.loads(committed("plots/results.json"))
    diagnosed = json.loads((REPO / "plots" / "diagnose.json").read_text())
    apart = [*_numbers_apart(ran, kept, "results.json"),
             *_numbers_apart(diagnosed, json.loads(committed("plots/diagnose.json")),
                             "diagnose.json")]
    if apart and _machines(ran) != _machines(kept):
        apart = list(_means_apart(ran, kept))
    assert apart == [], f"{len(apart)} numbers differ, such as {apart[:5]}"


def _same_numbers_as_committed() -> None:
    """Skips the test unless plots/ is a new run that gave the committed numbers: the kept
    models and their mistakes are the committed run's only then."""
    if list(_numbers_apart(_new_run(), json.loads(committed("plots/results.json")))):
        pytest.skip("this run's numbers are not the committed ones (another kind of CPU): its "
                    "models are not the committed run's")


def test_the_readme_command_finds_the_committed_mistakes():
    """The run's best models get the committed reviews most confidently wrong."""
    _same_numbers_as_committed()
    ran = json.loads((REPO / "plots" / "mistakes.json").read_text())
    apart = list(_numbers_apart(ran, json.loads(committed("plots/mistakes.json"))))
    assert apart == [], f"{len(apart)} numbers differ, such as {apart[:5]}"


def test_the_explanations_hw3_quotes_are_the_kept_models(monkeypatch, capsys):
    """After the README's `python main.py`, the kept models print exactly the `predict
    --explain` output that hw3.md quotes."""
    _same_numbers_as_committed()
    quoted = re.findall(r"^\$ (python main\.py predict .*)\n((?:(?!\$ |```).*\n)*)",
                        (REPO / "hw3.md").read_text(), re.M)
    assert len(quoted) == 2
    monkeypatch.chdir(REPO)  # the model's path is printed as predict finds it
    for command, output in quoted:
        main.main(shlex.split(command)[2:])
        assert capsys.readouterr().out.splitlines() == output.splitlines(), command
