"""The homework's three MLP sweeps, and `python main.py`, the entry to everything the project does.

    python main.py                      # all that hw3.md reports: every sweep with seeds 42-44
    python main.py structures           # one sweep (see --help for the others)
    python main.py --quick              # a smoke run on a few reviews, written to plots/quick/
    python main.py predict "a moving, wonderful film"
"""

from __future__ import annotations

from dataclasses import replace

from mlp import Splits
from workshop import cli
from workshop.records import Config, Learned, RunOptions, Sweep
from workshop.runs.homework import run_sweep
from workshop.studies.beyond import run_beyond
from workshop.studies.diagnose import Demonstrated, run_diagnose

NUM_EPOCHS = 20  # each run of the homework's sweeps

# ----------------------------------------------------------------------------------------------
# The homework's configurations, each setting once


def structures() -> list[Config]:
    """explore_mlp_structures' configurations: Sigmoid, batch 64, a learning rate each."""
    return [Config("None", [], "Sigmoid", lr=0.025, batch_size=64),
            Config("512", [512], "Sigmoid", lr=0.02, batch_size=64),
            Config("512 -> 512", [512, 512], "Sigmoid", lr=0.01, batch_size=64),
            Config("512 -> 512 -> 512", [512, 512, 512], "Sigmoid", lr=0.001, batch_size=64)]


def activations() -> list[Config]:
    """explore_mlp_activations' configurations: one hidden layer of 512, batch 128, lr 0.02."""
    return [Config(activation, [512], activation, lr=0.02, batch_size=128)
            for activation in ["Sigmoid", "Tanh", "ReLU", "GELU", "LeakyReLU", "SiLU"]]


def learning_rates() -> list[Config]:
    """explore_mlp_learning_rates' configurations: one Sigmoid hidden layer of 512, batch 64."""
    return [Config(f"lr {lr}", [512], "Sigmoid", lr=lr, batch_size=64)
            for lr in [0.1, 0.02, 0.005, 0.001]]


def three_layer_learning_rates() -> list[Config]:
    """The structures sweep's follow-up: its three hidden layers at other learning rates."""
    three = structures()[-1]
    return [Config(f"lr {lr}", three.hidden_dims, three.activation, lr=lr,
                   batch_size=three.batch_size) for lr in [0.02, 0.01, 0.005, 0.002]]


def named(configs: list[Config], name: str) -> Config:
    """The configuration of that name."""
    return next(config for config in configs if config.name == name)


# ----------------------------------------------------------------------------------------------
# The sweeps, as the course skeleton calls them: explore_*(dev, train, test, embeddings)


def explore_mlp_structures(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                           options: RunOptions | None = None) -> list:
    """Train each structure of hidden layers; plot its losses, and dev accuracy and loss across."""
    sweep = Sweep("structures", structures(), NUM_EPOCHS, "each structure of hidden layers",
                  loss_plots=True)
    return run_sweep(sweep, Splits(dev_d, train_d, test_d), embeddings, options)


def explore_mlp_activations(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                            options: RunOptions | None = None) -> list:
    """Train one hidden layer with each activation; plot dev accuracy and loss across them."""
    sweep = Sweep("activations", activations(), NUM_EPOCHS, "each activation")
    return run_sweep(sweep, Splits(dev_d, train_d, test_d), embeddings, options)


def explore_mlp_learning_rates(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                               options: RunOptions | None = None) -> list:
    """Train one hidden layer at each learning rate; plot dev accuracy and loss across them."""
    sweep = Sweep("learning-rates", learning_rates(), NUM_EPOCHS, "each learning rate")
    return run_sweep(sweep, Splits(dev_d, train_d, test_d), embeddings, options)


def explore_three_layer_learning_rates(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                                       options: RunOptions | None = None) -> list:
    """Train three hidden layers at other learning rates: the structures sweep's follow-up."""
    sweep = Sweep("three-layer-learning-rates", three_layer_learning_rates(), NUM_EPOCHS,
                  "three hidden layers at each learning rate")
    return run_sweep(sweep, Splits(dev_d, train_d, test_d), embeddings, options)


def explore_diagnose(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                     options: RunOptions | None = None) -> list:
    """Watch inside the network why a run learns or stays at chance; show the written answers."""
    follow_up, reference = three_layer_learning_rates(), named(structures(), "512")
    watched = [replace(named(follow_up, f"lr {lr}"), name=f"3 x 512, lr {lr}")
               for lr in (0.01, 0.002)]
    watched.append(replace(reference, name=f"512, lr {reference.lr}"))
    sweep = Sweep("diagnose", watched, NUM_EPOCHS, "watched runs")
    demonstrated = Demonstrated(constant_init=reference, large_weights=structures()[-1])
    return run_diagnose(sweep, demonstrated, Splits(dev_d, train_d, test_d), embeddings,
                        options)


def explore_beyond(dev_d: dict, train_d: dict, test_d: dict, embeddings,
                   options: RunOptions | None = None) -> list:
    """Train word vectors that learn, under the activations sweep's ReLU head, against GloVe's."""
    head = named(activations(), "ReLU")

    def learning(name: str, learned: Learned) -> Config:  # the head, and a table that learns
        return replace(head, name=name, lr=0.001, batch_size=64, learned=learned)

    sweep = Sweep("beyond", [
        replace(head, name="frozen GloVe mean"),
        learning("GloVe, learned", Learned("glove", bigrams=False, embedding_lr=0.003,
                                           neighbours=True)),
        learning("GloVe + bigrams, learned", Learned("glove", bigrams=True, embedding_lr=0.003)),
        learning("random, learned", Learned("random", bigrams=False, embedding_lr=0.003)),
    ], num_epochs=10, subject="frozen and learned word vectors")  # they fit train in a few
    return run_beyond(sweep, Splits(dev_d, train_d, test_d), embeddings, options)


# Every command that trains, by its name on the command line (`python main.py --help`), in the
# order `python main.py` trains them: diagnose first, because the runs it watches are runs of
# the structures sweep, the learning-rate sweep and the follow-up, which then read them from the
# command's ledger instead of training them again.
SWEEPS = {"diagnose": explore_diagnose, "structures": explore_mlp_structures,
          "activations": explore_mlp_activations, "learning-rates": explore_mlp_learning_rates,
          "three-layer-learning-rates": explore_three_layer_learning_rates,
          "beyond": explore_beyond}


def main(argv: list[str] | None = None) -> None:
    """Run the command that the command line asks for."""
    cli.main(argv, SWEEPS)


if __name__ == "__main__":
    main()
