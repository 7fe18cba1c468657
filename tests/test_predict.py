"""predict.py: the kept model is the best configuration's best epoch and predicts as it did in
memory; python main.py predict's lines and errors; the mistakes are wrong and ranked."""

import io
import json
import sys

import pytest
import torch
from conftest import write_tiny_vectors

import main
import mlp
import predict
import sweeps


@pytest.fixture(scope="module")
def kept(tmp_path_factory, tiny_splits):
    """A structures sweep on the tiny reviews (tiny word vectors from a file, as --embeddings
    loads them), two seeds: its folder and results."""
    folder = tmp_path_factory.mktemp("plots")
    vectors = mlp.load_embeddings(write_tiny_vectors(folder.parent / "tiny-vectors.txt"))
    results = main.explore_mlp_structures(*tiny_splits, vectors, epochs=3, seeds=[1, 2],
                                          workers=1, plots_dir=folder, cache_dir=None)
    return folder, results


def test_the_kept_model_is_the_best_configurations_best_epoch(kept, tiny_datasets):
    """plots/models/structures.pt holds the configuration with the best mean best dev accuracy,
    its first seed's best epoch (its dev accuracy is that epoch's), and no other weights stay."""
    folder, results = kept
    model, saved = predict.load_model(folder / "models" / "structures.pt")
    means = {r["name"]: sum(run["best_dev_acc"] for run in r["runs"]) / 2 for r in results}
    best = next(r for r in results if r["name"] == max(means, key=means.get))
    assert (saved["name"], saved["hidden_dims"], saved["activation"]) == (
        best["name"], best["hidden_dims"], best["activation"])
    assert saved["dev_acc"] == best["runs"][0]["best_dev_acc"] and saved["seed"] == 1
    assert saved["embeddings"].endswith("tiny-vectors.txt")
    assert saved["tokenizer"] == mlp.TOKENIZER_VERSION
    dev = tiny_datasets[0]
    _, accuracy = mlp.evaluate(model, mlp.create_dataloader(dev, 64, shuffle=False))
    assert accuracy == pytest.approx(saved["dev_acc"])
    assert [path.name for path in (folder / "models").iterdir()] == ["structures.pt"]


def test_predictions_are_those_of_the_model_in_memory(tmp_path, tiny_vectors):
    """A model kept by keep_best and loaded again gives the probabilities it gave in memory."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(tiny_vectors.vector_size, 2, [6], "Tanh")
    torch.save(model.state_dict(), sweeps.weights_path(tmp_path, "s", 0))
    run = {"seed": 3, "best_epoch": 2, "best_dev_acc": 0.75, "test_acc": 0.7}
    results = [{"name": "six", "hidden_dims": [6], "activation": "Tanh", "runs": [run]}]
    data = sweeps.Featurised(tiny_vectors, None, None, None)
    path = predict.keep_best("s", results, data, tmp_path, "python main.py")
    texts = ["A great, moving film.", "Awful and boring.", "zzz qqq", ""]
    found = predict.predict(texts, predict.load_model(path)[0], tiny_vectors)
    with torch.no_grad():
        expected = [model(mlp.featurize(text, tiny_vectors)[None]).softmax(dim=1)[0, 1].item()
                    for text in texts[:2]]
    assert [record["p_positive"] for record in found[:2]] == pytest.approx(expected, abs=1e-7)
    assert [record["p_positive"] for record in found[2:]] == [None, None]
    # "," is not among the tiny words
    assert [(record["known"], record["tokens"]) for record in found] == [(5, 6), (4, 4), (0, 2),
                                                                          (0, 0)]
    assert not sweeps.weights_path(tmp_path, "s", 0).exists()


def _predict(capsys, argv: list[str], stdin: str = "") -> tuple[list[str], str, object]:
    """python main.py predict ARGV: its lines, its error output and its exit status."""
    sys.stdin = io.StringIO(stdin)
    try:
        main.main(["predict", *argv])
        status = 0
    except SystemExit as stop:
        status = stop.code
    finally:
        sys.stdin = sys.__stdin__
    out, err = capsys.readouterr()
    return out.splitlines(), err, status


def test_reviews_from_the_command_line_and_from_stdin(kept, capsys):
    """A line per review, from the arguments or from stdin (an empty line and a review with no
    known word each get a line that says there is no prediction); the best model by default."""
    models = str(kept[0] / "models")
    lines, _, status = _predict(capsys, ["--models-dir", models, "A wonderful, moving film!"])
    assert status == 0 and len(lines) == 1 and "P(positive)" in lines[0]
    assert "5 of 6 tokens known" in lines[0]
    lines, _, status = _predict(capsys, ["--models-dir", models, "-"],
                                stdin="great\n\nzzz qqq\nawful\n")
    assert status == 0 and len(lines) == 4
    assert lines[0].startswith("positive") and lines[3].startswith("negative")
    assert lines[1] == "-         no prediction: none of its 0 tokens has a word vector  ''"
    assert lines[2].startswith("-         no prediction: none of its 2 tokens")


@pytest.mark.parametrize("damage", ["missing", "no models", "truncated", "foreign"])
def test_a_missing_or_damaged_model_is_one_line(tmp_path, kept, capsys, damage):
    """No model, a truncated one or another program's file: one line naming it and the fix,
    exit status 1."""
    path = tmp_path / "model.pt"
    if damage == "truncated":
        path.write_bytes((kept[0] / "models" / "structures.pt").read_bytes()[:500])
    elif damage == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    argv = ["--models-dir", str(tmp_path)] if damage == "no models" else ["--model", str(path)]
    lines, err, status = _predict(capsys, [*argv, "good"])
    assert lines == [] and err == "" and isinstance(status, str) and "\n" not in status
    assert status.startswith("error: ") and "python main.py" in status
    assert str(tmp_path if damage == "no models" else path) in status


def test_the_mistakes_are_wrong_and_ranked_by_confidence(kept, tiny_splits):
    """mistakes.json: every review shown is one the model gets wrong, the surest first, with
    the probability the model gives it."""
    folder, _ = kept
    found = json.loads((folder / "mistakes.json").read_text())["structures"]
    truth = dict(zip(tiny_splits[0]["text"], tiny_splits[0]["label"], strict=True))
    for way, label in (("false_positives", 0), ("false_negatives", 1)):
        shown = found[way]
        assert all(truth[item["text"]] == item["label"] == label for item in shown)
        assert all((item["p_positive"] > 0.5) != item["label"] for item in shown)
        confidence = [abs(item["p_positive"] - 0.5) for item in shown]
        assert confidence == sorted(confidence, reverse=True)
    assert found["mistakes"] >= len(found["false_positives"]) + len(found["false_negatives"])
    assert "## structures: " in (folder / "mistakes.md").read_text()


def test_how_texts_use_negations_and_contrasts():
    """reading: the share of texts with one of the words, and their count per 100 words."""
    texts = ["it is not good", "good but long, and it isn't short", "fine film"]
    negation = predict.reading(predict.NEGATION, texts)
    assert negation == {"share": pytest.approx(2 / 3), "per_100_words": pytest.approx(200 / 13)}
    assert predict.reading(predict.CONTRAST, texts)["share"] == pytest.approx(1 / 3)
