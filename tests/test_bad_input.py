"""Bad input, typos, divergence and interruptions (tracker issue 5): clear errors, no lost work.

Each case must give a one-line message that says what was wrong and what to do, a distinct exit
code from the command line (2 usage, 3 bad input, 4 plots folder not writable, 1 unexpected,
130 interrupted), and must never leave a half-written or lost result behind. Most checks call
the library or main.main() in-process; two run `python main.py` for real (exit codes, Ctrl-C).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import main
import mlp

REPO = Path(__file__).resolve().parents[1]
# Words that the shared tiny_vectors fixture knows: reviews made of them get features.
GOOD, BAD = "great", "awful"


def reviews(n_rows: int) -> dict:
    """n_rows unique reviews alternating negative/positive, every one with a known word."""
    return {
        "text": [f"{GOOD if i % 2 else BAD} movie number {i}" for i in range(n_rows)],
        "label": [i % 2 for i in range(n_rows)],
    }


def write_table(path: Path, columns: dict) -> Path:
    """Write columns as a parquet, csv or jsonl file, chosen by the suffix of path."""
    frame = pd.DataFrame(columns)
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


def write_splits(folder: Path, train: dict, test: dict, fmt: str = "parquet") -> Path:
    """Write train and test tables into folder (created); return folder."""
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder / f"train.{fmt}", train)
    write_table(folder / f"test.{fmt}", test)
    return folder


def load(folder: Path, dev: int = 4, train: int = 4, test: int = 4) -> tuple[dict, dict, dict]:
    """load_data_mlp with small split sizes."""
    return mlp.load_data_mlp(folder, dev_size=dev, train_size=train, test_size=test)


def one_line(text: str) -> str:
    """The text without its trailing newline, after checking it is a single line."""
    text = text.rstrip("\n")
    assert text, "expected a message"
    assert "\n" not in text, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return text


def data_error(excinfo: pytest.ExceptionInfo) -> str:
    """The message of a raised DataError, checked to be one line."""
    return one_line(str(excinfo.value))


def cli_args(imdb_dir: Path, vectors_file: Path, plots: Path, *extra: str) -> list[str]:
    """main.py arguments for a quick run of the structures sweep on the fixture data."""
    return ["structures", "--data", str(imdb_dir), "--embeddings", str(vectors_file),
            "--plots-dir", str(plots), "--quick", *extra]


# ----------------------------------------------------------------------------------------------
# --data that does not exist, or holds no usable train/test files


def test_missing_data_folder_names_the_path(tmp_path):
    """A --data folder that does not exist is named in the error."""
    missing = tmp_path / "no_such_folder"
    with pytest.raises(mlp.DataError, match="does not exist") as excinfo:
        load(missing)
    assert str(missing) in data_error(excinfo)


def test_missing_data_folder_from_the_command_line(tmp_path):
    """`python main.py --data MISSING` exits 3 with one stderr line naming the path."""
    missing = tmp_path / "typo_imdb"
    done = subprocess.run(
        [sys.executable, "main.py", "--data", str(missing), "--plots-dir", str(tmp_path / "p")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == main.EXIT_BAD_INPUT, done.stderr
    assert str(missing) in one_line(done.stderr)


@pytest.mark.parametrize("layout", ["empty folder", "train only", "wrong names", "a file"])
def test_folder_without_train_and_test_lists_accepted_layouts(tmp_path, layout):
    """A folder (or file) without both train and test data gets the list of accepted layouts."""
    source = tmp_path / "data"
    source.mkdir()
    if layout == "train only":
        write_table(source / "train.parquet", reviews(8))
    elif layout == "wrong names":
        write_table(source / "imdb_train.csv", reviews(8))
        write_table(source / "imdb_test.csv", reviews(8))
    elif layout == "a file":
        source = write_table(tmp_path / "train.csv", reviews(8))
    with pytest.raises(mlp.DataError) as excinfo:
        load(source)
    message = data_error(excinfo)
    assert mlp.ACCEPTED_LAYOUTS in message
    assert str(source) in message


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_unreadable_table_file_is_named(tmp_path, fmt):
    """A train/test file that its parser rejects is named in a one-line DataError."""
    folder = tmp_path / "data"
    folder.mkdir()
    broken = {"parquet": b"PAR1 not really parquet", "csv": b'text,label\n"never closed,1\n',
              "jsonl": b'{"text": "fine", "label": 1}\nnot json\n'}[fmt]
    (folder / f"train.{fmt}").write_bytes(broken)
    write_table(folder / f"test.{fmt}", reviews(8))
    with pytest.raises(mlp.DataError, match="cannot read") as excinfo:
        load(folder, dev=1, train=1, test=1)
    assert str(folder / f"train.{fmt}") in data_error(excinfo)


# ----------------------------------------------------------------------------------------------
# Columns and labels


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
@pytest.mark.parametrize(("missing", "renamed"), [("text", "review"), ("label", "sentiment")])
def test_missing_column_names_it_and_the_columns_found(tmp_path, fmt, missing, renamed):
    """A table without a text or label column names that column and the columns it has."""
    data = reviews(12)
    data[renamed] = data.pop(missing)
    folder = write_splits(tmp_path / "data", data, data, fmt)
    with pytest.raises(mlp.DataError, match=f"no '{missing}' column") as excinfo:
        load(folder)
    message = data_error(excinfo)
    assert renamed in message
    assert "columns found" in message


def test_missing_column_in_test_only_names_the_test_split(tmp_path):
    """Train and test are checked separately: only test lacking 'text' is reported as such."""
    test = reviews(8)
    test["review"] = test.pop("text")
    folder = write_splits(tmp_path / "data", reviews(12), test, "csv")
    with pytest.raises(mlp.DataError, match="the test split has no 'text' column") as excinfo:
        load(folder)
    assert "review" in data_error(excinfo)


@pytest.mark.parametrize(
    ("fmt", "labels"),
    [
        ("parquet", ["POS", "neg", "Pos", "NEG"]),
        ("csv", ["pos", "neg", " Pos ", "neg"]),
        ("jsonl", ["1", "0", "pos", "0"]),
    ],
)
def test_string_labels_map_to_0_and_1(tmp_path, fmt, labels):
    """Labels pos/neg in any case (and quoted 0/1) become 1/0."""
    data = {"text": [f"{GOOD} review {i}" for i in range(12)], "label": labels * 3}
    expected = {1 if str(label).strip().lower() in ("pos", "1") else 0 for label in labels}
    dev, train, test = load(write_splits(tmp_path / "data", data, data, fmt))
    for split in (dev, train, test):
        assert set(split["label"]) <= expected
        assert all(type(label) is int for label in split["label"])


def test_string_train_labels_with_integer_test_labels(tmp_path):
    """Train with 'pos'/'neg' and test with 0/1 both load (no cast of one split to the other)."""
    train = reviews(12)
    train["label"] = ["pos" if label else "neg" for label in train["label"]]
    test = reviews(8)
    dev, train_split, test_split = load(write_splits(tmp_path / "data", train, test))
    for split in (dev, train_split, test_split):
        assert set(split["label"]) == {0, 1}


@pytest.mark.parametrize(
    ("fmt", "bad", "shown"),
    [
        ("parquet", 2, "label 2 "),
        ("csv", -1, "label -1 "),
        ("jsonl", "positive", "label 'positive' "),
        ("parquet", 0.5, "label 0.5 "),
    ],
)
def test_other_labels_fail_showing_the_value(tmp_path, fmt, bad, shown):
    """A label that is not 0/1 or pos/neg fails with the offending value in the message."""
    data = reviews(12)
    data["label"] = [bad if i % 4 == 0 else label for i, label in enumerate(data["label"])]
    if isinstance(bad, str):  # one column type: the other labels as strings too
        data["label"] = [str(label) for label in data["label"]]
    folder = write_splits(tmp_path / "data", data, reviews(8), fmt)
    with pytest.raises(mlp.DataError, match="fix the label column") as excinfo:
        load(folder, dev=4, train=8)  # every train row, so the bad ones are among them
    assert shown in data_error(excinfo)


# ----------------------------------------------------------------------------------------------
# Empty, whitespace-only and missing review text


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_empty_and_missing_texts_are_skipped_and_counted(tmp_path, fmt, tiny_vectors, capfd):
    """Empty, blank and null reviews are dropped with one counting line; no NaN features."""
    data = reviews(16)
    blanks = ["", "   ", None, "\n\t "]
    data["text"][:4] = blanks  # blank reviews in dev, train and test alike
    dev, train, test = load(write_splits(tmp_path / "data", data, data, fmt),
                            dev=4, train=12, test=16)
    assert all(isinstance(text, str) for text in dev["text"] + train["text"] + test["text"])
    capfd.readouterr()
    dataset = mlp.create_tensor_dataset(test, tiny_vectors, cache_dir=None, progress=False)
    err = one_line(capfd.readouterr().err)
    assert err.startswith(f"skipped {len(blanks)} of 16 reviews")
    features, labels = dataset.tensors
    assert len(features) == len(labels) == 16 - len(blanks)
    assert torch.isfinite(features).all()


@pytest.mark.parametrize("text", ["", "   ", "\n", "zzz qqq"])
def test_featurize_returns_none_without_known_words(text, tiny_vectors):
    """featurize gives None (not a NaN mean of nothing) for text with no known word."""
    assert mlp.featurize(text, tiny_vectors) is None


def test_all_texts_unusable_is_a_clear_error(tiny_vectors):
    """A split where no review has a known word fails with a DataError, not a tensor crash."""
    raw = {"text": ["", "  ", "zzz"], "label": [0, 1, 0]}
    with pytest.raises(mlp.DataError, match="none of the 3 reviews") as excinfo:
        mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=None, progress=False)
    data_error(excinfo)


# ----------------------------------------------------------------------------------------------
# Split sizes


@pytest.mark.parametrize(
    ("sizes", "split", "available", "requested"),
    [((8, 8, 4), "train", 12, 16), ((4, 4, 9), "test", 8, 9)],
)
def test_split_smaller_than_requested_states_both_sizes(tmp_path, sizes, split, available,
                                                        requested):
    """Asking for more reviews than a split has states the available and requested counts."""
    folder = write_splits(tmp_path / "data", reviews(12), reviews(8))
    with pytest.raises(mlp.DataError, match=f"the {split} split") as excinfo:
        load(folder, *sizes)
    message = data_error(excinfo)
    assert f"has {available} reviews but {requested} were requested" in message


# ----------------------------------------------------------------------------------------------
# Word-vector text files


@pytest.mark.parametrize(
    ("lines", "bad_line"),
    [
        (["good 0.1 0.2 0.3", "bad 0.4 oops 0.6", "film 0.7 0.8 0.9"], 2),  # not a number
        (["good 0.1 0.2 0.3", "bad 0.4 0.5 0.6", "film 0.7 0.8"], 3),  # dimension 2, not 3
        (["3 3", "good 0.1 0.2 0.3", "bad 0.4 0.5"], 3),  # shorter than the header says
        (["2 4", "good 0.1 0.2 0.3", "bad 0.4 0.5 0.6"], 2),  # header says 4
        (["good 0.1 0.2 0.3", "bad  0.4 0.5 0.6"], 2),  # double space: an empty field
    ],
)
def test_malformed_vector_line_is_reported_with_its_number(tmp_path, lines, bad_line):
    """A malformed line or inconsistent dimension in a vectors file is named by line number."""
    path = tmp_path / "vectors.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(mlp.DataError, match="fix or remove that line") as excinfo:
        mlp.load_embeddings(path)
    assert f"{path}, line {bad_line}:" in data_error(excinfo)


def test_binary_vector_file_is_reported_with_its_line(tmp_path):
    """A binary (word2vec .bin-like) file is rejected at the line that is not UTF-8."""
    path = tmp_path / "vectors.bin"
    path.write_bytes(b"2 3\ngood " + np.ones(3, np.float32).tobytes() + b"\xff\xfe\n")
    with pytest.raises(mlp.DataError, match="not UTF-8 text") as excinfo:
        mlp.load_embeddings(path)
    assert f"{path}, line 2:" in data_error(excinfo)


def test_non_finite_vector_is_rejected(tmp_path):
    """A vector holding nan or inf is refused (it would make NaN features), naming the word."""
    path = tmp_path / "vectors.txt"
    path.write_text("good 0.1 0.2\nbad nan 0.3\n", encoding="utf-8")
    with pytest.raises(mlp.DataError, match="nan or inf") as excinfo:
        mlp.load_embeddings(path)
    assert "'bad'" in data_error(excinfo)


def test_missing_vector_file_names_the_path(tmp_path):
    """--embeddings pointing nowhere names the path."""
    path = tmp_path / "glove.txt"
    with pytest.raises(mlp.DataError, match="does not exist") as excinfo:
        mlp.load_embeddings(path)
    assert str(path) in data_error(excinfo)


def test_malformed_vector_file_from_the_command_line(tmp_path, imdb_dir, capsys):
    """main.py with a broken --embeddings file exits 3 with the line number on one line."""
    path = tmp_path / "vectors.txt"
    path.write_text("great 0.1 0.2\nawful 0.3\n", encoding="utf-8")
    code = main.main(cli_args(imdb_dir, path, tmp_path / "plots"))
    assert code == main.EXIT_BAD_INPUT
    assert f"{path}, line 2:" in one_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------------------
# Model and training settings


@pytest.mark.parametrize("name", ["Swish", "relu6", "", None])
def test_unknown_activation_lists_the_valid_ones(name):
    """An unknown activation name is a ValueError listing every valid name."""
    with pytest.raises(ValueError, match="unknown activation") as excinfo:
        mlp.SentimentClassifier(8, 2, [4], activation=name)
    message = one_line(str(excinfo.value))
    assert all(valid in message for valid in mlp.ACTIVATION_NAMES)


@pytest.mark.parametrize("hidden_dims", [[0], [-5], [512, 0], [2.5]])
def test_non_positive_hidden_size_is_rejected(hidden_dims):
    """Hidden sizes must be positive integers; the error says so and shows the sizes."""
    with pytest.raises(ValueError, match="must be positive integers") as excinfo:
        mlp.SentimentClassifier(8, 2, hidden_dims)
    assert str(hidden_dims) in one_line(str(excinfo.value))


@pytest.mark.parametrize(("key", "value"), [("lr", 0), ("lr", -0.01), ("lr", math.nan),
                                            ("batch_size", 0), ("batch_size", -64)])
def test_non_positive_lr_or_batch_size_is_rejected(tiny_datasets, tiny_vectors, key, value):
    """run_mlp refuses lr <= 0 (or NaN) and batch_size <= 0 before training."""
    config = {"hidden_dims": [4], "activation": "ReLU", "lr": 0.01, "batch_size": 64,
              "num_epochs": 1, "progress": False, key: value}
    with pytest.raises(ValueError, match=f"config\\['{key}'\\] must be positive"):
        mlp.run_mlp(config, tiny_vectors, *tiny_datasets)


def test_create_dataloader_rejects_non_positive_batch_size(tiny_datasets):
    """create_dataloader names the bad batch size."""
    with pytest.raises(ValueError, match="positive integer, got 0"):
        mlp.create_dataloader(tiny_datasets[0], 0)


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["structure"], ["invalid choice: 'structure'", "structures", "learning-rates"]),
        (["--epochs", "0"], ["--epochs: must be a positive integer, got '0'"]),
        (["--seeds", "-2"], ["--seeds: must be a positive integer, got '-2'"]),
        (["--train-size", "lots"], ["--train-size: must be a positive integer, got 'lots'"]),
        (["--device", "gpu"], ["invalid choice: 'gpu'", "cpu", "cuda", "mps"]),
        (["structures", "--plot-dir", "out"], ["unrecognized arguments: --plot-dir out"]),
    ],
)
def test_command_line_typos_are_usage_errors(argv, shown, capsys):
    """Typos and out-of-range flags exit 2 with one line that shows what is valid."""
    with pytest.raises(SystemExit) as excinfo:
        main.main(argv)
    assert excinfo.value.code == main.EXIT_USAGE
    message = one_line(capsys.readouterr().err)
    assert all(part in message for part in shown)
    assert message.endswith("(see --help)")


# ----------------------------------------------------------------------------------------------
# Divergence

BREAK_LR = 0.0123  # the learning rate that marks a run for _BreakingAdam
BREAK_STEP = 11  # with 300 training reviews and batch 64 (5 steps per epoch): in epoch 3


class _BreakingAdam(torch.optim.Adam):
    """Adam that sets every weight to inf at step BREAK_STEP when lr is BREAK_LR.

    Real learning rates diverge either in the first epoch or not at all on the tiny data, so
    this stands in for a run that blows up part-way, at a known epoch.
    """

    def step(self, closure=None):
        loss = super().step(closure)
        self.steps = getattr(self, "steps", 0) + 1
        if self.defaults["lr"] == BREAK_LR and self.steps == BREAK_STEP:
            with torch.no_grad():
                for group in self.param_groups:
                    for param in group["params"]:
                        param.fill_(math.inf)
        return loss


def test_huge_learning_rate_stops_at_the_first_non_finite_loss(tiny_datasets, tiny_vectors,
                                                               capfd):
    """lr=1e30 makes the loss non-finite in epoch 1: no epoch recorded, test scores NaN."""
    config = {"hidden_dims": [16], "activation": "ReLU", "lr": 1e30, "batch_size": 64,
              "num_epochs": 5, "progress": False, "device": "cpu"}
    *lists, test_loss, test_acc = mlp.run_mlp(config, tiny_vectors, *tiny_datasets)
    assert lists == [[], [], [], []]
    assert math.isnan(test_loss)
    assert math.isnan(test_acc)
    assert "in epoch 1; stopping this run" in one_line(capfd.readouterr().err)


def test_broken_weights_after_the_last_step_stop_before_a_nan_dev_loss(tiny_datasets,
                                                                       tiny_vectors, monkeypatch):
    """Weights broken by an epoch's last step end training there; no NaN enters the lists."""
    monkeypatch.setattr(torch.optim, "Adam", _BreakingAdam)
    monkeypatch.setattr(sys.modules[__name__], "BREAK_STEP", 2)  # one step per epoch below
    config = {"hidden_dims": [16], "activation": "ReLU", "lr": BREAK_LR, "batch_size": 300,
              "num_epochs": 5, "progress": False, "device": "cpu"}
    *lists, test_loss, test_acc = mlp.run_mlp(config, tiny_vectors, *tiny_datasets)
    assert [len(values) for values in lists] == [1, 1, 1, 1]
    assert all(math.isfinite(value) for values in lists for value in values)
    # Test is scored with the epoch-1 weights, the best (and only) dev ones.
    assert math.isfinite(test_loss)
    assert math.isfinite(test_acc)


def test_sweep_marks_diverged_configs_and_finishes_the_others(tiny_datasets, tiny_vectors,
                                                              tmp_path, monkeypatch):
    """A sweep records diverged configs with their epoch, trains the rest, and plots them all."""
    monkeypatch.setattr(torch.optim, "Adam", _BreakingAdam)
    saved = {}
    real_save = mlp._save_figure

    def keep_figure(fig, path):
        saved[Path(path).name] = fig
        real_save(fig, path)

    monkeypatch.setattr(mlp, "_save_figure", keep_figure)
    configs = [
        {"name": "lr 0.01", "hidden_dims": [16], "activation": "ReLU", "lr": 0.01},
        {"name": "lr 1e30", "hidden_dims": [16], "activation": "ReLU", "lr": 1e30},
        {"name": "breaks", "hidden_dims": [16], "activation": "ReLU", "lr": BREAK_LR},
        {"name": "sigmoid", "hidden_dims": [16], "activation": "Sigmoid", "lr": 0.01},
    ]
    configs = [{**config, "batch_size": 64} for config in configs]
    options = main.SweepOptions(epochs=4, plots_dir=tmp_path, progress=False, device="cpu")
    sweep = main.Sweep("learning-rates", configs, main.SWEEPS["learning-rates"].plot)
    main.run_sweeps([sweep], tiny_datasets, tiny_vectors, options)

    def no_nan(constant):
        raise AssertionError(f"results.json holds {constant}")

    stored = json.loads((tmp_path / "results.json").read_text(), parse_constant=no_nan)
    sweep = stored["sweeps"]["learning-rates"]
    assert sweep["complete"]
    runs = {config["name"]: config["runs"][0] for config in sweep["configs"]}
    assert [(run["diverged"], run["diverged_epoch"]) for run in runs.values()] == [
        (False, None), (True, 1), (True, 3), (False, None)]
    assert [len(run["dev_losses"]) for run in runs.values()] == [4, 0, 2, 4]
    assert runs["lr 1e30"]["test_acc"] is None
    assert runs["breaks"]["best_epoch"] in (1, 2)
    assert "diverged, epoch [3]" in (tmp_path / "results.md").read_text()
    for name in ("learning_rates_dev_acc.png", "learning_rates_dev_loss.png"):
        lines = saved[name].axes[0].get_lines()
        # One line per configuration, each ending at its last finished epoch.
        assert [line.get_label() for line in lines] == [config["name"] for config in configs]
        assert [len(line.get_xdata()) for line in lines] == [4, 0, 2, 4]
        assert (tmp_path / name).stat().st_size > 0


def test_loss_plot_of_a_run_without_a_finished_epoch(tmp_path):
    """visualize_epochs and visualize_configs accept configurations with no finished epoch."""
    mlp.visualize_epochs([], [], tmp_path / "loss.png")
    mlp.visualize_configs([[], [[0.5, 0.6]]], ["diverged", "fine"], "dev accuracy",
                          tmp_path / "acc.png")
    assert (tmp_path / "loss.png").stat().st_size > 0
    assert (tmp_path / "acc.png").stat().st_size > 0


# ----------------------------------------------------------------------------------------------
# Interrupted or failing sweeps keep the finished configurations


def _fail_on_second_config(monkeypatch, error: BaseException) -> None:
    """Make main's run_mlp train the first configuration, then raise error."""
    calls = []
    real_run_mlp = main.run_mlp

    def run_mlp(*args, **kwargs):
        calls.append(args[0]["name"])
        if len(calls) == 2:
            raise error
        return real_run_mlp(*args, **kwargs)

    monkeypatch.setattr(main, "run_mlp", run_mlp)


@pytest.mark.parametrize(
    ("error", "code", "start"),
    [
        (KeyboardInterrupt(), main.EXIT_INTERRUPTED, "interrupted: "),
        (RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB"), main.EXIT_FAILED,
         "error: RuntimeError: CUDA out of memory. Tried to allocate 2 GiB"),
        (ValueError("something odd"), main.EXIT_BAD_INPUT, "error: something odd"),
    ],
)
def test_failure_mid_sweep_keeps_finished_configs(imdb_dir, tiny_vectors_file, tmp_path,
                                                  monkeypatch, capsys, error, code, start):
    """Ctrl-C or an error in config 2 keeps config 1 and earlier sweeps; one line says where."""
    plots = tmp_path / "plots"
    plots.mkdir()
    earlier = {"run": {}, "sweeps": {"activations": {
        "complete": True, "settings": {"epochs": 1, "seeds": [42], "sizes": [1, 1, 1]},
        "configs": []}}}
    (plots / "results.json").write_text(json.dumps(earlier))
    _fail_on_second_config(monkeypatch, error)
    assert main.main(cli_args(imdb_dir, tiny_vectors_file, plots)) == code
    message = one_line(capsys.readouterr().err)
    assert message.startswith(start)
    assert f"kept in {plots / 'results.json'}" in message
    stored = json.loads((plots / "results.json").read_text())
    assert stored["sweeps"]["activations"] == earlier["sweeps"]["activations"]
    structures = stored["sweeps"]["structures"]
    assert not structures["complete"]
    assert [config["name"] for config in structures["configs"]] == ["None"]
    assert len(structures["configs"][0]["runs"][0]["dev_accs"]) == main.QUICK_EPOCHS
    assert "structures (incomplete: interrupted)" in (plots / "results.md").read_text()
    assert not list(plots.glob(".*.tmp"))


def test_failure_keeps_earlier_results_of_sweeps_not_yet_reached(imdb_dir, tiny_vectors_file,
                                                                  tmp_path, monkeypatch):
    """`python main.py` queues every sweep at once; Ctrl-C during the first sweep still leaves
    the later sweeps' results from an earlier run in results.json."""
    plots = tmp_path / "plots"
    assert main.main(cli_args(imdb_dir, tiny_vectors_file, plots)[1:]) == 0  # all three sweeps
    earlier = json.loads((plots / "results.json").read_text())["sweeps"]
    _fail_on_second_config(monkeypatch, KeyboardInterrupt())
    assert main.main(cli_args(imdb_dir, tiny_vectors_file, plots)[1:]) == main.EXIT_INTERRUPTED
    stored = json.loads((plots / "results.json").read_text())["sweeps"]
    assert stored["activations"] == earlier["activations"]
    assert stored["learning-rates"] == earlier["learning-rates"]
    assert not stored["structures"]["complete"]
    assert [config["name"] for config in stored["structures"]["configs"]] == ["None"]


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGINT to send")
def test_ctrl_c_in_a_real_run(imdb_dir, tiny_vectors_file, tmp_path):
    """SIGINT to `python main.py` after one configuration: exit 130, that config is kept."""
    plots = tmp_path / "plots"
    results = plots / "results.json"
    env = {**os.environ, mlp.CACHE_ENV: str(tmp_path / "cache")}
    # Enough epochs that the second configuration is still training when the signal lands.
    argv = [sys.executable, "main.py", "structures", "--data", str(imdb_dir), "--embeddings",
            str(tiny_vectors_file), "--plots-dir", str(plots), "--limit", "200",
            "--epochs", "50"]
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        # A configuration's result line is printed right after it is saved: wait for the first.
        printed = [proc.stdout.readline()]
        while printed[-1] and "structures |" not in printed[-1]:
            printed.append(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == main.EXIT_INTERRUPTED, stderr
    assert one_line(stderr) == f"interrupted: finished configurations are kept in {results}"
    structures = json.loads(results.read_text())["sweeps"]["structures"]
    assert not structures["complete"]
    finished = [config["name"] for config in structures["configs"]]
    # Worker processes start the largest models first, so any of them may have finished first.
    assert 1 <= len(finished) < 4
    assert set(finished) <= {"None", "512", "512 -> 512", "512 -> 512 -> 512"}
    # Every configuration that printed its result line was saved.
    assert ("".join(printed) + stdout).count("structures |") == len(finished)


# ----------------------------------------------------------------------------------------------
# Feature cache and checkpoints


def _tamper_features(path: Path) -> None:
    """Change one cached feature but keep the stored checksum (bit rot inside the tensor)."""
    cached = torch.load(path, weights_only=True)
    cached["features"][0, 0] += 1.0
    torch.save(cached, path)


class Payload:
    """An object that is not a tensor: a weights-only load must refuse to unpickle it."""

    def __reduce__(self):
        return (_record_unpickling, ("unpickled",))


UNPICKLED: list[str] = []


def _record_unpickling(value: str) -> str:
    """Called only if a pickle of Payload is really loaded."""
    UNPICKLED.append(value)
    return value


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tamper", "pickle", "empty"])
def test_corrupt_feature_cache_is_rebuilt_with_one_warning(tmp_path, tiny_vectors, capfd,
                                                            damage):
    """A damaged cache file is detected, reported on one line, rebuilt, and valid afterwards."""
    raw = reviews(20)
    first = mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=tmp_path, progress=False)
    (path,) = tmp_path.glob("features-*.pt")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x80\x02 not a torch file" * 10)
    elif damage == "tamper":
        _tamper_features(path)
    elif damage == "pickle":
        torch.save({"features": Payload()}, path)
    else:
        path.write_bytes(b"")
    capfd.readouterr()
    rebuilt = mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=tmp_path, progress=False)
    warning = one_line(capfd.readouterr().err)
    assert warning.startswith(f"warning: feature cache {path} is corrupt")
    assert warning.endswith("rebuilding it")
    assert not UNPICKLED
    for old, new in zip(first.tensors, rebuilt.tensors, strict=True):
        assert torch.equal(old, new)
    again = mlp.create_tensor_dataset(raw, tiny_vectors, cache_dir=tmp_path, progress=False)
    assert capfd.readouterr().err == ""  # the rebuilt file is valid: no second warning
    assert torch.equal(again.tensors[0], first.tensors[0])
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left


@pytest.fixture
def model() -> mlp.SentimentClassifier:
    """A small classifier for checkpoint tests."""
    torch.manual_seed(0)
    return mlp.SentimentClassifier(8, 2, [4], "ReLU")


def test_checkpoint_round_trip(model, tmp_path):
    """save_checkpoint then load_checkpoint restores the weights (the happy path)."""
    path = tmp_path / "best.pt"
    mlp.save_checkpoint(model, path)
    other = mlp.SentimentClassifier(8, 2, [4], "ReLU")
    mlp.load_checkpoint(other, path)
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, other.state_dict()[name])


@pytest.mark.parametrize("damage", ["garbage", "truncate", "pickle", "other model"])
def test_corrupt_checkpoint_is_a_one_line_error(model, tmp_path, monkeypatch, damage):
    """Damaged or foreign checkpoints raise a one-line DataError; loading is weights-only."""
    path = tmp_path / "best.pt"
    if damage == "garbage":
        path.write_bytes(b"\x80\x02garbage" * 20)
    elif damage == "truncate":
        mlp.save_checkpoint(model, path)
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "pickle":
        torch.save(Payload(), path)
    else:
        mlp.save_checkpoint(mlp.SentimentClassifier(8, 2, [16, 16]), path)
    loads = []
    real_load = torch.load

    def spy(*args, **kwargs):
        loads.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    with pytest.raises(mlp.DataError, match="delete it and train again") as excinfo:
        mlp.load_checkpoint(model, path)
    message = data_error(excinfo)
    assert message.startswith(f"checkpoint {path} cannot be loaded")
    assert len(message) < 400
    assert loads == [True]
    assert not UNPICKLED


# ----------------------------------------------------------------------------------------------
# Plots folder and atomic writes


@pytest.mark.parametrize("where", ["under a file", "is a file"])
def test_unwritable_plots_folder_fails_before_training(tmp_path, monkeypatch, capsys, where):
    """A plots folder that cannot be created exits 4 naming it, before any data is loaded."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    plots = blocker / "plots" if where == "under a file" else blocker

    def must_not_run(*args, **kwargs):
        raise AssertionError("data were loaded although the plots folder is unusable")

    monkeypatch.setattr(main, "load_data_mlp", must_not_run)
    code = main.main(["structures", "--plots-dir", str(plots), "--quick"])
    assert code == main.EXIT_UNWRITABLE
    message = one_line(capsys.readouterr().err)
    assert f"cannot write to the plots folder {plots}" in message
    assert "--plots-dir" in message


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes to read-only folders; Windows ignores the mode")
def test_read_only_plots_folder_fails_before_training(tmp_path, monkeypatch, capsys):
    """A read-only plots folder exits 4 naming it (skipped as root, who can write anyway)."""
    plots = tmp_path / "plots"
    plots.mkdir()
    plots.chmod(0o500)
    monkeypatch.setattr(main, "load_data_mlp", lambda *a, **k: pytest.fail("data loaded"))
    try:
        code = main.main(["structures", "--plots-dir", str(plots), "--quick"])
    finally:
        plots.chmod(0o700)
    assert code == main.EXIT_UNWRITABLE
    assert str(plots) in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_atomic_write_failure_keeps_the_previous_file(tmp_path, error):
    """A write that fails part-way leaves the old file intact and no temporary file behind."""
    path = tmp_path / "results.json"
    path.write_text("previous")

    def write(tmp: Path) -> None:
        tmp.write_text("half of the new cont")
        raise error

    with pytest.raises(type(error)):
        mlp.atomic_write(path, write)
    assert path.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_failed_checkpoint_save_keeps_the_previous_checkpoint(model, tmp_path, monkeypatch):
    """torch.save failing half-way through a checkpoint leaves the last good one loadable."""
    path = tmp_path / "best.pt"
    mlp.save_checkpoint(model, path)
    before = path.read_bytes()

    def torn_save(obj, file, *args, **kwargs):
        Path(file).write_bytes(b"PK\x03\x04 torn")
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(OSError, match="No space left"):
        mlp.save_checkpoint(mlp.SentimentClassifier(8, 2, [4], "ReLU"), path)
    assert path.read_bytes() == before
    mlp.load_checkpoint(model, path)
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]
