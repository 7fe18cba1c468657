"""The three sweeps as the course skeleton calls them, their results files, the command line."""

import contextlib
import functools
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch
from conftest import PLOTS, PNG, REPO
from tqdm import tqdm

import main
import mlp
from workshop import cli
from workshop.records import Config, RunOptions, Sweep, load_sweeps
from workshop.runs import homework, plots, sweeps


def _options(folder: Path, **given) -> RunOptions:
    """Run options for a quick sweep on the tiny reviews: no feature cache, one process."""
    return RunOptions(**{"num_epochs": 1, "seeds": [1], "workers": 1, "plots_dir": folder,
                         "cache_dir": None, **given})


def test_the_skeletons_main(tmp_path, monkeypatch, tiny_splits, tiny_vectors):
    """Called as the course skeleton's __main__ calls them (the three splits and the word
    vectors), the three sweeps train every configuration, write their plots to ./plots and
    return their results."""
    monkeypatch.chdir(tmp_path)  # the sweeps write to ./plots, as in the skeleton
    # one seed is enough to see it work
    monkeypatch.setattr(homework, "RunOptions", functools.partial(RunOptions, seeds=[mlp.SEED]))
    dev_data, train_data, test_data = tiny_splits
    returned = {
        "structures": main.explore_mlp_structures(dev_data, train_data, test_data, tiny_vectors),
        "activations": main.explore_mlp_activations(dev_data, train_data, test_data,
                                                    tiny_vectors),
        "learning-rates": main.explore_mlp_learning_rates(dev_data, train_data, test_data,
                                                          tiny_vectors),
    }
    plots = tmp_path / "plots"
    assert {path.name for path in plots.iterdir()} == set().union(*PLOTS.values()) | {
        "results.json", "results.md", "mistakes.json", "mistakes.md", "models"}
    assert all((plots / name).read_bytes().startswith(PNG) for names in PLOTS.values()
               for name in names)
    assert sorted(path.name for path in (plots / "models").iterdir()) == [
        f"{sweep}.pt" for sweep in sorted(PLOTS)]  # each sweep's best model, nothing else
    recorded = load_sweeps(plots)
    for sweep, results in returned.items():
        assert recorded[sweep].complete and recorded[sweep].configs == results
        for result in results:
            (run,) = result.runs
            assert len(run.dev_accs) == main.NUM_EPOCHS and 0.5 < run.test_acc <= 1
            assert run.best_dev_acc == max(run.dev_accs)


def _broken_forward(self, inp):
    return self.linears[0](inp.T)  # a student's bug: the batch and feature axes swapped


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bug_in_forward_shows_its_own_traceback(tmp_path, monkeypatch, capsys, workers):
    """A bug in forward propagates with its traceback down to the buggy line (from a worker
    process too), instead of being reported as bad input in one line."""
    monkeypatch.setattr(mlp.SentimentClassifier, "forward", _broken_forward)
    with pytest.raises(RuntimeError, match="cannot be multiplied") as error:
        main.main(["structures", "--quick", "--workers", workers, "--plots-dir",
                   str(tmp_path / "plots"), "--cache-dir", str(tmp_path / "cache")])
    bug_line = _broken_forward.__code__.co_firstlineno + 1
    if workers == "1":
        assert any(str(entry.path) == __file__ and entry.lineno + 1 == bug_line
                   for entry in error.traceback)
    else:  # the worker's traceback is the cause of the error raised here
        assert f'{__file__}", line {bug_line}, in _broken_forward' in str(error.value.__cause__)
    assert "error:" not in capsys.readouterr().err


def _fail_on_run(monkeypatch, fail, number: int) -> list[str]:
    """Make run_mlp train number - 1 configurations, then call fail(); return the names seen."""
    seen, real_run_mlp = [], mlp.run_mlp

    def run_mlp(config, *args, **beside):
        seen.append(tuple(config["hidden_dims"]))
        if len(seen) == number:
            fail()
        return real_run_mlp(config, *args, **beside)

    monkeypatch.setattr(mlp, "run_mlp", run_mlp)
    return seen


def _ctrl_c():
    raise KeyboardInterrupt


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID`, a harness's timeout, docker stop
    time.sleep(10)  # the handler raises before this ends


def _bug():
    raise RuntimeError("boom")


@pytest.mark.parametrize(("fail", "status", "word"), [(_ctrl_c, 130, "interrupted"),
                                                      (_sigterm, 143, "stopped"),
                                                      (_bug, None, None)],
                         ids=["ctrl-c", "sigterm", "bug"])
def test_interruption_keeps_finished_configurations(tmp_path, imdb_dir, monkeypatch, capsys,
                                                    fail, status, word):
    """Ctrl-C (exit 130), SIGTERM (exit 143), each with one line saying what was kept, or a bug
    (its traceback) in the third configuration leaves the two finished ones in results.json,
    the earlier results of other sweeps, and no weights file behind."""
    plots = tmp_path / "plots"
    earlier = {"complete": True, "configs": [], "settings": {
        "command": "python main.py activations", "machine": "m", "epochs": 1, "seeds": [1],
        "sizes": [1, 1, 1]}}
    plots.mkdir()
    (plots / "results.json").write_text(json.dumps({"sweeps": {"activations": earlier}}))
    seen = _fail_on_run(monkeypatch, fail, 3)
    argv = ["structures", "--data", str(imdb_dir), "--limit", "100",
            "--epochs", "1", "--seeds", "1",
            "--workers", "1", "--plots-dir", str(plots), "--cache-dir", str(tmp_path)]
    with pytest.raises(SystemExit if status else RuntimeError) as raised:
        main.main(argv)
    if status:
        assert raised.value.code == status
        assert capsys.readouterr().err.splitlines() == [
            f"{word}: the finished configurations (2 of structures) are in "
            f"{plots / 'results.json'}; the structures plots in {plots} are an earlier run's"]
    assert json.loads((plots / "results.json").read_text())["sweeps"]["activations"] == earlier
    recorded = load_sweeps(plots)
    assert recorded["structures"].complete is False
    assert {result.config.hidden_dims for result in recorded["structures"].configs} == \
        set(seen[:2])
    assert list((plots / "models").glob(".*")) == []  # no weights left behind


def test_an_interruption_before_anything_finished_says_so(tmp_path, imdb_dir, monkeypatch,
                                                           capsys):
    """Ctrl-C in the first configuration: the line says nothing had finished, and no results
    file is written."""
    _fail_on_run(monkeypatch, _ctrl_c, 1)
    plots = tmp_path / "plots"
    with pytest.raises(SystemExit):
        main.main(["structures", "--data", str(imdb_dir), "--limit", "100",
            "--epochs", "1", "--seeds", "1",
                   "--workers", "1", "--plots-dir", str(plots), "--cache-dir", str(tmp_path)])
    assert capsys.readouterr().err.splitlines() == [
        f"interrupted: no configuration had finished; {plots / 'results.json'} is as it was; "
        f"the structures plots in {plots} are an earlier run's"]
    assert not (plots / "results.json").exists()


def test_each_sweep_replaces_only_its_own_results(tmp_path, tiny_splits, tiny_vectors):
    """Running a sweep again replaces its entry in results.json and keeps the other sweeps'."""
    main.explore_mlp_learning_rates(*tiny_splits, tiny_vectors, _options(tmp_path))
    main.explore_mlp_structures(*tiny_splits, tiny_vectors, _options(tmp_path))
    first = load_sweeps(tmp_path)
    main.explore_mlp_learning_rates(*tiny_splits, tiny_vectors, _options(tmp_path, seeds=[5, 6]))
    again = load_sweeps(tmp_path)
    assert again["structures"] == first["structures"]
    assert again["learning-rates"].seeds == [5, 6]
    assert all([run.seed for run in result.runs] == [5, 6]
               for result in again["learning-rates"].configs)
    markdown = (tmp_path / "results.md").read_text()
    assert "## structures" in markdown and "±" in markdown.split("## learning-rates")[1]
    assert "| best epoch, per seed |" in markdown and ", all seeds together |" in markdown


def test_an_earlier_versions_results_stay_and_do_not_stop_a_sweep(tmp_path, tiny_splits,
                                                                    tiny_vectors):
    """results.json holding another sweep in a format this version cannot read: the sweep
    writes its own entry and results.md, and the old entry stays in results.json as it was."""
    old = {"settings": {"epochs": 1}, "complete": True, "configs": [{"name": "x", "runs": [
        {"seed": 1, "dev_accs": [0.5], "diverged": False}]}]}
    (tmp_path / "results.json").write_text(json.dumps({"sweeps": {"old": old}}))
    main.explore_mlp_learning_rates(*tiny_splits, tiny_vectors, _options(tmp_path))
    assert json.loads((tmp_path / "results.json").read_text())["sweeps"]["old"] == old
    assert set(load_sweeps(tmp_path)) == {"learning-rates"}
    assert "## learning-rates" in (tmp_path / "results.md").read_text()


def test_workers_give_the_numbers_of_one_process(tmp_path, tiny_splits, tiny_vectors):
    """Runs trained side by side in worker processes record what one process records."""
    recorded = {}
    for workers in (1, 2):
        main.explore_mlp_structures(*tiny_splits, tiny_vectors, _options(
            tmp_path / str(workers), num_epochs=2, workers=workers))
        recorded[workers] = load_sweeps(tmp_path / str(workers))["structures"].configs
    assert [result.config for result in recorded[2]] == [result.config for result in recorded[1]]
    for one, two in zip(recorded[1], recorded[2], strict=True):
        for key in ("train_losses", "dev_losses", "dev_accs", "test_acc"):
            assert getattr(two.runs[0], key) == pytest.approx(getattr(one.runs[0], key),
                                                              rel=1e-5)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Python 3.12 added the warning at fork")
def test_forking_the_workers_warns_of_nothing(tmp_path, tiny_splits, tiny_vectors):
    """Workers forked while other threads run (torch's, tqdm's; here one of the test's) give
    no DeprecationWarning: the hazards it warns of are handled where the pool starts."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            main.explore_mlp_learning_rates(*tiny_splits, tiny_vectors,
                                            _options(tmp_path, workers=2))
    finally:
        stop.set()
    assert [str(warning.message) for warning in caught if "fork" in str(warning.message)] == []


def _hold_the_progress_bar_lock_or_fail(trial, held: Path, on_epoch) -> None:
    """A sweep's runner: "hold" takes tqdm's lock and keeps it; "fail" raises once it is held."""
    if trial.config.name == "hold":
        with tqdm.get_lock():
            held.touch()
            time.sleep(60)
    for _ in range(500):
        if held.exists():
            break
        time.sleep(0.02)
    raise RuntimeError("a run failed")


def test_progress_bars_still_draw_after_a_run_fails_in_a_worker(tmp_path):
    """A run that fails terminates the other workers, one of them maybe while it draws a progress
    bar; the progress bars of this process (the next sweep's) must not wait for it forever."""
    tqdm(disable=True)  # as featurize's bar is, before the workers start
    configs = [_tiny_config(name) for name in ("hold", "fail")]
    with pytest.raises(RuntimeError, match="a run failed"):
        sweeps.train_sweep("locks", configs, _hold_the_progress_bar_lock_or_fail,
                           tmp_path / "held", _options(tmp_path, workers=2), 1, [])
    bar = threading.Thread(target=lambda: tqdm(range(3), disable=True).close(), daemon=True)
    bar.start()
    bar.join(timeout=10)
    assert not bar.is_alive(), "a progress bar waits for a lock held by a terminated worker"


def _tiny_config(name: str, lr: float = 0.01) -> Config:
    return Config(name, [4], "ReLU", lr=lr, batch_size=32)


def test_a_sweep_trains_as_run_mlp_trains(tmp_path, tiny_splits, tiny_vectors):
    """A sweep's runs are run_mlp's, with each seed the options give, for the sweep's own epochs
    unless the options say how many."""
    sweep = Sweep("own", [_tiny_config("a")], num_epochs=3, subject="tiny configurations")
    results = homework.run_sweep(sweep, tiny_splits, tiny_vectors,
                                 _options(tmp_path, num_epochs=None, seeds=[7, 8]))
    assert [run.seed for run in results[0].runs] == [7, 8]
    assert [len(run.dev_accs) for run in results[0].runs] == [3, 3]
    datasets = [mlp.create_tensor_dataset(split, tiny_vectors) for split in tiny_splits]
    alone = mlp.run_mlp(_tiny_config("a").run_config(3, 8), tiny_vectors, *datasets,
                        progress=False)
    assert results[0].runs[1].train_losses == alone.train_losses
    again = homework.run_sweep(sweep, tiny_splits, tiny_vectors, _options(tmp_path))
    assert [len(run.dev_accs) for run in again[0].runs] == [1]


class _Terminal(io.StringIO):
    """Standard error as a terminal has it: progress bars draw on it."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("workers", [1, 2])
def test_a_terminal_shows_a_bar_of_the_epochs_of_all_runs(tmp_path, tiny_splits, tiny_vectors,
                                                          monkeypatch, capsys, workers):
    """In a terminal a sweep draws one bar that counts the epochs its runs finish, in worker
    processes too, up to all of them (4 configurations x 2 seeds x 3 epochs); in a log that
    is not a terminal it draws nothing."""
    given = {"num_epochs": 3, "seeds": [1, 2], "workers": workers}
    main.explore_mlp_structures(*tiny_splits, tiny_vectors, _options(tmp_path / "log", **given))
    assert "epoch" not in capsys.readouterr().err
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    main.explore_mlp_structures(*tiny_splits, tiny_vectors, _options(tmp_path / "tty", **given))
    counts = [int(count) for count in re.findall(r"structures: .*?(\d+)/24 ", terminal.getvalue())]
    assert counts[0] == 0 and counts[-1] == 24
    assert counts == sorted(counts)


def test_results_record_the_command_line_not_a_callers_arguments(tmp_path, tiny_splits,
                                                                  tiny_vectors, imdb_dir,
                                                                  monkeypatch):
    """results.json names the command line that ran a sweep; a sweep called from Python (a
    grading harness) records none, whatever the harness's own sys.argv."""
    monkeypatch.setattr(sys, "argv", ["grade.py", "--student", "7"])
    main.explore_mlp_activations(*tiny_splits, tiny_vectors, _options(tmp_path))
    assert load_sweeps(tmp_path)["activations"].command is None
    assert "grade.py" not in (tmp_path / "results.md").read_text()
    argv = ["learning-rates", "--data", str(imdb_dir), "--limit", "100",
            "--epochs", "1", "--seeds", "1",
            "--plots-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache")]
    main.main(argv)
    assert load_sweeps(tmp_path)["learning-rates"].command == \
        "python main.py " + " ".join(argv)


def test_results_name_the_cpu_they_ran_on(tmp_path, tiny_splits, tiny_vectors):
    """results.json names the processor (another kind rounds differently), read from Linux's
    /proc/cpuinfo where there is one."""
    main.explore_mlp_activations(*tiny_splits, tiny_vectors, _options(tmp_path))
    machine = load_sweeps(tmp_path)["activations"].machine
    assert sweeps.cpu_name() in machine.split(", ")
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        assert sweeps.cpu_name() == names[0].strip()


def _children(pid: int) -> set[int]:
    """The processes that pid started (from Linux's /proc)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.update(map(int, (task / "children").read_text().split()))
    return found


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill -9", "kill"])
def test_workers_end_with_their_parent(tmp_path, imdb_dir, tiny_vectors_file, signum):
    """`python main.py` killed (kill -9, or kill as a harness's timeout does) leaves no worker
    training on: they end within seconds. SIGTERM ends it as Ctrl-C does: status 143, a line."""
    plots = tmp_path / "plots"
    process = subprocess.Popen(
        [sys.executable, "main.py", "structures", "--data", str(imdb_dir), "--limit", "100",
         "--embeddings", str(tiny_vectors_file), "--epochs", "100000",
         "--workers", "2", "--plots-dir", str(plots), "--cache-dir", str(tmp_path / "cache")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(workers := _children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == 2, process.stderr.read() if process.poll() is not None else workers
    process.send_signal(signum)
    status = process.wait(timeout=30)
    deadline = time.monotonic() + 5
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(map(_alive, workers))
    if signum == signal.SIGTERM:
        assert status == 143
        assert process.stderr.read().splitlines()[-1] == (
            f"stopped: no configuration had finished; {plots / 'results.json'} is as it was; "
            f"the structures plots in {plots} are an earlier run's")


def test_a_diverging_configuration_is_marked_and_the_sweep_goes_on(tmp_path, tiny_splits,
                                                                   tiny_vectors):
    """A learning rate that breaks the loss is recorded as diverged (with its epoch) while the
    other configurations train, and the plots are drawn."""
    sweep = Sweep("lr", [_tiny_config("fine"), _tiny_config("huge", lr=1e30)], num_epochs=2,
                  subject="learning rates")
    results = homework.run_sweep(sweep, tiny_splits, tiny_vectors,
                                 _options(tmp_path, num_epochs=None, seeds=[mlp.SEED]))
    fine, huge = (result.runs[0] for result in results)
    assert fine.diverged_epoch is None and len(fine.dev_accs) == 2
    assert huge.diverged_epoch == 1 and huge.test_acc is None
    assert "huge (diverged in epoch [1])" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "lr_dev_acc.png").read_bytes().startswith(PNG)


# ----------------------------------------------------------------------------------------------
# Command line


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--epochs", "two"], ["everything"],
                                  ["--seeds", "-1"], ["--device", "tpu"], ["--seed", "-1"],
                                  ["--seed", "99999999999999999999999"],
                                  ["--seeds", "2", "--seed", str(2**64 - 1)],
                                  ["--train-size", "0"]])
def test_a_bad_command_line_is_one_line_and_exit_2(capsys, argv):
    """A bad flag or sweep exits with status 2 and one line naming it (a seed, with the range
    of valid seeds)."""
    with pytest.raises(SystemExit) as exit_info:
        main.main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert argv[-1] in err
    assert "--seed" not in argv or "2**64 - 1" in err


@pytest.mark.parametrize("flag", ["--plots-dir", "--cache-dir"])
@pytest.mark.parametrize("where", ["under a file", "a file", "under /proc"])
def test_an_unwritable_folder_fails_before_any_work(tmp_path, capsys, flag, where):
    """A --plots-dir or --cache-dir that cannot be made or written is a one-line usage error,
    before the data loads (--data nowhere would fail there)."""
    (tmp_path / "file").write_text("")
    folder = {"under a file": tmp_path / "file" / "folder", "a file": tmp_path / "file",
              "under /proc": Path("/proc/hw3-test")}[where]
    other = "--cache-dir" if flag == "--plots-dir" else "--plots-dir"
    with pytest.raises(SystemExit) as exit_info:
        main.main([flag, str(folder), other, str(tmp_path / "ok"), "--data", "nowhere"])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"cannot write to {flag} {folder}" in line


def test_each_split_size_is_a_flag_and_too_many_names_it(tmp_path, imdb_dir, capsys):
    """--dev-size, --train-size and --test-size set each split; asking for more reviews than a
    split has is one line that names the flag to lower."""
    argv = ["learning-rates", "--data", str(imdb_dir), "--epochs", "1", "--seeds", "1",
            "--workers", "1",
            "--plots-dir", str(tmp_path), "--cache-dir", str(tmp_path / "cache")]
    main.main([*argv, "--dev-size", "30", "--train-size", "60", "--test-size", "40"])
    assert load_sweeps(tmp_path)["learning-rates"].sizes == [30, 60, 40]
    with pytest.raises(SystemExit) as exit_info:
        main.main([*argv, "--dev-size", "100", "--train-size", "300", "--test-size", "500"])
    assert exit_info.value.code == (f"error: {imdb_dir / 'test.parquet'} has 200 reviews but "
                                    f"500 were asked for; ask for fewer (--test-size)")


def test_a_data_folder_from_the_environment_is_named_as_such(tmp_path, monkeypatch):
    """A missing folder that $HW3_DATA names: the error says where the path came from."""
    monkeypatch.setenv("HW3_DATA", "no/such/folder")
    with pytest.raises(SystemExit) as exit_info:
        main.main(["--plots-dir", str(tmp_path), "--cache-dir", str(tmp_path)])
    assert exit_info.value.code.startswith("error: no data folder no/such/folder (named by "
                                           "$HW3_DATA); pass --data DIR")


def test_a_quick_run_leaves_a_real_runs_results_alone(tmp_path, imdb_dir, monkeypatch, capsys):
    """--quick without --plots-dir writes to plots/quick/, and says so; plots/ keeps its
    results."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "results.json").write_text('{"sweeps": {}}')
    main.main(["structures", "--quick", "--data", str(imdb_dir), "--workers", "1",
               "--cache-dir", str(tmp_path / "cache")])
    assert (tmp_path / "plots" / "results.json").read_text() == '{"sweeps": {}}'
    assert load_sweeps(tmp_path / "plots" / "quick")["structures"].complete
    assert capsys.readouterr().out.splitlines()[-1].endswith("see plots/quick/results.md")


@pytest.mark.parametrize("flag", ["--data", "--embeddings"])
def test_bad_input_files_are_one_line_and_exit_1(tmp_path, capsys, flag):
    """A missing data folder or word-vector file ends with one line naming it (status 1)."""
    with pytest.raises(SystemExit) as exit_info:
        main.main([flag, str(tmp_path / "missing"), "--plots-dir", str(tmp_path)])
    message = exit_info.value.code  # sys.exit(message): status 1, the message on stderr
    assert message.startswith("error: ") and "\n" not in message
    assert str(tmp_path / "missing") in message


def test_quick_run_as_a_script(tmp_path):
    """`python main.py structures --quick` runs on the bundled data, writes the sweep's plots,
    results.json and results.md, and says what its numbers are."""
    plots = tmp_path / "plots"
    env = {key: value for key, value in os.environ.items() if key != "HW3_DATA"}
    done = subprocess.run([sys.executable, "main.py", "structures", "--quick", "--plots-dir",
                           str(plots), "--cache-dir", str(tmp_path / "cache")],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert {path.name for path in plots.iterdir()} == set(PLOTS["structures"]) | {
        "results.json", "results.md", "mistakes.json", "mistakes.md", "models"}
    entry = load_sweeps(plots)["structures"]
    assert entry.complete and entry.seeds == [mlp.SEED] and entry.epochs == cli.QUICK_EPOCHS
    assert entry.sizes == [cli.QUICK_LIMIT] * 3
    assert entry.command == (f"python main.py structures --quick --plots-dir {plots} "
                             f"--cache-dir {tmp_path / 'cache'}")
    assert "accuracies near 0.5 are expected" in done.stdout
    assert torch.load(next((tmp_path / "cache").glob("features-*.pt")), weights_only=True)


@pytest.mark.parametrize(("typed", "meant"), [("structure", "structures"),
                                               ("learning-rate", "learning-rates"),
                                               ("predcit", "predict"), ("beyonf", "beyond")])
def test_a_mistyped_command_gets_a_suggestion(capsys, typed, meant):
    """A command that is nearly a real one: one line, exit 2, with the command meant."""
    with pytest.raises(SystemExit) as exit_info:
        main.main([typed])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert f"invalid choice: '{typed}'" in line and f"did you mean '{meant}'?" in line


@pytest.mark.parametrize("spelling", ["learning_rates", "three_layer_learning_rates"])
def test_the_plots_spelling_of_a_sweep_is_a_command(tmp_path, spelling):
    """learning_rates (as in learning_rates_dev_acc.png) runs the learning-rates sweep."""
    args = cli.parse_args([spelling, "--quick", "--plots-dir", str(tmp_path)], main.SWEEPS)
    assert args.command == spelling.replace("_", "-") and args.run.func is cli.run_training


@pytest.mark.parametrize(("hidden_dims", "words"), [
    ([], "no hidden layer (a linear model)"), ([512], "one hidden layer of 512"),
    ([512, 512, 512], "three hidden layers of 512"), ([64, 32], "two hidden layers of 64 -> 32")])
def test_plot_titles_say_the_structure_in_words(hidden_dims, words):
    """The per-structure loss plots are titled in plain English, not "hidden layers None"."""
    assert plots.layers_in_words(hidden_dims) == words


def test_the_course_skeletons_own_sweep_drives_this_mlp(tmp_path, monkeypatch, tiny_splits,
                                                        tiny_vectors):
    """A main.py in the course skeleton's shape (EasyDict configurations, gensim KeyedVectors,
    run_mlp's six values unpacked, plots into the current folder) trains this project's mlp.py:
    its structures sweep writes its six plots and each configuration's best weights."""
    gensim = pytest.importorskip("gensim")
    skeleton = importlib.util.spec_from_file_location(
        "skeletons_main", REPO / "tests" / "submissions" / "completion" / "main.py")
    module = importlib.util.module_from_spec(skeleton)
    skeleton.loader.exec_module(module)  # its `from mlp import ...` is this project's mlp
    assert module.run_mlp is mlp.run_mlp
    vectors = gensim.models.KeyedVectors(tiny_vectors.vector_size)
    vectors.add_vectors(tiny_vectors.index_to_key, tiny_vectors.vectors)
    monkeypatch.chdir(tmp_path)
    module.explore_mlp_structures(*tiny_splits, vectors)
    names = ["None", "512", "512_512", "512_512_512"]
    assert {path.name for path in tmp_path.iterdir()} == {
        *(f"mlp_structure_{name}_loss.png" for name in names),
        "all_mlp_structures_acc.png", "all_mlp_structures_loss.png",
        *(f"model_hidden_{name}.pth" for name in names)}
    assert all(path.read_bytes().startswith(PNG) for path in tmp_path.glob("*.png"))
