"""A sweep's plots, drawn with the homework's visualize_epochs and visualize_configs: dev accuracy
and loss across its configurations (a panel each where their curves would lie on each other),
and with loss_plots each configuration's train vs dev loss, all on one scale."""

from __future__ import annotations

from pathlib import Path

from mlp import visualize_configs, visualize_epochs
from workshop.records import ConfigResult, Sweep


def plot_sweep(sweep: Sweep, trained: list[ConfigResult], plots_dir: Path) -> None:
    """The sweep's plots, in plots_dir as <sweep>_dev_acc.png, <sweep>_dev_loss.png and, with
    loss_plots, <sweep>_loss_<configuration>.png."""
    prefix = sweep.name.replace("-", "_")
    if sweep.loss_plots:
        plot_losses(trained, plots_dir, prefix)
    lrs = len({result.config.lr for result in trained}) > 1
    # Where some seeds stay at chance, every configuration gets a panel that counts its own.
    at_chance = any(not run.learned for result in trained for run in result.runs)
    labels = [label(result, lrs, counted=at_chance) for result in trained]
    panels = len(trained) > 4 or at_chance
    for metric, short, curve in (("dev accuracy", "dev_acc", "dev_accs"),
                                 ("dev loss", "dev_loss", "dev_losses")):
        curves = [per_seed(result, curve) for result in trained]
        zoomed = zoom(curves)
        off = "" if zoomed is None else \
            f" (epoch{'s 1-2' if zoomed[1] == 2 else ' 1'} partly off the scale)"
        visualize_configs(curves, labels, metric, plots_dir / f"{prefix}_{short}.png",
                          title=f"{metric.capitalize()} per epoch, {sweep.subject}{off}",
                          panels=panels, ylim=zoomed and zoomed[0])


def per_seed(result: ConfigResult, curve: str) -> list[list[float]]:
    """One curve of each run that finished an epoch (curve: train_losses, dev_accs, ...)."""
    return [getattr(run, curve) for run in result.runs if getattr(run, curve)]


def plot_losses(trained: list[ConfigResult], plots_dir: Path, prefix: str) -> None:
    """Each configuration's train vs dev loss per epoch, every plot on one scale."""
    losses = [loss for result in trained for curve in ("train_losses", "dev_losses")
              for run in per_seed(result, curve) for loss in run]
    margin = 0.05 * (max(losses) - min(losses))
    for result in trained:
        config = result.config
        slug = config.name.replace(" -> ", "x").replace(" ", "_").lower()
        visualize_epochs(per_seed(result, "train_losses"), per_seed(result, "dev_losses"),
                         plots_dir / f"{prefix}_loss_{slug}.png",
                         title=f"Train and dev loss, {layers_in_words(config.hidden_dims)}, "
                               f"lr {config.lr}",
                         ylim=(min(losses) - margin, max(losses) + margin))


def label(result: ConfigResult, lr: bool, counted: bool) -> str:
    """A configuration's name in a plot: with its learning rate (lr) when the sweep's differ,
    and (counted) how many of its seeds left chance."""
    config = result.config
    name = f"{config.name} (lr {config.lr})" if lr and "lr" not in config.name else config.name
    learned, runs = sum(run.learned for run in result.runs), len(result.runs)
    return f"{name}: {learned} of {runs} seeds leave chance" if counted else name


def zoom(curves: list[list[list[float]]]) -> tuple[tuple[float, float], int] | None:
    """A y-range for curves whose first epoch or two lie far from the rest: the values after
    the first `skip` epochs (1 or 2, the fewest that halve the range), with a margin, and skip;
    None when the curves' own range is fine."""
    every = [value for config in curves for run in config for value in run]
    for skip in (1, 2):
        later = [value for config in curves for run in config for value in run[skip:]]
        if later and 0 < 2 * (max(later) - min(later)) < max(every) - min(every):
            margin = 0.1 * (max(later) - min(later))
            return (min(later) - margin, max(later) + margin), skip
    return None


def layers_in_words(hidden_dims: tuple[int, ...]) -> str:
    """'no hidden layer', 'one hidden layer of 512', 'three hidden layers of 512', ..."""
    if not hidden_dims:
        return "no hidden layer (a linear model)"
    count = ["one", "two", "three", "four"][len(hidden_dims) - 1] if len(hidden_dims) < 5 \
        else str(len(hidden_dims))
    sizes = " -> ".join(map(str, hidden_dims)) if len(set(hidden_dims)) > 1 else hidden_dims[0]
    return f"{count} hidden layer{'s' if len(hidden_dims) > 1 else ''} of {sizes}"
