"""Tests of main.py: the three sweeps end to end, their plots and results log, and the CLI.

Every sweep trains on the tiny fixture data (a few hundred reviews, 8-d word vectors) for two
epochs, so the whole module runs in seconds; the files go to pytest's temporary folders.
"""

import argparse
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_tiny_vectors, write_imdb, write_vectors_file

import main
import mlp

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RESULT_FILES = {"results.json", "results.md"}
STRUCTURE_PLOTS = {
    *(f"structures_loss_{slug}.png" for slug in ("none", "512", "512x512", "512x512x512")),
    "structures_dev_acc.png",
    "structures_dev_loss.png",
}
ACTIVATION_PLOTS = {"activations_dev_acc.png", "activations_dev_loss.png"}
LEARNING_RATE_PLOTS = {"learning_rates_dev_acc.png", "learning_rates_dev_loss.png"}
# sweep name in results.json -> (explorer, plot files it writes)
SWEEPS = {
    "structures": (main.explore_mlp_structures, STRUCTURE_PLOTS),
    "activations": (main.explore_mlp_activations, ACTIVATION_PLOTS),
    "learning-rates": (main.explore_mlp_learning_rates, LEARNING_RATE_PLOTS),
}


def _options(plots_dir: Path, **overrides) -> main.SweepOptions:
    """Two-epoch CPU sweep options writing to plots_dir, without progress bars."""
    return main.SweepOptions(**{"epochs": 2, "plots_dir": plots_dir, "progress": False,
                                "device": "cpu", **overrides})


def _read_results(plots_dir: Path) -> dict:
    """The parsed results.json of a plots folder."""
    return json.loads((plots_dir / "results.json").read_text())


def _as_json(value):
    """value as results.json stores it (tuples become lists, and so on)."""
    return json.loads(json.dumps(value))


def _record_runs(monkeypatch, fail_on: int | None = None,
                 error: BaseException | None = None) -> list:
    """Record the name of each main.run_mlp call (raising error on call number fail_on)."""
    calls = []
    real_run_mlp = main.run_mlp

    def run_mlp(config, *args):
        calls.append(config["name"])
        if len(calls) == fail_on:
            raise error
        return real_run_mlp(config, *args)

    monkeypatch.setattr(main, "run_mlp", run_mlp)
    return calls


@pytest.fixture
def cli_inputs(tmp_path):
    """(data folder, word-vector file) for main.main: 400 train and 200 test fixture reviews."""
    data = write_imdb(tmp_path / "imdb")
    return data, write_vectors_file(tmp_path / "vectors.txt", make_tiny_vectors())


# ----------------------------------------------------------------------------------------------
# The sweeps


def _check_configs(sweep: str, results: list[dict]) -> None:
    """The configurations are the ones the homework prescribes for the sweep."""
    settings = [(r["hidden_dims"], r["activation"], r["lr"], r["batch_size"]) for r in results]
    names = [r["name"] for r in results]
    if sweep == "structures":
        assert names == ["None", "512", "512 -> 512", "512 -> 512 -> 512"]
        assert settings == [([], "Sigmoid", 0.025, 64), ([512], "Sigmoid", 0.02, 64),
                            ([512, 512], "Sigmoid", 0.01, 64),
                            ([512, 512, 512], "Sigmoid", 0.001, 64)]
    elif sweep == "activations":
        assert {"Sigmoid", "Tanh", "ReLU", "GELU"} <= set(names)
        assert {setting[1] for setting in settings} == set(names)
        assert all(dims == [512] and lr == 0.02 and batch == 128
                   for dims, _, lr, batch in settings)
    else:
        lrs = [setting[2] for setting in settings]
        assert len(set(lrs)) >= 4 and 0.02 in lrs
        assert all(setting[:2] == ([512], "Sigmoid") and setting[3] == 64 for setting in settings)


@pytest.mark.parametrize("sweep", SWEEPS)
def test_sweep_end_to_end(tmp_path, tiny_datasets, tiny_vectors, sweep):
    """A sweep trains every configuration, writes exactly its plots and a matching results log."""
    explore, plots = SWEEPS[sweep]
    results = explore(*tiny_datasets, tiny_vectors, _options(tmp_path))

    _check_configs(sweep, results)
    for result in results:
        (run,) = result["runs"]
        for key in ("train_losses", "train_accs", "dev_losses", "dev_accs"):
            assert len(run[key]) == 2, (result["name"], key)
        assert 0.0 <= run["test_acc"] <= 1.0
        assert result["test_acc"] == {"mean": run["test_acc"], "std": 0.0}
        assert run["best_dev_acc"] == max(run["dev_accs"])
        assert run["dev_accs"][run["best_epoch"] - 1] == run["best_dev_acc"]

    files = {path.name for path in tmp_path.iterdir()}
    assert files == plots | RESULT_FILES
    for name in files:
        assert " " not in name and ">" not in name
    for name in plots:
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)

    logged = _read_results(tmp_path)["sweeps"]
    assert list(logged) == [sweep]
    assert logged[sweep]["complete"] is True
    assert logged[sweep]["settings"]["epochs"] == 2
    assert logged[sweep]["settings"]["sizes"] == [len(split) for split in tiny_datasets]
    assert logged[sweep]["configs"] == _as_json(results)
    markdown = (tmp_path / "results.md").read_text()
    assert all(f"| {result['name']} |" in markdown for result in results)


def test_sweep_with_two_seeds_reports_mean_and_std(tmp_path, tiny_datasets, tiny_vectors):
    """With seeds (1, 2) every configuration has two runs, and the summary is their mean ± std."""
    options = _options(tmp_path, seeds=(1, 2))
    results = main.explore_mlp_learning_rates(*tiny_datasets, tiny_vectors, options)
    for result in results:
        runs = result["runs"]
        assert [run["seed"] for run in runs] == [1, 2]
        assert runs[0]["train_losses"] != runs[1]["train_losses"]  # the seed mattered
        for key in ("best_dev_acc", "test_acc"):
            values = [run[key] for run in runs]
            assert result[key]["mean"] == pytest.approx(statistics.fmean(values))
            assert result[key]["std"] == pytest.approx(statistics.stdev(values))
    assert _read_results(tmp_path)["sweeps"]["learning-rates"]["settings"]["seeds"] == [1, 2]


def test_rerun_sweep_keeps_other_sweeps(tmp_path, tiny_datasets, tiny_vectors):
    """Running one sweep again replaces only its own entry in results.json."""
    main.explore_mlp_activations(*tiny_datasets, tiny_vectors, _options(tmp_path))
    first_activations = _read_results(tmp_path)["sweeps"]["activations"]
    main.explore_mlp_learning_rates(*tiny_datasets, tiny_vectors, _options(tmp_path))
    both = _read_results(tmp_path)["sweeps"]
    assert set(both) == {"activations", "learning-rates"}
    assert both["activations"] == first_activations

    main.explore_mlp_activations(*tiny_datasets, tiny_vectors, _options(tmp_path, seeds=(5,)))
    rerun = _read_results(tmp_path)["sweeps"]
    assert rerun["learning-rates"] == both["learning-rates"]
    assert rerun["activations"]["settings"]["seeds"] == [5]
    assert "## learning-rates" in (tmp_path / "results.md").read_text()


def test_failed_sweep_keeps_finished_configurations(tmp_path, tiny_datasets, tiny_vectors,
                                                    monkeypatch):
    """An error in the third configuration leaves the first two in results.json, incomplete."""
    calls = _record_runs(monkeypatch, 3, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        main.explore_mlp_structures(*tiny_datasets, tiny_vectors, _options(tmp_path))
    assert calls == ["None", "512", "512 -> 512"]
    logged = _read_results(tmp_path)["sweeps"]["structures"]
    assert logged["complete"] is False
    assert [config["name"] for config in logged["configs"]] == ["None", "512"]
    assert "structures (incomplete" in (tmp_path / "results.md").read_text()


def test_a_run_two_sweeps_share_is_trained_once(tmp_path, tiny_datasets, tiny_vectors,
                                                 monkeypatch):
    """Structures "512" and learning rate 0.02 are the same run: trained once, recorded twice."""
    calls = _record_runs(monkeypatch)
    sweeps = [main.SWEEPS["structures"], main.SWEEPS["learning-rates"]]
    results = main.run_sweeps(sweeps, tiny_datasets, tiny_vectors, _options(tmp_path))
    assert calls == ["None", "512", "512 -> 512", "512 -> 512 -> 512",
                     "lr 0.1", "lr 0.005", "lr 0.001"]
    shared = results["structures"][1]["runs"]
    assert results["learning-rates"][1]["name"] == "lr 0.02"
    assert results["learning-rates"][1]["runs"] == shared
    logged = _read_results(tmp_path)["sweeps"]
    assert logged["learning-rates"]["configs"][1]["runs"] == _as_json(shared)
    assert all(entry["complete"] for entry in logged.values())


class _QueueInProcess:
    """Stands in for WorkerPool: records the queued jobs, then runs them here in that order."""

    def __init__(self, datasets, embeddings):
        self.datasets, self.embeddings = datasets, embeddings
        self.jobs, self.finished = [], 0

    def imap_unordered(self, func, jobs):
        self.jobs = list(jobs)
        for key, config, seed, epochs, device in self.jobs:
            run = main._train_run(config, seed, self.datasets, self.embeddings, epochs, device,
                                  progress=False)
            self.finished += 1
            yield key, run


def test_workers_get_every_run_at_once_largest_first(tmp_path, tiny_datasets, tiny_vectors):
    """With workers, all sweeps' runs are queued together, sweep by sweep with the largest model
    first, and each sweep is plotted as soon as its last run is in, before later runs finish."""
    queue = _QueueInProcess(tiny_datasets, tiny_vectors)
    plotted = []  # (sweep, runs finished when it was plotted)
    sweeps = [main.Sweep(sweep.name, sweep.configs,
                         lambda results, folder, name=sweep.name: plotted.append(
                             (name, queue.finished)))
              for sweep in main.SWEEPS.values()]
    options = _options(tmp_path, pool=queue, seeds=(1, 2))
    results = main.run_sweeps(sweeps, tiny_datasets, tiny_vectors, options)

    queued = [(config["name"], seed) for _, config, seed, _, _ in queue.jobs]
    structures = ["512 -> 512 -> 512", "512 -> 512", "512", "None"]
    activations = [config["name"] for config in main.SWEEPS["activations"].configs]
    learning_rates = ["lr 0.1", "lr 0.005", "lr 0.001"]  # lr 0.02 is structures' "512"
    assert queued == [(name, seed) for name in structures + activations + learning_rates
                      for seed in (1, 2)]
    assert plotted == [("structures", 8), ("activations", 20), ("learning-rates", 26)]
    assert [result["name"] for result in results["structures"]] == [
        "None", "512", "512 -> 512", "512 -> 512 -> 512"]  # recorded in the sweep's own order


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_worker_pool_starts_with_ctrl_c_ignored_and_gets_the_data_later(tiny_datasets):
    """Workers ignore SIGINT from their first instruction (a Ctrl-C while they import torch
    prints no tracebacks), and train only once the datasets are sent."""
    with main.WorkerPool(2) as pool:
        for child in multiprocessing.active_children():
            status = Path(f"/proc/{child.pid}/status").read_text()
            ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
            assert ignored & (1 << (signal.SIGINT - 1)), child
        pool.send_datasets(tiny_datasets, 8)
        config = {"name": "tiny", "hidden_dims": [4], "activation": "ReLU", "lr": 0.01,
                  "batch_size": 64}
        key, run = pool.apply(main._train_run_in_worker, (("key", config, 3, 1, "cpu"),))
    assert key == "key"
    assert run["seed"] == 3
    assert len(run["dev_accs"]) == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored here


# ----------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize(
    ("error", "exit_code", "message"),
    [(RuntimeError("boom"), main.EXIT_FAILED, "error: RuntimeError: boom"),
     (KeyboardInterrupt(), main.EXIT_INTERRUPTED, "interrupted")],
    ids=["error", "ctrl-c"],
)
def test_main_interrupted_reports_partial_results(tmp_path, cli_inputs, monkeypatch, capsys,
                                                  error, exit_code, message):
    """main() turns a failure in the third configuration into an exit code and says where the
    two finished configurations are."""
    data, vectors = cli_inputs
    plots = tmp_path / "plots"
    _record_runs(monkeypatch, 3, error)
    # One worker: the runs stay in this process, where the patched run_mlp is seen.
    code = main.main(["structures", "--data", str(data), "--embeddings", str(vectors),
                      "--plots-dir", str(plots), "--limit", "100", "--epochs", "1",
                      "--workers", "1"])
    assert code == exit_code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(message)
    assert str(plots / "results.json") in err[0]
    logged = _read_results(plots)["sweeps"]["structures"]
    assert logged["complete"] is False
    assert [config["name"] for config in logged["configs"]] == ["None", "512"]


@pytest.mark.parametrize(
    ("argv", "mentions"),
    [(["--epochs", "0"], "--epochs"), (["--epochs", "two"], "--epochs"),
     (["everything"], "everything"), (["--seeds", "-1"], "--seeds")],
    ids=["zero-epochs", "text-epochs", "unknown-sweep", "negative-seeds"],
)
def test_usage_errors_exit_2_with_one_line(capsys, argv, mentions):
    """A bad command line exits with status 2 and a one-line message naming the problem."""
    with pytest.raises(SystemExit) as exit_info:
        main.main(argv)
    assert exit_info.value.code == main.EXIT_USAGE == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert mentions in lines[0]


def test_help_states_each_default_once():
    """--help gives every option one default, and never a bare None."""
    parser = main.build_parser()
    text = parser.format_help()
    options = [action for action in parser._actions if action.help != argparse.SUPPRESS
               and action.dest != "help"]
    assert text.count("(default:") == len(options)
    assert "(default: None)" not in text
    assert "$HW3_DATA, else the Hugging Face Hub)" in " ".join(text.split())


def test_quick_run_as_a_script(tmp_path):
    """`python main.py --quick` runs all sweeps on the fixture data and writes every output."""
    data = write_imdb(tmp_path / "imdb")
    plots, cache = tmp_path / "plots", tmp_path / "cache"
    env = {**os.environ, mlp.CACHE_ENV: str(cache)}  # keep features out of the repo's data/
    env.pop(mlp.DATA_ENV, None)
    completed = subprocess.run(
        [sys.executable, "main.py", "--quick", "--data", str(data), "--plots-dir", str(plots)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr

    expected = (STRUCTURE_PLOTS | ACTIVATION_PLOTS | LEARNING_RATE_PLOTS | RESULT_FILES
                | {"activation_functions.png"})
    assert {path.name for path in plots.iterdir()} == expected
    logged = _read_results(plots)
    assert set(logged["sweeps"]) == set(SWEEPS)
    for entry in logged["sweeps"].values():
        assert entry["complete"] is True
        assert entry["settings"]["epochs"] == main.QUICK_EPOCHS
        assert entry["settings"]["sizes"] == [main.QUICK_LIMIT] * 3
    assert "--quick" in logged["run"]["command"]
    assert (plots / "results.md").read_text() in completed.stdout
    assert len(list(cache.glob("features-*.pt"))) == 3  # dev, train, test


def test_worker_processes_record_the_same_results(tmp_path, cli_inputs):
    """--workers 2 trains in worker processes, largest model first, yet records the sweep in its
    own order with the numbers an in-process run gets."""
    data, vectors = cli_inputs
    sweeps = {}
    for workers in ("1", "2"):
        plots = tmp_path / workers
        code = main.main(["structures", "--data", str(data), "--embeddings", str(vectors),
                          "--plots-dir", str(plots), "--limit", "100", "--epochs", "2",
                          "--workers", workers])
        assert code == 0
        sweeps[workers] = _read_results(plots)["sweeps"]["structures"]
    one, two = sweeps["1"], sweeps["2"]
    assert two["complete"]
    assert [c["name"] for c in two["configs"]] == ["None", "512", "512 -> 512", "512 -> 512 -> 512"]
    for in_process, in_worker in zip(one["configs"], two["configs"], strict=True):
        for key in ("train_losses", "dev_losses", "dev_accs"):
            assert in_worker["runs"][0][key] == pytest.approx(in_process["runs"][0][key], rel=1e-5)


def test_each_sweep_records_the_command_that_made_it(tmp_path):
    """A later run of one sweep keeps the other sweep's command next to that sweep's results."""
    settings = {"epochs": 1, "seeds": [42], "sizes": [1, 1, 1]}
    for sweep, command in (("structures", "python main.py"),
                           ("activations", "python main.py activations --seeds 3")):
        log = main.ResultsLog(tmp_path, {"command": command, "machine": "test machine"})
        log.start(sweep, settings)
        log.finish(sweep, [])
    sweeps = _read_results(tmp_path)["sweeps"]
    assert sweeps["structures"]["settings"]["command"] == "python main.py"
    assert sweeps["activations"]["settings"]["command"] == "python main.py activations --seeds 3"
    markdown = (tmp_path / "results.md").read_text()
    structures, activations = markdown.split("## activations")
    assert "`python main.py` on test machine" in structures
    assert "`python main.py activations --seeds 3` on test machine" in activations
