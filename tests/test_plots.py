"""The plots say what they show: every line drawn is a run, the learning rates are named, seeds
that stay at chance are counted and kept apart, bars start at 0, and the y-range is the data's."""

import math

import pytest
from matplotlib.collections import PolyCollection

import answers
import beyond
import diagnose
import main
import mlp
import results

SPLIT = [[0.5, 0.5, 0.5, 0.5], [0.5, 0.62, 0.7, 0.74], [0.5, 0.5, 0.51, 0.5]]  # seeds that part
STEADY = [[0.6, 0.7, 0.72, 0.73], [0.61, 0.69, 0.73, 0.74], [0.6, 0.71, 0.72, 0.72]]


@pytest.fixture
def figures(monkeypatch) -> dict:
    """The figures the code draws, by file name, instead of the files."""
    drawn = {}

    def keep(fig: object, path: object) -> None:
        drawn[str(path).rsplit("/", 1)[-1]] = fig

    for module in (mlp, results, diagnose, answers):
        monkeypatch.setattr(module, "save_figure", keep)
    return drawn


def _texts(fig) -> str:
    """Every title, axis label and legend entry of a figure, as one string."""
    texts = [fig._suptitle.get_text() if fig._suptitle else ""]
    for ax in fig.axes:
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend():
            texts += [text.get_text() for text in ax.get_legend().get_texts()]
    return " | ".join(texts)


@pytest.mark.parametrize("panels", [False, True])
def test_every_line_drawn_is_one_seeds_curve(figures, panels):
    """Seeds that part (two at chance, one learning) are drawn each as itself, the median seed
    thick; no line is an average that follows no run, and no band spans where none goes."""
    mlp.visualize_configs([SPLIT, STEADY], ["split", "steady"], "dev accuracy", "acc.png",
                          panels=panels)
    runs = [tuple(curve) for curve in SPLIT + STEADY]
    for ax in (ax for ax in figures["acc.png"].axes if ax.get_visible()):
        drawn = [tuple(line.get_ydata()) for line in ax.lines if len(line.get_ydata()) > 1]
        assert drawn and all(curve in runs for curve in drawn)
        assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    widths = {tuple(line.get_ydata()): line.get_linewidth()
              for line in figures["acc.png"].axes[0].lines}
    assert widths[tuple(SPLIT[2])] > widths[tuple(SPLIT[0])]  # the median seed, by its mean


def _configs(curves: dict[str, list[list[float]]]) -> list[dict]:
    """Sweep results with these dev accuracy curves per seed (losses made from them)."""
    return [{"name": name, "lr": 0.01 * (index + 1), "hidden_dims": [4] * index,
             "runs": [{"dev_accs": run, "dev_losses": [1 - v for v in run],
                       "train_losses": [1 - v for v in run], "best_dev_acc": max(run)}
                      for run in runs]}
            for index, (name, runs) in enumerate(curves.items())]


def test_the_structures_plots_name_each_learning_rate(figures, tmp_path):
    """Each structure's loss plot and the plots across structures name the learning rates."""
    main.plot_sweep("structures", _configs({"None": STEADY, "512": STEADY}), tmp_path,
                    "each structure", loss_plots=True)
    assert "lr 0.01" in _texts(figures["structures_loss_none.png"])
    assert "lr 0.02" in _texts(figures["structures_loss_512.png"])
    for name in ("structures_dev_acc.png", "structures_dev_loss.png"):
        assert "None (lr 0.01)" in _texts(figures[name]) and "512 (lr 0.02)" in \
            _texts(figures[name])


def test_seeds_at_chance_are_counted_and_get_a_panel_each(figures, tmp_path):
    """A configuration whose seeds stay at chance says how many left it, and the sweep's plots
    give each configuration a panel, where their curves at chance cannot hide each other."""
    main.plot_sweep("lr", _configs({"lr 0.1": SPLIT, "lr 0.01": STEADY}), tmp_path,
                    "each learning rate", loss_plots=False)
    fig = figures["lr_dev_acc.png"]
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    assert "lr 0.1: 1 of 3 seeds leave chance" in _texts(fig)
    assert all(label.get_visible() for ax in fig.axes if ax.get_visible()
               for label in ax.get_xticklabels()[1:-1])  # epoch numbers under every panel


def test_a_first_epoch_far_from_the_rest_is_left_off_the_scale():
    """zoom: the y-range of the epochs after the first (or the first two) when they stretch it
    more than twice; None when they do not."""
    far = [[[0.6, 0.75, 0.76, 0.77]], [[0.55, 0.76, 0.765, 0.77]]]
    (low, high), skip = main.zoom(far)
    assert 0.74 < low < 0.75 and 0.77 < high < 0.78 and skip == 1
    assert main.zoom([[[0.5, 0.6, 0.75, 0.76]], [[0.55, 0.74, 0.76, 0.77]]])[1] == 2
    assert main.zoom([[[0.7, 0.72, 0.71, 0.73]]]) is None


def test_beyond_bars_start_at_zero_with_chance_marked(figures, tmp_path):
    """The test accuracy bars start at 0, and chance (0.5) is a line."""
    configs = [{"name": name, "runs": [{"test_acc": acc, "seconds": 1.0, "dev_accs": [acc]}] * 3}
               for name, acc in (("frozen", 0.76), ("learned", 0.89))]
    beyond.plot_beyond(configs, tmp_path)
    ax = figures["beyond_test_acc.png"].axes[0]
    assert ax.get_xlim()[0] == 0
    assert any(list(line.get_xdata()) == [0.5, 0.5] for line in ax.lines)


def test_the_inside_plots_say_which_seed_and_what_saturated_means(figures, tmp_path):
    """Each panel names its seed and how many seeds learned; the saturation axis says where a
    unit counts as saturated; the depth plot says it is one seed and one batch."""
    look = {"hidden": [[{"saturated": 0.5}]], "layers": [[{"grad_norm": 1.0,
                                                          "update_ratio": -3.0}] * 2]}
    runs = [{"seed": seed, "best_dev_acc": acc, "inside": {"steps": [0], **look}}
            for seed, acc in ((42, 0.5), (43, 0.76), (44, 0.5))]
    watched = [{"name": "3 x 512, lr 0.01", "activation": "Sigmoid", "runs": runs}]
    diagnose.plot_inside(watched, "saturation", tmp_path / "saturation.png")
    text = _texts(figures["saturation.png"])
    assert "seed 42: stays at chance" in text and "1 of 3 seeds learn" in text
    assert "below 0.01 or above 0.99" in text
    depth = {"depths": [1, 2], **{name: [1.0, 0.1] for name in diagnose.DEPTH_LINES}}
    diagnose.plot_depth(depth, tmp_path / "depth.png")
    assert f"one seed, {mlp.SEED}; one batch of" in _texts(figures["depth.png"])


def test_the_activation_figure_marks_relus_derivative_at_zero(figures):
    """The written answers' activation figure shows ReLU's derivative in two pieces and the
    value PyTorch takes at 0."""
    answers.visualize_activation_functions("activations.png")
    slope = figures["activations.png"].axes[1]
    relu = next(line for line in slope.lines if line.get_label() == "ReLU'")
    assert sum(math.isnan(y) for y in relu.get_ydata()) == 1
    assert "ReLU'(0) = 0 in PyTorch" in _texts(figures["activations.png"])
