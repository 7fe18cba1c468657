"""A homework sweep from end to end, as main.py's explore_* functions ask for it: the splits
featurised once, every configuration trained with each seed, the plots, the best model kept, and
what that model gets wrong on the dev reviews."""

from __future__ import annotations

from workshop.data import GLOVE
from workshop.models import load
from workshop.records import Config, ConfigResult, Recipe, RunOptions, Sweep
from workshop.runs import mistakes, sweeps
from workshop.runs.features import make_datasets
from workshop.runs.plots import plot_sweep


def recipe(config: Config, embeddings: object) -> Recipe:
    """What rebuilds a homework configuration's model: its MLP on the mean of these vectors."""
    return Recipe(getattr(embeddings, "name", GLOVE), embeddings.vector_size, config.hidden_dims,
                  config.activation)


def run_sweep(sweep: Sweep, splits: object, embeddings: object,
              options: RunOptions | None = None) -> list[ConfigResult]:
    """Featurise the splits (dev, train, test: load_data_mlp's or plain dicts), train every
    configuration with every seed, and return one ConfigResult per configuration.

    Each finished configuration goes into results.json at once; then come the plots, the best
    configuration's model in plots_dir/models/<sweep>.pt, and its mistakes on the dev reviews
    in plots_dir/mistakes.md.
    """
    options = options or RunOptions()
    dev = splits[0]
    data = make_datasets(splits, embeddings, options.cache_dir)
    trained = sweeps.train_sweep(sweep.name, sweep.configs, sweeps.run_homework, data, options,
                               options.num_epochs or sweep.num_epochs, data.sizes,
                               keep_weights=True)
    plot_sweep(sweep, trained, options.plots_dir)
    path = sweeps.keep_best(sweep.name, trained, options,
                            lambda config: recipe(config, embeddings))
    if path is not None:
        mistakes.record(options.plots_dir, sweep.name,
                        mistakes.find(load(path, embeddings), data, dev))
    return trained
