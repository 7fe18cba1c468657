"""predict: kept models (the homework's and beyond's) predict as they did in training; python
main.py predict's lines, explanations and errors; the mistakes are wrong and ranked."""

import io
import json
import math
import sys

import pytest
import torch
from conftest import write_tiny_vectors

import main
import mlp
from workshop import data as sources
from workshop import models
from workshop.records import Config, ConfigResult, Learned, Run, RunOptions, Trial
from workshop.runs import features, homework, mistakes, sweeps
from workshop.studies import beyond, predict


@pytest.fixture(scope="module")
def kept(tmp_path_factory, tiny_splits):
    """The structures sweep and beyond.py's experiment on the tiny reviews (tiny word vectors
    from a file, as --embeddings loads them), two seeds: their plots folder and results."""
    folder = tmp_path_factory.mktemp("plots")
    vectors = sources.load_embeddings(write_tiny_vectors(folder.parent / "tiny-vectors.txt"))
    options = RunOptions(num_epochs=3, seeds=[1, 2], workers=1, plots_dir=folder, cache_dir=None)
    found = {"structures": main.explore_mlp_structures(*tiny_splits, vectors, options),
             "beyond": main.explore_beyond(*tiny_splits, vectors, options)}
    return folder, found


@pytest.fixture(scope="module")
def bigram(tmp_path_factory, tiny_splits, tiny_vectors) -> models.Ready:
    """A bag model with bigrams, trained on the tiny reviews and kept as beyond keeps it."""
    folder = tmp_path_factory.mktemp("bigram")
    data = beyond.bag_datasets(mlp.Splits(*tiny_splits),
                               features.make_datasets(tiny_splits, tiny_vectors, None))
    config = Config("GloVe + bigrams, learned", [16], "ReLU", lr=0.01, batch_size=32,
                    learned=Learned("glove", bigrams=True, embedding_lr=0.05))
    trial = Trial(config, 1, 3, "cpu", sweeps.weights_path(folder, "beyond", 0))
    outcome = beyond.run_bags(trial, tiny_vectors, data.vocabulary, data.bigrams)
    found = [ConfigResult(config, [Run.of(trial, outcome, 0.0)])]
    path = sweeps.keep_best("beyond", found, RunOptions(plots_dir=folder),
                            lambda config: beyond.recipe(config, data))
    return models.load(path)


def _best(found: list[ConfigResult]) -> ConfigResult:
    """The configuration with the highest mean best dev accuracy."""
    return max(found, key=lambda result: sum(run.best_dev_acc for run in result.runs))


def test_the_kept_model_is_the_best_configurations_best_epoch(kept, tiny_datasets):
    """models/structures.pt holds the configuration with the best mean best dev accuracy, its
    first seed's best epoch (its dev accuracy is that epoch's), and no other weights stay."""
    folder, found = kept
    model = models.load(sweeps.models_dir(folder) / "structures.pt")
    best = _best(found["structures"])
    assert model.kept.name == best.config.name and model.kept.seed == 1
    assert model.kept.recipe.hidden_dims == best.config.hidden_dims
    assert model.kept.dev_acc == best.runs[0].best_dev_acc
    assert model.kept.recipe.embeddings.endswith("tiny-vectors.txt")
    _, accuracy = mlp.evaluate(model.model, mlp.create_dataloader(tiny_datasets[0], 64,
                                                                  shuffle=False))
    assert accuracy == pytest.approx(model.kept.dev_acc)
    assert sorted(path.name for path in sweeps.models_dir(folder).iterdir()) == [
        "beyond.pt", "structures.pt"]


def test_beyond_keeps_its_best_model(kept):
    """python main.py beyond keeps its best configuration's model, found by the name beyond."""
    folder, found = kept
    path = predict.find_model("beyond", folder)
    assert path == sweeps.models_dir(folder) / "beyond.pt"
    assert models.load(path).kept.name == _best(found["beyond"]).config.name


@pytest.mark.parametrize("split", [0, 2], ids=["dev", "test"])
def test_the_kept_learned_model_predicts_as_in_training(bigram, tiny_splits, split):
    """The kept bigram model, rebuilt from its recipe (vocabulary, bigram rows), predicting the
    reviews' texts one by one, gets the dev accuracy its run recorded (and its test accuracy)."""
    reviews = tiny_splits[split]
    said = predict.predict(reviews["text"], bigram)
    right = [(record["p_positive"] > 0.5) == label for record, label in
             zip(said, reviews["label"], strict=True) if record["p_positive"] is not None]
    recorded = bigram.kept.dev_acc if split == 0 else bigram.kept.test_acc
    assert sum(right) / len(right) == pytest.approx(recorded)


def test_a_bigram_model_explains_words_and_pairs(bigram):
    """For a learned table with bigrams, --explain's numbers are P(positive) recomputed without
    each word and without each pair of adjacent words."""
    model, recipe = bigram, bigram.kept.recipe
    text = "A great film , but the plot was dull and the ending awful ."
    found = predict.explain(text, model)
    rows = {word: row for row, word in enumerate(recipe.vocabulary, start=1)}
    tokens = mlp.tokenize(text)

    def p_of(ids: torch.Tensor) -> float:
        with torch.no_grad():
            return model.model(ids[None]).softmax(dim=1)[0, 1].item()

    full = models.bag_of_ids(tokens, rows, recipe.bigram_buckets)
    assert found["p_positive"] == pytest.approx(p_of(full))
    for effect in found["words"]:
        without = models.bag_of_ids([t for t in tokens if t != effect["name"]], rows,
                                    recipe.bigram_buckets)
        assert effect["p_without"] == pytest.approx(p_of(without), abs=1e-6)
        assert effect["change"] == pytest.approx(effect["p_without"] - found["p_positive"])
    known = [token for token in tokens if token in rows]
    for effect in found["pairs"]:
        first, second = effect["name"].split(" ")
        pair = models.bag_of_ids([first, second], rows, recipe.bigram_buckets)[-1]
        kept_ids = [i for i in full.tolist()[len(known):] if i != pair]
        without = torch.tensor(full.tolist()[:len(known)] + kept_ids)
        assert effect["p_without"] == pytest.approx(p_of(without), abs=1e-6)
    assert found["pairs"] and found["words"]


def test_the_explanation_leaves_each_word_out(kept):
    """For the homework's model: each word's P(positive) without it is the model's on the
    review with every occurrence of that word removed, its change the difference."""
    folder, _ = kept
    model = models.load(sweeps.models_dir(folder) / "structures.pt")
    text = "The film was great , great and moving but the plot was dull"
    found = predict.explain(text, model)
    tokens = mlp.tokenize(text)
    words = {token for token in tokens if model.knows(token)}
    assert {effect["name"] for effect in found["words"]} == words and found["pairs"] == []
    for effect in found["words"]:
        without = " ".join(token for token in tokens if token != effect["name"])
        (alone,) = predict.predict([without], model)
        # abs: a review scored in a batch and alone may differ in float32's last bits
        assert effect["p_without"] == pytest.approx(alone["p_positive"], abs=1e-6)
        assert effect["change"] == pytest.approx(alone["p_positive"] - found["p_positive"],
                                                 abs=2e-6)
        odds = math.log(alone["p_positive"] / (1 - alone["p_positive"])) - math.log(
            found["p_positive"] / (1 - found["p_positive"]))
        assert effect["log_odds_change"] == pytest.approx(odds, abs=1e-4)
    changes = [abs(effect["log_odds_change"]) for effect in found["words"]]
    assert changes == sorted(changes, reverse=True)


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
    """The model that answers is named once, then a line per review, from the arguments or from
    stdin (blank lines skipped; a review with no known word says there is no prediction, one
    with few known words says they alone decided it)."""
    folder = str(kept[0])
    argv = ["--plots-dir", folder, "--model", "structures"]
    lines, _, status = _predict(capsys, [*argv, "A wonderful, moving film!"])
    assert status == 0 and len(lines) == 2 and "P(positive)" in lines[1]
    assert lines[0].startswith("model: ") and "structures sweep's" in lines[0]
    assert "5 of 6 tokens known" in lines[1]
    lines, _, status = _predict(capsys, [*argv, "-"], stdin="great\n\n  \nzzz qqq\nawful film\n")
    assert status == 0 and len(lines) == 4
    assert lines[1].startswith("positive") and "(only 1 known token decided it)" in lines[1]
    assert lines[2].startswith("-         no prediction: none of its 2 tokens")
    assert lines[3].startswith("negative") and "(only 2 known tokens decided it)" in lines[3]


def test_without_a_model_named_the_best_kept_one_answers(kept, capsys):
    """No --model: the kept model with the highest dev accuracy, whichever kind."""
    folder, _ = kept
    best = max((models.load(path) for path in sweeps.models_dir(folder).glob("*.pt")),
               key=lambda model: model.kept.dev_acc)
    lines, _, _ = _predict(capsys, ["--plots-dir", str(folder), "great"])
    assert lines[0] == f"model: {best.describe()}"


def test_explain_and_json(kept, capsys):
    """--explain prints the words behind a review under its line; --json gives each review as
    a JSON object with every word's effect, the model named on stderr."""
    argv = ["--plots-dir", str(kept[0]), "--model", "structures", "--explain"]
    lines, _, _ = _predict(capsys, [*argv, "great film but dull plot"])
    assert lines[1].startswith("(each word") and lines[3].strip().startswith("words toward ")
    assert "(log-odds " in lines[3]
    lines, err, _ = _predict(capsys, [*argv, "--json", "great film but dull plot", "awful"])
    records = [json.loads(line) for line in lines]
    assert [record["text"] for record in records] == ["great film but dull plot", "awful"]
    assert {effect["name"] for effect in records[0]["words"]} == {"great", "film", "dull",
                                                                  "plot"}
    assert err.startswith("model: ")


@pytest.mark.parametrize("damage", ["missing", "no models", "truncated", "foreign",
                                    "another tokenizer"])
def test_a_missing_or_damaged_model_is_one_line(tmp_path, kept, capsys, damage):
    """No model, a truncated one, another program's file or a model made with another
    tokenizer: one line naming it and the fix, exit status 1."""
    path = tmp_path / "model.pt"
    source = sweeps.models_dir(kept[0]) / "structures.pt"
    if damage == "truncated":
        path.write_bytes(source.read_bytes()[:500])
    elif damage == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    elif damage == "another tokenizer":
        torch.save({**torch.load(source, weights_only=True), "tokenizer": "0123456789ab"}, path)
    argv = ["--plots-dir", str(tmp_path)] if damage == "no models" else ["--model", str(path)]
    lines, err, status = _predict(capsys, [*argv, "good"])
    assert lines == [] and err == "" and isinstance(status, str) and "\n" not in status
    assert status.startswith("error: ") and "python main.py" in status
    assert str(sweeps.models_dir(tmp_path) if damage == "no models" else path) in status
    assert ("another tokenizer" in status) == (damage == "another tokenizer")


def test_the_mistakes_are_wrong_and_ranked_by_confidence(kept, tiny_splits):
    """mistakes.json: every review shown is one the model gets wrong, the surest first, with
    the probability the model gives it; mistakes.md shows them as plain text."""
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
    markdown = (folder / "mistakes.md").read_text()
    assert "## structures: " in markdown and "<br" not in markdown


def test_how_texts_use_negations_and_contrasts():
    """reading: the share of each group's texts with one of the words, their count per 100
    words, and a 95 % interval of the difference that holds the difference itself."""
    mistaken = ["it is not good", "good but long, and it isn't short", "fine film"]
    others = ["a film", "not a film at all", "good", "no"]
    negation = mistakes.reading(mistakes.NEGATION, mistaken, others)
    assert negation["mistakes"] == {"share": pytest.approx(2 / 3),
                                    "per_100_words": pytest.approx(200 / 13)}
    assert negation["others"]["per_100_words"] == pytest.approx(200 / 9)
    low, high = negation["difference_95"]
    assert low <= 200 / 13 - 200 / 9 <= high
    assert mistakes.reading(mistakes.CONTRAST, mistaken, others)["mistakes"]["share"] == \
        pytest.approx(1 / 3)


def test_keep_best_removes_the_weights_of_every_configuration(tmp_path, tiny_vectors):
    """keep_best keeps the best configuration's model and removes every hidden weights file."""
    sweeps.models_dir(tmp_path).mkdir()
    for index in range(2):
        torch.save(mlp.SentimentClassifier(tiny_vectors.vector_size, 2, [3]).state_dict(),
                   sweeps.weights_path(tmp_path, "s", index))
    found = [ConfigResult(Config(name, [3], "Tanh", lr=0.1, batch_size=4),
                          [Run(3, 2, 1.0, [0.7, 0.6], [0.5, 0.6], [0.7, 0.6], [acc - 0.1, acc],
                               0.6, 0.7)])
             for name, acc in (("worse", 0.6), ("better", 0.75))]
    path = sweeps.keep_best("s", found, RunOptions(plots_dir=tmp_path),
                            lambda config: homework.recipe(config, tiny_vectors))
    assert models.load(path, tiny_vectors).kept.name == "better"
    assert not any(sweeps.weights_path(tmp_path, "s", index).exists() for index in range(2))


def test_an_earlier_versions_mistakes_do_not_stop_a_sweep(tmp_path):
    """mistakes.json holding another sweep's entry in an earlier format: the new entry is
    written and shown, the old one kept in the JSON."""
    (tmp_path / "mistakes.json").write_text(json.dumps({"old": {"model": "x", "negation": {}}}))
    found = {"model": "m", "dev_acc": 0.75, "dev_reviews": 4, "mistakes": 1, "counted": 1,
             "false_positives": [], "false_negatives": [],
             **{key: {"mistakes": {"share": 0.5, "per_100_words": 1.0},
                      "others": {"share": 0.5, "per_100_words": 1.0},
                      "difference_95": [-1.0, 1.0]} for key in ("negation", "contrast")},
             "median_words": {"mistakes": 3, "others": 4, "difference_95": [-2, 1]}}
    mistakes.record(tmp_path, "structures", found)
    markdown = (tmp_path / "mistakes.md").read_text()
    assert "## structures: m" in markdown and "## old" not in markdown
    assert set(json.loads((tmp_path / "mistakes.json").read_text())) == {"old", "structures"}
