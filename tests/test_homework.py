"""This project's own completion meets the handout on every item of the grader (what it gives is
what the grader expects of a submission), and the checks' judges accept it."""

import pytest
import torch

import main
import mlp
from workshop.grading import checks, grade

DRAW = checks.Draw(7)


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict:
    """What this project gives for each item's probe (as the grader computes it)."""
    return checks.reference(grade.project(tmp_path_factory.mktemp("project"), main.SWEEPS), DRAW)


@pytest.mark.parametrize("item", checks.ITEMS)
def test_this_project_passes_each_item(item, expected):
    """Judged against itself, every case of every item passes: the sweeps try the handout's
    values with its settings and plot dev accuracy and loss per epoch, one line a run."""
    verdict = checks.ITEMS[item].judge(expected[item], expected[item], DRAW)
    assert verdict.passed == verdict.cases > 0, verdict.failures


@pytest.mark.parametrize("name", mlp.ACTIVATIONS)
def test_every_activation_follows_each_hidden_layer_only(name, tmp_path):
    """Beyond the skeleton's list: each activation of mlp.ACTIVATIONS (by name, in any case)
    is applied after every hidden layer and never after the last, as the forward check wants."""
    seen = checks.probe_model(checks.Submission(mlp, None, tmp_path), DRAW, (4, 2, [16, 8]),
                              name.upper())
    function = mlp.ACTIVATIONS[name]()
    assert checks.forward_problem(seen, DRAW.inputs(4), lambda z: function(z.float()).double(),
                                  name) is None
    assert torch.is_tensor(checks.tensor(seen["got"]))


def test_the_forward_judge_tells_logits_apart_by_a_thousandth(tmp_path):
    """Logits equal to the layers' products, or those plus a constant per row, pass; one logit
    off by a thousandth fails: the judge's tolerance is float32's, not a loose one."""
    seen = checks.probe_model(checks.Submission(mlp, None, tmp_path), DRAW, (4, 2, [8]), None)
    x = DRAW.inputs(4)
    assert checks.forward_problem(seen, x, torch.sigmoid, "Sigmoid") is None
    logits = torch.tensor(seen["got"]["values"])
    for changed, passes in ((logits + torch.tensor([[0.5], [-2.0], [3.0]]), True),
                            (logits + torch.tensor([[1e-3, 0.0], [0.0, 0.0], [0.0, 0.0]]),
                             False)):
        case = {**seen, "got": checks.plain(changed)}
        assert (checks.forward_problem(case, x, torch.sigmoid, "Sigmoid") is None) == passes
