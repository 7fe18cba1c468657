"""diagnose: what the Watch records, against autograd and by hand; the watched run is the
homework's run; each demonstration's claim on small data; the experiment end to end."""

import itertools
import json
import math

import pytest
import torch
from conftest import PNG, TINY_DIM

import mlp
from workshop.records import Config, RunOptions, Sweep, Trial, load_sweeps
from workshop.runs import sweeps
from workshop.runs.features import Featurised
from workshop.studies import diagnose


def test_sample_steps_are_dense_early_and_at_every_epochs_end():
    """Step 0, every one of the first few steps, the end of each epoch, nothing past the end."""
    steps = diagnose.sample_steps(steps_per_epoch=100, epochs=3)
    assert steps[:5] == [0, 1, 2, 3, 4] and steps == sorted(set(steps))
    assert {100, 200, 300} <= set(steps) and max(steps) == 300
    assert sum(step <= 100 for step in steps) > sum(step > 100 for step in steps)


def test_the_watch_records_what_autograd_and_the_update_give():
    """At step 0 the saturated share of a layer pushed into saturation; after one SGD step the
    gradient norm autograd gives and log10(lr |grad| / |w|), the size of that update."""
    torch.manual_seed(0)
    model = mlp.SentimentClassifier(3, 2, [4], "Sigmoid")
    with torch.no_grad():
        model.linears[0].weight.mul_(100)  # |z| in the tens: sigmoid's outputs at 0 or 1
    inputs, labels = torch.randn(16, 3), torch.randint(0, 2, (16,))
    with torch.no_grad():
        start = torch.sigmoid(inputs @ model.linears[0].weight.T + model.linears[0].bias)
    saturated = ((start < 0.01) | (start > 0.99)).float().mean().item()
    watch = diagnose.Watch(inputs, labels, "Sigmoid", samples=[0, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch.hooked():
        optimizer.zero_grad()
        model.loss(model(inputs), labels).backward()
        grads = [linear.weight.grad.clone() for linear in model.linears]
        optimizer.step()
    record = watch.record
    assert record["steps"] == [0, 1]
    hidden = torch.sigmoid(inputs @ model.linears[0].weight.T + model.linears[0].bias)
    assert record["hidden"][0][0]["saturated"] == pytest.approx(saturated) and saturated > 0.8
    assert record["hidden"][1][0]["mean"] == pytest.approx(hidden.mean().item(), rel=1e-5)
    assert [layer["grad_norm"] for layer in record["layers"][0]] == [None, None]
    for look, grad, linear in zip(record["layers"][1], grads, model.linears, strict=True):
        assert look["grad_norm"] == pytest.approx(grad.norm().item(), rel=1e-5)
        expected = math.log10(0.1 * grad.norm().item() / linear.weight.norm().item())
        # Up to float32's rounding of the updated weights (the first layer's are large).
        assert look["update_ratio"] == pytest.approx(expected, abs=1e-3)


def test_dead_relu_units_are_those_zero_on_every_example():
    """For ReLU the saturated share is the share of units that are 0 on the whole batch."""
    hidden = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0]])
    assert diagnose.SATURATED["relu"](hidden).float().mean().item() == 0.5  # units 0 and 2


@pytest.fixture(scope="module")
def featurised(tiny_datasets, tiny_vectors) -> Featurised:
    return Featurised(tiny_vectors, *tiny_datasets)


def test_a_watched_run_is_the_homeworks_run(featurised):
    """run_watched returns run_mlp's numbers exactly (the hooks only look), and a look at each
    sampled step of each layer."""
    trial = Trial(Config("x", [8, 8], "Tanh", lr=0.01, batch_size=32), seed=3, num_epochs=3,
                  device="cpu")
    watched = diagnose.run_watched(trial, featurised, on_epoch=print)
    plain = sweeps.run_homework(trial, featurised, on_epoch=print)
    assert watched.result == plain.result
    inside = watched.inside
    assert inside["steps"] == diagnose.sample_steps(10, 3)  # 300 reviews in batches of 32
    assert all(len(look) == 2 for look in inside["hidden"])
    assert all(len(look) == 3 for look in inside["layers"])


def test_constant_initialisation_keeps_every_unit_a_copy(featurised):
    """All 512 units of a constant start still have identical incoming weights after an epoch
    of Adam; the default start has 512 distinct units."""
    found = diagnose.constant_initialisation(featurised, Config("512", [512], "Sigmoid",
                                                                lr=0.02, batch_size=64))
    assert found["constant"]["distinct_units"] == 1
    assert found["constant"]["largest_row_difference"] == 0
    assert found["default"]["distinct_units"] == 512
    assert found["default"]["largest_row_difference"] > 0.01


def test_large_positive_weights_saturate_and_vanish_the_gradient(featurised):
    """Weights from U(1, 2) saturate the second and third Sigmoid layers' units, and the first
    layer's gradient is orders of magnitude below the default start's."""
    found = diagnose.large_positive_weights(featurised, Config("3 x 64", [64, 64, 64], "Sigmoid",
                                                               lr=0.001, batch_size=64))
    assert found["large"]["saturated"][1:] == [1.0, 1.0]
    assert found["large"]["grad_norm"] < 1e-6 * found["default"]["grad_norm"]
    assert found["default"]["saturated"] == [0.0, 0.0, 0.0]


def test_xor_from_zeros_from_a_constant_and_from_random_starts():
    """From zeros only the output bias moves and the output is one constant; from a constant
    the two hidden units stay copies and XOR is not reached; random starts of eight hidden
    units mostly learn it, and every start's outcome is counted once."""
    found = diagnose.xor_from_each_start(seeds=range(3))
    zeros, constant, random = found["zeros"], found["constant"], found["random"]
    assert zeros["moved"] == ["linears.1.bias"]
    assert max(zeros["outputs"]) - min(zeros["outputs"]) < 1e-6
    assert zeros["outputs"][0] == pytest.approx(0.5, abs=1e-3)  # the best constant for MSE
    assert constant["largest_row_difference"] == 0
    assert max(abs(y - t) for y, t in zip(constant["outputs"], [0, 1, 1, 0],
                                          strict=True)) >= 0.5 - 1e-6
    for width, outcomes in random.items():
        assert outcomes.pop("seeds") == 3 and sum(outcomes.values()) == 3, width
    assert random["8"]["learned"] >= 2


def test_the_gradient_that_reaches_the_first_layer_falls_with_sigmoid_depth():
    """At initialisation, each Sigmoid layer more shrinks the first layer's gradient."""
    torch.manual_seed(0)
    inputs, labels = torch.randn(64, TINY_DIM), torch.randint(0, 2, (64,))
    depth = diagnose.gradient_by_depth(inputs, labels, depths=range(1, 5))
    norms = depth["Sigmoid"]
    assert all(deeper < shallower / 2 for shallower, deeper in itertools.pairwise(norms))
    assert set(depth) == {"depths", *diagnose.DEPTH_LINES}


def test_the_experiment_end_to_end(tmp_path, tiny_splits, tiny_vectors, monkeypatch):
    """run_diagnose records its watched runs in results.json, its demonstrations in
    diagnose.json, and draws its four plots."""
    monkeypatch.setattr(diagnose, "XOR_SEEDS", 2)
    monkeypatch.setattr(diagnose, "XOR_STEPS", 50)
    watched = [Config(name, hidden, "Sigmoid", lr=0.01, batch_size=64)
               for name, hidden in (("three", [8, 8, 8]), ("one", [8]))]
    demonstrated = diagnose.Demonstrated(constant_init=watched[1], large_weights=watched[0])
    options = RunOptions(seeds=[1, 2], workers=1, plots_dir=tmp_path, cache_dir=None)
    results = diagnose.run_diagnose(Sweep("diagnose", watched, 2, "watched runs"), demonstrated,
                                    mlp.Splits(*tiny_splits), tiny_vectors, options)
    recorded = load_sweeps(tmp_path)["diagnose"]
    assert recorded.complete and recorded.configs == results
    assert [[len(run.inside["hidden"][0]) for run in r.runs] for r in results] == [
        [3, 3], [1, 1]]  # each seed's run is watched
    shown = json.loads((tmp_path / "diagnose.json").read_text())
    assert set(shown) == {"command", "constant_init", "large_weights", "xor", "depth"}
    for name in ("saturation", "gradients", "updates", "depth"):
        assert (tmp_path / f"diagnose_{name}.png").read_bytes().startswith(PNG)
