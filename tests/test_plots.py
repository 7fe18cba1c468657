"""The plots say what they show: every line drawn is a run, the learning rates are named, seeds
that stay at chance are counted and kept apart, bars start at 0, and the y-range is the data's."""

import math

import pytest
from matplotlib.collections import PolyCollection

import mlp
from workshop import files
from workshop.records import Config, ConfigResult, Run, RunOptions, Sweep
from workshop.runs import plots
from workshop.studies import answers, beyond, diagnose

SPLIT = [[0.5, 0.5, 0.5, 0.5], [0.5, 0.62, 0.7, 0.74], [0.5, 0.5, 0.51, 0.5]]  # seeds that part
STEADY = [[0.6, 0.7, 0.72, 0.73], [0.61, 0.69, 0.73, 0.74], [0.6, 0.71, 0.72, 0.72]]


@pytest.fixture
def figures(monkeypatch) -> dict:
    """The figures the code draws, by file name, instead of the files."""
    drawn = {}

    def keep(fig: object, path: object) -> None:
        drawn[str(path).rsplit("/", 1)[-1]] = fig

    for module in (mlp, files, beyond, diagnose, answers):
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


def _run(seed: int, dev_accs: list[float], test_acc: float = 0.7,
         train_losses: list[float] | None = None, inside: dict | None = None) -> Run:
    """A run with these dev accuracies (its losses made from them unless given)."""
    losses = [1 - v for v in dev_accs]
    return Run(seed, len(dev_accs), 1.0, train_losses or losses, dev_accs, losses, dev_accs,
               0.5, test_acc, inside=inside)


def _configs(curves: dict[str, list[list[float]]]) -> list[ConfigResult]:
    """Sweep results with these dev accuracy curves per seed (losses made from them)."""
    return [ConfigResult(Config(name, [4] * index, "Sigmoid", lr=0.01 * (index + 1),
                                batch_size=64),
                         [_run(seed, run) for seed, run in enumerate(runs)])
            for index, (name, runs) in enumerate(curves.items())]


def _sweep(name: str, found: list[ConfigResult], loss_plots: bool = False) -> Sweep:
    return Sweep(name, [result.config for result in found], 4, "each one", loss_plots)


def test_the_structures_plots_name_each_learning_rate(figures, tmp_path):
    """Each structure's loss plot and the plots across structures name the learning rates."""
    found = _configs({"None": STEADY, "512": STEADY})
    plots.plot_sweep(_sweep("structures", found, loss_plots=True), found, tmp_path)
    assert "lr 0.01" in _texts(figures["structures_loss_none.png"])
    assert "lr 0.02" in _texts(figures["structures_loss_512.png"])
    for name in ("structures_dev_acc.png", "structures_dev_loss.png"):
        assert "None (lr 0.01)" in _texts(figures[name]) and "512 (lr 0.02)" in \
            _texts(figures[name])


def test_seeds_at_chance_are_counted_and_get_a_panel_each(figures, tmp_path):
    """A configuration whose seeds stay at chance says how many left it, and the sweep's plots
    give each configuration a panel, where their curves at chance cannot hide each other."""
    found = _configs({"lr 0.1": SPLIT, "lr 0.01": STEADY})
    plots.plot_sweep(_sweep("lr", found), found, tmp_path)
    fig = figures["lr_dev_acc.png"]
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    # Every panel counts its seeds, those that all learned too.
    assert "lr 0.1: 1 of 3 seeds leave chance" in _texts(fig)
    assert "lr 0.01: 3 of 3 seeds leave chance" in _texts(fig)
    assert all(label.get_visible() for ax in fig.axes if ax.get_visible()
               for label in ax.get_xticklabels()[1:-1])  # epoch numbers under every panel


def test_a_first_epoch_far_from_the_rest_is_left_off_the_scale():
    """zoom: the y-range of the epochs after the first (or the first two) when they stretch it
    more than twice; None when they do not."""
    far = [[[0.6, 0.75, 0.76, 0.77]], [[0.55, 0.76, 0.765, 0.77]]]
    (low, high), skip = plots.zoom(far)
    assert 0.74 < low < 0.75 and 0.77 < high < 0.78 and skip == 1
    assert plots.zoom([[[0.5, 0.6, 0.75, 0.76]], [[0.55, 0.74, 0.76, 0.77]]])[1] == 2
    assert plots.zoom([[[0.7, 0.72, 0.71, 0.73]]]) is None


def test_a_loss_plots_thick_lines_are_one_seed_and_its_legend_says_which(figures):
    """visualize_epochs draws thick the train and dev loss of one run, the seed with the median
    dev loss (not each curve's own median seed), and its legend says so."""
    train = [[0.3, 0.2], [0.5, 0.4], [0.7, 0.6]]  # the train-median seed is the second
    dev = [[0.9, 0.9], [0.1, 0.1], [0.5, 0.5]]  # the dev-median seed is the third
    mlp.visualize_epochs(train, dev, "loss.png")
    lines = figures["loss.png"].axes[0].lines
    thick = [tuple(line.get_ydata()) for line in lines if line.get_linewidth() == 2]
    assert thick == [(0.7, 0.6), (0.5, 0.5)]
    assert "the seed (of 3) with the median dev loss" in _texts(figures["loss.png"]).replace(
        "\n", " ")


def test_beyond_bars_start_at_zero_with_chance_marked(figures, tmp_path):
    """The test accuracy bars start at 0, and chance (0.5) is a line."""
    found = [ConfigResult(Config(name, [4], "ReLU", 0.01, 64),
                          [_run(seed, [acc], test_acc=acc) for seed in range(3)])
             for name, acc in (("frozen", 0.76), ("learned", 0.89))]
    beyond.plot_beyond(found, RunOptions(plots_dir=tmp_path))
    ax = figures["beyond_test_acc.png"].axes[0]
    assert ax.get_xlim()[0] == 0
    assert any(list(line.get_xdata()) == [0.5, 0.5] for line in ax.lines)


def test_the_inside_plots_say_which_seed_and_what_saturated_means(figures, tmp_path):
    """Each panel names its seed and how many seeds learned; the saturation axis says where a
    unit counts as saturated; the depth plot says it is one seed and one batch."""
    look = {"hidden": [[{"saturated": 0.5}]], "layers": [[{"grad_norm": 1.0,
                                                          "update_ratio": -3.0}] * 2]}
    runs = [_run(seed, [acc], inside={"steps": [0], **look})
            for seed, acc in ((42, 0.5), (43, 0.76), (44, 0.5))]
    watched = [ConfigResult(Config("3 x 512, lr 0.01", [512] * 3, "Sigmoid", 0.01, 64), runs)]
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
