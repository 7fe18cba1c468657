"""hw3.md's findings against the committed runs (plots/results.json, diagnose.json, mistakes.json).

Each test lists the claims of one part of hw3.md: what a number measures and the value the
committed run gives it, written as hw3.md writes it. The part must quote every claim, wherever
in its sentences, and every number with a decimal point that it writes must be one of them, so a
reworded sentence breaks nothing and a changed number fails. What the words claim (a clear gap,
a tie, seeds at chance) is checked on the run too.
"""

import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterable

import pytest
from conftest import REPO, committed, section, table

NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?(?:e[-+]\d+)?")


def quoted(text: str) -> Counter:
    """The numbers text writes, outside its $...$ formulas."""
    return Counter(NUMBER.findall(re.sub(r"\$[^$]*\$", " ", text)))


def assert_quotes(text: str, claims: dict[str, str], allowed: Iterable[str] = ()) -> None:
    """text quotes each claim's value (a number, or a phrase with a number in it where the
    number alone could be found elsewhere: "step 18"), and every number with a decimal point in
    it is a claim's value or allowed (a setting of the run, a threshold)."""
    written, prose = quoted(text), " ".join(text.split()).lower()
    missing = {what: value for what, value in claims.items()
               if (value.lower() not in prose if " " in value else value not in written)}
    assert not missing, f"hw3.md does not quote these as the committed run gives them: {missing}"
    known = {number for value in (*claims.values(), *allowed) for number in NUMBER.findall(value)}
    unknown = [number for number in written if "." in number and number not in known]
    assert not unknown, f"hw3.md writes numbers that no claim gives: {unknown}"


def paragraph(text: str, start: str) -> str:
    """The paragraph of text that begins with start (up to a blank line or the next numbered
    item), on one line."""
    return " ".join(re.split(r"\n\s*\n|\n\d+\. ", text.split(start, 1)[1], maxsplit=1)[0].split())


def findings(heading: str) -> str:
    """The **Findings.** paragraph under a heading ('### MLP structures'), on one line."""
    text = (REPO / "hw3.md").read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    return " ".join(text.split("**Findings.**", 1)[1].split("\n\n", 1)[0].split())


def mean_std_text(values: list[float]) -> str:
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


def best(run: dict) -> float:
    return run["best_dev_acc"]


def on_test(run: dict) -> float:
    return run["test_acc"]


def _stuck(run: "Run") -> str:
    """The follow-up's learning rates at which most seeds stay at chance: '0.005, 0.01 and 0.02'."""
    follow_up = "three-layer-learning-rates"
    lrs = sorted(run.config(follow_up, name)["lr"] for name in run.names(follow_up)
                 if sum(acc > 0.6 for acc in run.values(follow_up, name)) < 2)
    return ", ".join(map(str, lrs[:-1])) + f" and {lrs[-1]}"


def last(key: str) -> Callable[[dict], float]:
    """A run's value of key at its last epoch."""
    return lambda run: run[key][-1]


class Run:
    """Means, standard deviations and gaps over the seeds of the committed run's sweeps."""

    def __init__(self, committed_results: dict) -> None:
        self.sweeps = committed_results

    def config(self, sweep: str, name: str) -> dict:
        return next(c for c in self.sweeps[sweep]["configs"] if c["name"] == name)

    def names(self, sweep: str) -> list[str]:
        return [config["name"] for config in self.sweeps[sweep]["configs"]]

    def values(self, sweep: str, name: str, value: Callable[[dict], float] | None = None) -> list:
        """value(run) of each seed's run (default: its best dev accuracy)."""
        return [(value or best)(run) for run in self.config(sweep, name)["runs"]]

    def mean(self, sweep: str, name: str, value: Callable[[dict], float] | None = None) -> float:
        return statistics.fmean(self.values(sweep, name, value))

    def std(self, sweep: str, name: str, value: Callable[[dict], float] | None = None) -> float:
        return statistics.stdev(self.values(sweep, name, value))

    def gap(self, better: tuple[str, str], worse: tuple[str, str],
            value: Callable[[dict], float] | None = None) -> float:
        """The difference of two (sweep, name) configurations' means."""
        return self.mean(*better, value) - self.mean(*worse, value)

    def clear(self, better: tuple[str, str], worse: tuple[str, str],
              value: Callable[[dict], float] | None = None) -> bool:
        """hw3.md's test of a gap: every seed of better beats every seed of worse."""
        return min(self.values(*better, value)) > max(self.values(*worse, value))


@pytest.fixture(scope="module")
def run(committed_results) -> Run:
    return Run(committed_results)


# ----------------------------------------------------------------------------------------------
# The homework's sweeps


@pytest.mark.parametrize("sweep", ["structures", "activations", "learning-rates"])
def test_results_table_quotes_the_committed_run(run, sweep):
    """Each configuration's best dev and test accuracy in hw3.md's table are the committed run's
    mean ± std over seeds; bold marks only a configuration clearly better than every other."""
    rows = table(section("Programming"), key=1)
    label = {"structures": "{name}, lr {lr}", "activations": "{name}",
             "learning-rates": "{lr}"}[sweep]
    for name in run.names(sweep):
        key = label.format(name=name.replace(" -> ", " → "), lr=run.config(sweep, name)["lr"])
        cells = [cell.strip("* ") for cell in rows[key][2:4]]
        assert cells == [mean_std_text(run.values(sweep, name)),
                         mean_std_text(run.values(sweep, name, on_test))], key
        for cell, value in zip(rows[key][2:4], (best, on_test), strict=True):
            clearly_best = all(run.clear((sweep, name), (sweep, other), value)
                               for other in run.names(sweep) if other != name)
            assert cell.startswith("**") == clearly_best, (key, cell)


def test_the_notes_under_the_table(run, committed_results):
    """The structures sweep's 512 and the learning-rate sweep's 0.02 are one configuration and
    gave the same numbers; no run diverged; LeakyReLU's seeds tie, in the epochs quoted."""
    assert [r["dev_accs"] for r in run.config("structures", "512")["runs"]] == \
        [r["dev_accs"] for r in run.config("learning-rates", "lr 0.02")["runs"]]
    assert not any(r["diverged_epoch"] for sweep in ("structures", "activations", "learning-rates")
                   for config in committed_results[sweep]["configs"] for r in config["runs"])
    leaky = run.values("activations", "LeakyReLU")
    epochs = run.values("activations", "LeakyReLU", lambda r: r["best_epoch"])
    assert len(set(leaky)) == 1
    assert_quotes(paragraph(section("Programming"), "The learning-rate sweep's 0.02"), {
        "the tie": f"{leaky[0]:.4f}, in epochs {', '.join(map(str, epochs[:-1]))} and "
                   f"{epochs[-1]}"}, allowed=["0.02"])


def test_structures_findings(run, committed_results):
    """No structure overfits; the first hidden layer's gain is clear, the second's is not;
    three layers are clearly worst at the sweep's learning rate, and at the follow-up's best
    within the seeds' spread of one and two layers, below both on the mean."""
    sweep, follow_up = "structures", "three-layer-learning-rates"
    structures = none, one, two, three = tuple((sweep, name) for name in run.names(sweep))
    best_three = (follow_up, max(run.names(follow_up), key=lambda name: run.mean(follow_up, name)))
    train_loss = [run.mean(*config, last("train_losses")) for config in structures]
    loss_gap = max(run.mean(*config, last("dev_losses")) - run.mean(*config, last("train_losses"))
                   for config in structures)
    acc_gaps = [run.mean(*config, last("train_accs")) - run.mean(*config, last("dev_accs"))
                for config in structures]
    assert all(gap > 0 for gap in acc_gaps)  # train above dev: no underfitting claim to make
    assert run.clear(one, none) and not run.clear(two, one) and not run.clear(one, two)
    assert all(not run.clear(best_three, shallower) and not run.clear(shallower, best_three)
               and run.mean(*best_three) < run.mean(*shallower) for shallower in (one, two))
    assert all(run.clear(other, three) for other in (none, one, two))  # "clearly worst"
    train_accs = [run.mean(*config, last("train_accs")) for config in structures]
    assert train_loss[2] < train_loss[1] < train_loss[1] + 0.002  # a second layer, barely lower
    assert_quotes(findings("### MLP structures"), {
        "lowest train accuracy at the end": f"{min(train_accs):.2f}",
        "highest train accuracy at the end": f"{max(train_accs):.2f}",
        "two layers' train loss at the end": f"{train_loss[2]:.4f}",
        "one layer's": f"{train_loss[1]:.4f}",
        "where most of the follow-up's seeds stay at chance": _stuck(run),
        "epochs": str(committed_results[sweep]["settings"]["epochs"]),
        "lowest train loss at the end": f"{min(train_loss):.2f}",
        "highest train loss at the end": f"{max(train_loss):.2f}",
        "largest dev - train loss at the end": f"{loss_gap:.3f}",
        "largest train - dev accuracy at the end": f"{max(acc_gaps):.3f}",
        "one hidden layer over none": f"{run.gap(one, none):.4f}",
        "two hidden layers over one": f"{run.gap(two, one):.4f}",
        "three layers' best learning rate": str(run.config(*best_three)["lr"]),
        "the sweep's learning rate for three": str(run.config(*three)["lr"]),
        "three at the sweep's learning rate, and their spread": mean_std_text(run.values(
            *three)),
        **{f"{name}'s best dev accuracy and spread, {part}": text
           for name, config in (("three", best_three), ("one", one), ("two", two))
           for part, text in zip(("mean", "std"), mean_std_text(run.values(*config)).split(" ± "),
                                 strict=True)}})


def test_the_follow_up_findings_and_table(run, committed_results):
    """The follow-up's best learning rate, clearly above the structures sweep's, and the
    learning rates that leave most seeds at chance; its table is the committed run's."""
    follow_up = "three-layer-learning-rates"
    three = ("structures", run.names("structures")[3])
    learned = {run.config(follow_up, name)["lr"]: sum(acc > 0.6 for acc in run.values(follow_up,
                                                                                    name))
               for name in run.names(follow_up)}
    stuck_from = min(lr for lr, count in learned.items() if count < 2)
    assert all(count < 2 for lr, count in learned.items() if lr >= stuck_from)
    watched = {config["lr"] for config in committed_results["diagnose"]["configs"]
               if config["hidden_dims"] == run.config(*three)["hidden_dims"]}
    assert stuck_from not in watched and len(watched & set(learned)) == 2  # lr 0.01 alone fails
    chance = max(acc for name in run.names(follow_up) for acc in run.values(follow_up, name)
                 if acc <= 0.6)
    good = (follow_up, max(run.names(follow_up), key=lambda name: run.mean(follow_up, name)))
    assert run.clear(good, three)
    text = paragraph(section("Programming"), "#### Follow-up: three hidden layers at other "
                                             "learning rates\n\n")
    assert_quotes(text, {"its best learning rate": str(run.config(*good)["lr"]),
                         "its best dev accuracy": mean_std_text(run.values(*good)).split()[0],
                         "its spread": mean_std_text(run.values(*good)).split()[-1],
                         "the structures sweep's learning rate": str(run.config(*three)["lr"]),
                         "most seeds at chance at": _stuck(run),
                         "chance": f"{chance:.2f}"})
    rows = table(section("Programming"))
    for name in run.names(follow_up):
        values = run.values(follow_up, name)
        assert rows[name.removeprefix("lr ")][1:] == [
            mean_std_text(values), f"{learned[run.config(follow_up, name)['lr']]} of "
                                   f"{len(values)}"], name
    assert rows[f"{run.config(*three)['lr']} (the structures sweep)"][1] == \
        mean_std_text(run.values(*three))
    command = committed_results[follow_up]["settings"]["command"]
    assert f"`{command}`" in section("Programming")


def test_activations_findings(run):
    """The range of best dev and test accuracies, each beside its activation; the clear gaps,
    how many chance alone would give, and the leaders the two metrics name."""
    sweep = "activations"
    names = run.names(sweep)
    dev = {name: run.mean(sweep, name) for name in names}
    test = {name: run.mean(sweep, name, on_test) for name in names}
    low, high = min(dev, key=dev.get), max(dev, key=dev.get)
    test_low, test_high = min(test, key=test.get), max(test, key=test.get)
    pairs = len(names) * (len(names) - 1) // 2
    clear = [(value, better, worse) for value in (best, on_test) for better in names
             for worse in names if run.clear((sweep, better), (sweep, worse), value)]
    seeds = len(run.values(sweep, names[0]))
    by_chance = 2 / math.comb(2 * seeds, seeds)  # all of one above all of the other, either way
    assert {better for value, better, _ in clear if value is best} == {high}
    assert {better for value, better, _ in clear if value is on_test} == {test_high} != {high}
    text = findings("### Activation functions")
    assert_quotes(text, {"lowest best dev accuracy": f"{dev[low]:.4f}",
                         "highest best dev accuracy": f"{dev[high]:.4f}",
                         "their spread": f"{dev[high] - dev[low]:.4f}",
                         "lowest test accuracy": f"{test[test_low]:.4f}",
                         "highest test accuracy": f"{test[test_high]:.4f}",
                         "comparisons": str(2 * pairs), "pairs": str(pairs),
                         "clear ones": str(len(clear)),
                         "expected by chance": f"{2 * pairs * by_chance:.0f}",
                         "the chance of one": f"1/{1 / by_chance:.0f}".split("/")[1]})
    for value, name in ((dev[low], low), (dev[high], high), (test[test_low], test_low),
                        (test[test_high], test_high)):
        assert f"{value:.4f} ({name})" in text
    said = text.split("clear gaps:", 1)[1].split(";")[0]
    assert {name for name in names if re.search(rf"\b{name}\b", said)} == {
        name for _, better, worse in clear for name in (better, worse)}


def test_learning_rate_findings(run, committed_results):
    """The two best rates tie; the largest is unstable (seeds at chance for epochs, a train loss
    that climbs back), the smallest slow; both gaps are clear."""
    sweep = "learning-rates"
    lrs = {run.config(sweep, name)["lr"]: (sweep, name) for name in run.names(sweep)}
    first, second = sorted(sorted(lrs, key=lambda lr: run.mean(*lrs[lr]))[-2:], reverse=True)
    assert f"{run.mean(*lrs[first]):.4f}" == f"{run.mean(*lrs[second]):.4f}"  # a tie
    assert not run.clear(lrs[first], lrs[second]) and not run.clear(lrs[second], lrs[first])
    high, low = max(lrs), min(lrs)
    assert run.clear(lrs[first], lrs[high]) and run.clear(lrs[first], lrs[low])
    runs = run.config(*lrs[high])["runs"]
    at_chance = [next(epoch for epoch, acc in enumerate(r["dev_accs"]) if acc > 0.6)
                 for r in runs]  # epochs each seed spent at chance
    stuck = [r for r, epochs in zip(runs, at_chance, strict=True) if epochs > 2]
    learner = next(r for r, epochs in zip(runs, at_chance, strict=True) if epochs <= 2)
    lowest = min(learner["train_losses"])
    assert learner["train_losses"][-1] > lowest + 0.02  # it climbs back
    chance_epochs = min(epochs for epochs in at_chance if epochs > 2)
    stuck_losses = [loss for r in stuck for loss in r["train_losses"][1:chance_epochs]]
    assert_quotes(findings("### Learning rate"), {
        "the learner at chance": f"seed {learner['seed']} for "
                                 f"{at_chance[runs.index(learner)]} epochs",
        "the best rate": str(first), "the other best rate": str(second),
        "their best dev accuracy": f"{run.mean(*lrs[first]):.4f}",
        "the first one's spread": f"{run.std(*lrs[first]):.4f}",
        "the second one's spread": f"{run.std(*lrs[second]):.4f}",
        "the largest rate": str(high), "epochs its stuck seeds spent at chance":
            f"for {chance_epochs} epochs", "their train loss meanwhile":
            f"{statistics.fmean(stuck_losses):.3f}",
        "the learner's lowest train loss": f"{lowest:.3f}",
        "at epoch": f"at epoch {learner['train_losses'].index(lowest) + 1}",
        "its last": f"{learner['train_losses'][-1]:.3f}",
        "its epochs": f"at epoch {len(learner['train_losses'])}",
        "its gap": f"{run.gap(lrs[first], lrs[high]):.4f}", "the smallest rate": str(low),
        "its train loss at the end": f"{run.mean(*lrs[low], last('train_losses')):.4f}",
        "epochs": str(committed_results[sweep]["settings"]["epochs"]),
        "the best rate's train loss at the end":
            f"{run.mean(*lrs[first], last('train_losses')):.4f}",
        "the smallest rate's gap": f"{run.gap(lrs[first], lrs[low]):.4f}"}, allowed=["0.693"])


@pytest.mark.parametrize("heading", ["### MLP structures", "### Activation functions",
                                     "### Learning rate"])
def test_each_of_the_handouts_findings_is_two_or_three_sentences(heading):
    """The handout asks for two to three sentences under each of its three plots' findings."""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z])", findings(heading))
    assert 2 <= len(sentences) <= 3, sentences


# ----------------------------------------------------------------------------------------------
# Beyond the homework


def test_beyond_table_and_findings(run, committed_results):
    """The table of the four models and the numbers of their findings are the committed run's:
    test accuracy gains, pretraining's small share, and the early best dev epochs."""
    sweep = "beyond"
    frozen, glove, bigrams, scratch = ((sweep, name) for name in run.names(sweep))
    rows = table(section("Beyond the homework"))
    for config in (frozen, glove, bigrams, scratch):
        (cells,) = (cells for key, cells in rows.items() if key.split(" (")[0] == config[1])
        assert cells[1:] == [mean_std_text(run.values(*config)),
                             mean_std_text(run.values(*config, on_test)),
                             f"{run.mean(*config, lambda r: r['seconds']):.1f}"], config
    assert run.clear(glove, frozen, on_test) and run.clear(bigrams, glove, on_test)
    assert not run.clear(glove, scratch, on_test) and run.clear(glove, scratch)
    learned = (glove, bigrams, scratch)
    unigram_best = run.values(*glove, lambda r: r["best_epoch"]) + \
        run.values(*scratch, lambda r: r["best_epoch"])
    (late, count), = ((epoch, n) for epoch, n in Counter(
        run.values(*bigrams, lambda r: r["best_epoch"])).items() if epoch > max(unigram_best))
    closest = min(run.values(*glove)) - max(run.values(*scratch))
    assert closest > 0  # every seed from GloVe above every seed from random
    assert_quotes(findings("## Beyond the homework"), {
        "the frozen mean's test accuracy": f"{run.mean(*frozen, on_test):.4f}",
        "GloVe, learned": f"{run.mean(*glove, on_test):.4f}",
        "what bigrams add": f"{run.gap(bigrams, glove, on_test):.4f}",
        "what pretraining adds on test": f"{run.gap(glove, scratch, on_test):.4f}",
        "on best dev accuracy": f"{run.gap(glove, scratch):.4f}",
        "the closest seeds, apart": f"{closest:.4f}",
        "the learned models' train accuracy at the end":
            f"{min(run.mean(*config, last('train_accs')) for config in learned):.4f}",
        "epochs": str(committed_results[sweep]["settings"]["epochs"]),
        "the earliest best epoch": str(min(unigram_best)),
        "the latest best epoch without bigrams": str(max(unigram_best)),
        "the bigram runs' later best epochs": f"({late} for {['no', 'one', 'two', 'three'][count]}"
                                              f" of the bigram runs)"},
        allowed=["0.77", "0.50"])


def test_nearest_neighbours_are_the_committed_runs(committed_results):
    """The neighbours table is the first seed's, before and after training, and every word the
    text after it cites is a query or one of the neighbours."""
    (first, *_) = (run for config in committed_results["beyond"]["configs"]
                   for run in config["runs"] if "neighbours" in run)
    before, after = first["neighbours"]["before"], first["neighbours"]["after"]
    text = section("Beyond the homework")
    assert f"(seed {first['seed']})" in text
    rows = table(text)
    for word in before:
        assert rows[word][1:] == [", ".join(before[word]), ", ".join(after[word])], word
    prose = text.split(rows[list(before)[-1]][0] + " |", 1)[1]
    words = {word for listed in (*before.values(), *after.values()) for word in listed}
    assert set(re.findall(r"\*(\w+)\*", prose)) <= words | set(before)


# ----------------------------------------------------------------------------------------------
# Inside the network, and the demonstrations beside the written answers (python main.py diagnose)


@pytest.fixture(scope="module")
def watched(committed_results) -> dict[str, dict]:
    """The watched runs of python main.py diagnose, by name: the first seed's run, its "lr",
    what was seen "inside", and its "seeds": every seed's run."""
    return {config["name"]: {**config["runs"][0], "lr": config["lr"], "seeds": config["runs"]}
            for config in committed_results["diagnose"]["configs"]}


@pytest.fixture(scope="module")
def shown() -> dict:
    """plots/diagnose.json as committed: the demonstrations' numbers."""
    return json.loads(committed("plots/diagnose.json"))


def test_the_watched_runs_are_the_follow_up_runs(committed_results, watched):
    """The runs that diagnose watched are those of the follow-up and the structures sweep (the
    same seed): the same dev accuracy at every epoch, as hw3.md says."""
    follow_up = {config["name"]: config for config in
                 committed_results["three-layer-learning-rates"]["configs"]}
    structures = {config["name"]: config for config in committed_results["structures"]["configs"]}
    assert watched["3 x 512, lr 0.01"]["dev_accs"] == follow_up["lr 0.01"]["runs"][0]["dev_accs"]
    assert watched["3 x 512, lr 0.002"]["dev_accs"] == follow_up["lr 0.002"]["runs"][0]["dev_accs"]
    assert watched["512, lr 0.02"]["dev_accs"] == structures["512"]["runs"][0]["dev_accs"]
    for name, follow in (("3 x 512, lr 0.01", "lr 0.01"), ("3 x 512, lr 0.002", "lr 0.002")):
        assert [run["dev_accs"] for run in watched[name]["seeds"]] == [
            run["dev_accs"] for run in follow_up[follow]["runs"]]
    assert {len(run["inside"]["steps"]) for name in watched
            for run in watched[name]["seeds"]} == {50}
    seeds = [run["seed"] for run in watched["3 x 512, lr 0.01"]["seeds"]]
    assert_quotes(section("Inside the network").split("**What happened.**")[0],
                  {"looks": "At 50 steps",
                   "seeds": f"seeds {', '.join(map(str, seeds[:-1]))} and {seeds[-1]}"},
                  allowed=["0.01", "0.002", "0.02", "0.99"])


def _first(steps: list[int], values: list[float], test: Callable[[float], bool],
           after: int = -1) -> int:
    return next(step for step, value in zip(steps, values, strict=True)
                if step > after and test(value))


def _series(run: dict, part: str, layer: int, key: str) -> list:
    """One layer's value of key at each look of a watched run."""
    return [look[layer][key] for look in run["inside"][part]]


def _at(run: dict, values: list, step: int) -> float:
    """A series' value at a step."""
    return values[run["inside"]["steps"].index(step)]


def _failing_claims(fail: dict) -> dict[str, str]:
    """What "What happened" quotes of the run that stays at chance."""
    steps = fail["inside"]["steps"]
    second, third = (_series(fail, "hidden", layer, "saturated") for layer in (1, 2))
    full = _first(steps, second, lambda v: v == 1.0)
    assert all(v == 1.0 for step, v in zip(steps, second, strict=True) if step >= full)
    nearly, third_full = (_first(steps, values, lambda v: v >= 0.99) for values in (second, third))
    grads = [_series(fail, "layers", layer, "grad_norm") for layer in (0, 1)]
    ratios = [_series(fail, "layers", layer, "update_ratio") for layer in (0, 1)]
    return {
        "failing lr": str(fail["lr"]), "step 1's change of the first layer, %":
            f"{100 * 10 ** ratios[0][1]:.0f}", "its update ratio": f"{-ratios[0][1]:.2f}",
        "dev batch loss at the start": f"{fail['inside']['dev_loss'][0]:.2f}",
        "after step 1": f"{fail['inside']['dev_loss'][1]:.2f}",
        "layer 2 saturated at step 2, %": f"{100 * _at(fail, second, 2):.1f} % of its outputs at "
                                          f"step 2",
        "at its nearly-full step, %": f"{100 * _at(fail, second, nearly):.1f}",
        "nearly full from step": f"at step {nearly}", "full from step": f"from step {full}",
        "its mean output at the end": f"{fail['inside']['hidden'][-1][1]['mean']:.3f}",
        "first layer gradient at step 1": f"{grads[0][1]:.1e} at step 1",
        "at the full step": f"{_at(fail, grads[0], full):.1e} at step {full}",
        "at the end": f"{grads[0][-1]:.1e}", "second layer's at step 1": f"{grads[1][1]:.1e}",
        "second layer's at the end": f"{grads[1][-1]:.1e}",
        "first layer's update ratio at the end": f"{-ratios[0][-1]:.2f}",
        "second layer's": f"{-ratios[1][-1]:.2f}",
        "third layer's saturation, %": f"{100 * _at(fail, third, third_full):.1f}",
        "from step": f"at step {third_full}",
        "failing run's best dev": f"{fail['best_dev_acc']:.2f}"}


def _learning_claims(learn: dict, ref: dict) -> dict[str, str]:
    """What "What happened" quotes of the run that learns and of the reference run."""
    learned = _series(learn, "hidden", 1, "saturated")
    peak = max(learned)
    peak_step = learn["inside"]["steps"][learned.index(peak)]
    low_step = _first(learn["inside"]["steps"], learned, lambda v: v < 0.01, after=peak_step)
    grads = _series(learn, "layers", 0, "grad_norm")
    dip = min(grad for grad in grads if grad is not None)
    return {
        "learning lr": str(learn["lr"]),
        "its low after the peak, %": f"{100 * _at(learn, learned, low_step):.1f}",
        "at step": f"at step {low_step}", "at the end, %": f"{100 * learned[-1]:.1f}",
        "its first layer's dip": f"{dip:.1e} at step "
                                 f"{learn['inside']['steps'][grads.index(dip)]}",
        "its gradient at the end": f"{grads[-1]:.2f}",
        "its update ratio at the end": f"{-_series(learn, 'layers', 0, 'update_ratio')[-1]:.2f}",
        "its best dev": f"{learn['best_dev_acc']:.4f}", "reference lr": str(ref["lr"]),
        "reference best dev": f"{ref['best_dev_acc']:.4f}",
        "reference gradient at the end": f"{_series(ref, 'layers', 0, 'grad_norm')[-1]:.2f}"}


def _other_seeds_claims(fail: dict, learn: dict, ref: dict) -> dict[str, str]:
    """What "What happened" quotes of every seed: how the other failing seed and the learning
    one end, the learning rate's peaks, the reference's saturation."""
    other_fail = next(run for run in fail["seeds"][1:] if run["best_dev_acc"] <= 0.6)
    learner = next(run for run in fail["seeds"] if run["best_dev_acc"] > 0.6)
    second = _series(other_fail, "hidden", 1, "saturated")
    learner_second = _series(learner, "hidden", 1, "saturated")
    peaks = [max(_series(run, "hidden", 1, "saturated")) for run in learn["seeds"]]
    peak_steps = [run["inside"]["steps"][_series(run, "hidden", 1, "saturated").index(peak)]
                  for run, peak in zip(learn["seeds"], peaks, strict=True)]
    ends = [_series(run, "hidden", 0, "saturated")[-1] for run in ref["seeds"]]
    least_from_18 = min(value for step, value in zip(other_fail["inside"]["steps"], second,
                                                      strict=True) if step >= 18)
    peak = learner["inside"]["steps"][learner_second.index(max(learner_second))]
    back = _first(learner["inside"]["steps"], learner_second, lambda v: v < 0.9, after=peak)
    return {
        "other failing seed": f"seed {other_fail['seed']}",
        "its second layer from step 18 on, %": f"{100 * least_from_18:.1f} % or more from "
                                               f"step 18",
        "its first layer's gradient at the end":
            f"{_series(other_fail, 'layers', 0, 'grad_norm')[-1]:.1e}",
        "the learning seed": f"seed {learner['seed']}",
        "the learning seed's best dev": f"{learner['best_dev_acc']:.4f}",
        "its second layer's peak, %": f"{100 * max(learner_second):.1f}",
        "at step ": f"at step "
                    f"{learner['inside']['steps'][learner_second.index(max(learner_second))]}",
        "its end, %": f"{100 * learner_second[-1]:.1f}",
        "where it came back to": f"{100 * _at(learner, learner_second, back):.1f} % at step "
                                 f"{back}",
        "its first layer's gradient":
            f"{_series(learner, 'layers', 0, 'grad_norm')[-1]:.1e}",
        "lowest peak at lr 0.002, %": f"{100 * min(peaks):.1f}",
        "highest, %": f"{100 * max(peaks):.1f}",
        "peak steps": f"steps {min(peak_steps)} to {max(peak_steps)}",
        "reference saturated at the end, least, %": f"{100 * min(ends):.1f}",
        "most, %": f"{100 * max(ends):.1f}"}


def test_inside_the_network_findings(watched):
    """What happened inside the failing, the learning and the reference runs: every number the
    paragraph quotes is the committed watched runs', and what it concludes holds on every seed:
    a run stays at chance exactly when a layer stays saturated (99 % or more at every look from
    step 100 on); no layer of the other runs that learn passes the reference's highest share."""
    fail, learn, ref = (watched[name] for name in ("3 x 512, lr 0.01", "3 x 512, lr 0.002",
                                                   "512, lr 0.02"))
    every = [run for config in (fail, learn, ref) for run in config["seeds"]]
    for run in every:
        later = [look for step, look in zip(run["inside"]["steps"], run["inside"]["hidden"],
                                            strict=True) if step >= 100]
        stays = any(min(look[layer]["saturated"] for look in later) >= 0.99
                    for layer in range(len(later[0])))
        assert stays == (run["best_dev_acc"] <= 0.6), run["seed"]
    others = [run for run in every if run["best_dev_acc"] > 0.6 and run not in fail["seeds"]]
    assert len(others) == 6
    assert max(look[layer]["saturated"] for run in others for look in run["inside"]["hidden"]
               for layer in range(len(look))) == max(
        _series(run, "hidden", 0, "saturated")[-1] for run in ref["seeds"])
    ratios = [_series(fail, "layers", layer, "update_ratio") for layer in (0, 1)]
    above = max(step for step, first, second in zip(fail["inside"]["steps"], *ratios,
                                                    strict=True)
                if step and (first > -3 or second > -3))
    next_look = fail["inside"]["steps"][fail["inside"]["steps"].index(above) + 1]
    claims = {**_failing_claims(fail), **_learning_claims(learn, ref),
              **_other_seeds_claims(fail, learn, ref),
              "update ratios above -3 until": f"until step {next_look}"}
    assert_quotes(paragraph(section("Inside the network"), "**What happened.**"), claims)


def test_constant_initialisation_shown_on_the_code(shown):
    """Concept 6's demonstration quotes diagnose.json: one distinct unit from the constant
    start, 512 from the default one, and their dev accuracies."""
    constant, default = shown["constant_init"]["constant"], shown["constant_init"]["default"]
    assert constant["distinct_units"] == 1 and default["distinct_units"] == 512
    text = paragraph(section("Concepts, intuitions and big picture"), "*Shown on the code*")
    assert_quotes(text, {"distinct units from the constant": "1", "from the default": "512",
                         "largest difference": f"{constant['largest_row_difference']:.1f}",
                         "constant start's dev accuracy": f"{constant['dev_acc']:.4f}",
                         "default start's": f"{default['dev_acc']:.4f}"},
                  allowed=["0.1", "0.02"])


def test_xor_shown_on_the_code(shown):
    """XOR 3 and 4's demonstrations quote diagnose.json: from zeros only b2 moves and the
    output is constant; from 0.5 the units stay copies; the random starts' outcomes."""
    xor = shown["xor"]
    zeros_text, constant_text = (paragraph(part, "*Shown on the code*") for part in
                                 section("Simulating XOR").split("4. **Extra credit", 1))
    assert xor["zeros"]["moved"] == ["linears.1.bias"] and "`linears.1.bias`" in zeros_text
    assert max(xor["zeros"]["outputs"]) - min(xor["zeros"]["outputs"]) < 1e-6
    assert_quotes(zeros_text, {"the outputs": f"{xor['zeros']['outputs'][0]:.3f}"},
                  allowed=["0.1"])
    two, eight = xor["random"]["2"], xor["random"]["8"]
    assert xor["constant"]["largest_row_difference"] == 0
    assert_quotes(constant_text, {
        "units apart": f"{xor['constant']['largest_row_difference']:.1f}",
        **{f"output {i}": f"{y:.3f}" for i, y in enumerate(xor["constant"]["outputs"])},
        "two units learned": str(two["learned"]), "of seeds": str(two["seeds"]),
        "dead unit": str(two["dead_unit"]), "linear": str(two["linear"]),
        "other": str(two["other"]), "eight units learned": str(eight["learned"])},
        allowed=["0.5", "0.1"])


def test_vanishing_gradients_shown_on_the_code(shown):
    """Activations 3's demonstration quotes diagnose.json's gradient norms at one and eight
    hidden layers; Sigmoid's fall is steeper than (1/4)^L, ReLU's steeper than Tanh's, and with
    He's initialisation ReLU's stays within the range quoted."""
    depth = shown["depth"]
    assert depth["depths"] == list(range(1, 9))
    sigmoid = depth["Sigmoid"]
    assert sigmoid[-1] < sigmoid[0] * 0.25 ** 7 and sigmoid == sorted(sigmoid, reverse=True)
    assert depth["ReLU"][-1] < depth["Tanh"][-1]
    text = paragraph(section("Activations per layer, keeps linearity away"),
                     "*Shown on the code*")
    assert_quotes(text, {**{f"{name} at {layers}": f"{depth[name][index]:.1e}"
                            for name in ("Sigmoid", "Tanh", "ReLU") for layers, index in
                            (("one layer", 0), ("eight", -1))},
                         "He-initialised ReLU, lowest": f"{min(depth['ReLU, He init']):.1e}",
                         "highest": f"{max(depth['ReLU, He init']):.1e}"})


def test_large_positive_weights_shown_on_the_code(shown, watched):
    """Concept 7's demonstration quotes diagnose.json: with weights from U(1, 2) the deeper
    layers saturate completely and the first layer gets no gradient; the default start does
    neither, and learns."""
    large, default = shown["large_weights"]["large"], shown["large_weights"]["default"]
    failing = watched["3 x 512, lr 0.01"]
    assert large["saturated"][1:] == [1.0, 1.0] and large["grad_norm"] < 1e-6
    assert large["dev_acc"] < 0.55 < default["dev_acc"]
    text = paragraph(section("Concepts, intuitions and big picture"),
                     "*Shown on the code* (`python main.py diagnose`): the structures")
    assert_quotes(text, {"first layer saturated, %": f"{100 * large['saturated'][0]:.1f}",
                         "the others, %": f"{100 * large['saturated'][1]:.1f}",
                         "its gradient": f"{large['grad_norm']:.1f}",
                         "the default start's saturation, %":
                             f"{100 * max(default['saturated']):.1f}",
                         "the default start's gradient": f"{default['grad_norm']:.1e}",
                         "after an epoch": f"{large['dev_acc']:.4f}",
                         "the default's": f"{default['dev_acc']:.4f}",
                         "the failing watched run's second layer, its mean output at the end":
                             f"{failing['inside']['hidden'][-1][1]['mean']:.3f}"},
                  allowed=["0.001"])


def test_the_mistakes_findings():
    """The mistakes paragraph quotes the committed plots/mistakes.json of the homework's best
    model, the intervals of its differences (holding 0 where it says so), and the reviews it
    quotes with their probabilities."""
    every = json.loads(committed("plots/mistakes.json"))
    sweep = max(every, key=lambda name: every[name]["dev_acc"])
    found = every[sweep]
    intro = section("Programming").split("### What the best model gets wrong", 1)[1]
    assert found["model"] in intro and f"dev accuracy {found['dev_acc']:.4f})" in intro
    text = findings("### What the best model gets wrong")
    negation, contrast, length = found["negation"], found["contrast"], found["median_words"]
    assert negation["difference_95"][0] < 0 < negation["difference_95"][1]
    assert contrast["difference_95"][0] < 0 < contrast["difference_95"][1]
    assert length["difference_95"][1] < 0  # shorter
    shown = {item["text"]: item for way in ("false_positives", "false_negatives")
             for item in found[way]}
    quoted_reviews = re.findall(r'"([^"]+)"[^"(]*\((?:P\(positive\) )?(\d\.\d{3})\)', text)
    assert len(quoted_reviews) == 2
    for words, probability in quoted_reviews:
        (item,) = (item for review, item in shown.items() if words in " ".join(review.split()))
        assert f"{item['p_positive']:.3f}" == probability

    def interval(bounds: list[float], digits: str) -> dict[str, str]:
        return {f"bound {i}": f"{abs(bound):{digits}}" for i, bound in enumerate(bounds)}

    assert_quotes(text, {
        "mistakes": str(found["mistakes"]), "dev reviews": str(found["dev_reviews"]),
        "counted": f"{found['counted']} most confident",
        "the others": str(found["dev_reviews"] - found["counted"]),
        "negations per 100 words, mistakes": f"{negation['mistakes']['per_100_words']:.2f}",
        "the others'": f"{negation['others']['per_100_words']:.2f}",
        **{f"negation {k}": v for k, v in interval(negation["difference_95"], ".2f").items()},
        "contrasts per 100 words, mistakes": f"{contrast['mistakes']['per_100_words']:.2f}",
        "the others' contrasts": f"{contrast['others']['per_100_words']:.2f}",
        **{f"contrast {k}": v for k, v in interval(contrast["difference_95"], ".2f").items()},
        "median words, mistakes": f"{length['mistakes']:g}",
        "median words, others": f"{length['others']:g}",
        **{f"length {k}": v for k, v in interval(length["difference_95"], ".1f").items()},
        **{f"quoted review {i}": p for i, (_, p) in enumerate(quoted_reviews)}})


def test_what_explain_shows(committed_results):
    """The paragraph under predict --explain's output gives the kept learned model's dev
    accuracy (its first seed's best epoch) as the committed run has it."""
    bigrams = next(c for c in committed_results["beyond"]["configs"]
                   if c["name"] == "GloVe + bigrams, learned")
    assert_quotes(paragraph(section("Programming"), "The homework's model reads"), {
        "the kept learned model's dev accuracy": f"on {bigrams['runs'][0]['best_dev_acc']:.2f} "
                                                 f"of the dev"})
