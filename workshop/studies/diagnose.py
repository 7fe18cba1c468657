"""Inside the network: why a run learns or sits at chance, and the written answers shown on the
project's own code.

    python main.py diagnose    # three runs watched, three seeds each, and the demonstrations

1. Training diagnostics, as Karpathy's "makemore part 3" reads a deep net: the homework's own
   mlp.run_mlp trains configurations of main.py's sweeps (the follow-up's three Sigmoid layers
   of 512 at a learning rate where they fail and at one where they learn, and the structures
   sweep's one layer of 512 for reference), with each seed, while torch's global hooks watch.
   At steps sampled densely early (where a failure happens) and at the end of every epoch they
   record, for each hidden layer, the mean and spread of its activations on a fixed dev batch
   and the share of its outputs (each unit on each review) that are saturated; for each layer,
   the norm of its weight gradient and log10(|dw| / |w|), the size of an update against the
   weights it changes, averaged over the steps since the last sample. They are runs of those
   sweeps too: `python main.py` trains them here first, and the sweeps read them.
2. Demonstrations of hw3.md's answers: constant initialisation keeps a layer's units identical
   (concepts 1 and 6, XOR 4); from all zeros only the output bias of the XOR network moves
   (XOR 3); the gradient that reaches the first layer shrinks with depth (activations 3,
   concept 7).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn
from torch.nn.modules.module import register_module_forward_pre_hook
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

import mlp
from workshop.data import WordVectors
from workshop.files import atomic_write, save_figure
from workshop.records import Config, ConfigResult, Outcome, RunOptions, Sweep, Trial
from workshop.runs import sweeps
from workshop.runs.features import Featurised, make_datasets

DEV_BATCH = 1000  # the first dev reviews: the fixed batch whose activations are watched
# A unit's output that is saturated: its derivative is nearly 0 there (Sigmoid's below 0.0099).
SATURATED: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": lambda h: (h < 0.01) | (h > 0.99),
    "tanh": lambda h: h.abs() > 0.97,
    "relu": lambda h: (h == 0).all(dim=0, keepdim=True).expand_as(h),  # dead on every example
}
CONSTANT = 0.1  # constant initialisation: every weight and bias of the network
LARGE = (1.0, 2.0)  # "large positive" initial weights (concept 7): drawn from U(1, 2)
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = torch.tensor([0.0, 1.0, 1.0, 0.0])
XOR_STEPS, XOR_LR, XOR_SEEDS = 2000, 0.1, 20  # full-batch gradient descent on the MSE
XOR_CONSTANT = 0.5
XOR_WIDTHS = (2, 8)  # hidden units: the handout's two, and more, from random starts
DEPTHS = range(1, 9)  # hidden layers of 512, for the gradient that reaches the first one


@dataclass(frozen=True)
class Demonstrated:
    """The configurations that two demonstrations train as: constant initialisation, and large
    positive initial weights."""

    constant_init: Config
    large_weights: Config


def run_diagnose(sweep: Sweep, demonstrated: Demonstrated, splits: mlp.Splits,
                 embeddings: WordVectors, options: RunOptions | None = None
                 ) -> list[ConfigResult]:
    """Train and watch the sweep's configurations (results.json's "diagnose", each run with what
    was seen inside), run the demonstrations (diagnose.json), and draw their plots."""
    options = options or RunOptions()
    data = make_datasets(splits, embeddings, options.cache_dir)
    # Watched as they train, so never read from the ledger; put there, with the first seed's
    # best weights, for the sweeps that train the same configurations after this one.
    watched = sweeps.train_sweep(sweep.name, sweep.configs, run_watched, data, options,
                                 options.num_epochs or sweep.num_epochs, data.sizes,
                                 keep_weights=options.ledger is not None, reads_ledger=False)
    sweeps.remove_weights(options.plots_dir, sweep.name, len(sweep.configs))
    for metric in ("saturation", "gradients", "updates"):
        plot_inside(watched, metric, options.plots_dir / f"diagnose_{metric}.png")
    shown = demonstrations(data, demonstrated)
    plot_depth(shown["depth"], options.plots_dir / "diagnose_depth.png")
    text = json.dumps({"command": options.command, **shown}, indent=1) + "\n"
    atomic_write(options.plots_dir / "diagnose.json", lambda tmp: tmp.write_text(text))
    print(demonstrations_text(shown), flush=True)
    return watched


# ----------------------------------------------------------------------------------------------
# Watching a run


def sample_steps(steps_per_epoch: int, epochs: int) -> list[int]:
    """The steps after which to look: 0 (the initialisation), eight a decade on a log scale
    (most of them in the first few hundred steps), and the end of every epoch."""
    total = steps_per_epoch * epochs
    early = {round(10 ** (k / 8)) for k in range(8 * math.ceil(math.log10(total)) + 1)}
    ends = {epoch * steps_per_epoch for epoch in range(1, epochs + 1)}
    return sorted({0} | {step for step in early if step <= total} | ends)


class Watch:
    """What torch's hooks see of one training run: at each sampled step, the activations of
    each hidden layer on a fixed batch, and each layer's gradient and update sizes."""

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor, activation: str,
                 samples: list[int]) -> None:
        self.inputs, self.labels = inputs, labels
        self.saturated = SATURATED[activation.lower()]
        self.samples, self.step, self.model = set(samples), 0, None
        self.before: list[torch.Tensor] = []  # each layer's weights before this step
        self.grad_norms: list[float | None] = []  # each layer's, at the last sampled step
        self.ratios: list[list[float]] = []  # log10(|dw| / |w|) of the steps since a sample
        self.record: dict = {"steps": [], "dev_loss": [], "dev_acc": [], "hidden": [],
                             "layers": []}

    @contextlib.contextmanager
    def hooked(self) -> Iterator[Watch]:
        """Watch whatever SentimentClassifier is trained inside the with-block."""
        handles = [register_module_forward_pre_hook(self._find_model),
                   register_optimizer_step_pre_hook(self._before_step),
                   register_optimizer_step_post_hook(self._after_step)]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def _find_model(self, module: nn.Module, args: tuple) -> None:
        """The first forward pass of a SentimentClassifier: that is the model to watch."""
        if self.model is None and isinstance(module, mlp.SentimentClassifier):
            self.model = module
            self.ratios = [[] for _ in module.linears]
            self.grad_norms = [None for _ in module.linears]  # none before the first step
            self.before = [linear.weight.detach().clone() for linear in module.linears]
            self._look()  # step 0: the initialisation

    def _before_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        """Keep the weights this step will change, and the gradients of a sampled step."""
        for before, linear in zip(self.before, self.model.linears, strict=True):
            before.copy_(linear.weight.detach())
        if self.step + 1 in self.samples:
            self.grad_norms = [linear.weight.grad.norm().item() for linear in self.model.linears]

    def _after_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        """The size of this step's update of each layer; a look at a sampled step."""
        self.step += 1
        for ratios, before, linear in zip(self.ratios, self.before, self.model.linears,
                                          strict=True):
            weight = linear.weight.detach()
            change = max((weight - before).norm().item(), 1e-12 * weight.norm().item())
            ratios.append(math.log10(change / weight.norm().item()))  # at least -12
        if self.step in self.samples:
            self._look()

    def _look(self) -> None:
        """Record the fixed batch's loss and accuracy and each hidden layer's activations now,
        and each layer's gradient norm and mean update ratio since the last look."""
        outputs = []
        hook = self.model.activation.register_forward_hook(lambda *io: outputs.append(io[2]))
        device = next(self.model.parameters()).device
        with torch.no_grad():
            logits = self.model(self.inputs.to(device))
            labels = self.labels.to(device)
            self.record["dev_loss"].append(self.model.loss(logits, labels).item())
            self.record["dev_acc"].append(mlp.accuracy(logits, labels).mean().item())
        hook.remove()
        self.record["steps"].append(self.step)
        self.record["hidden"].append([
            {"mean": h.mean().item(), "std": h.std().item(),
             "saturated": self.saturated(h).float().mean().item()} for h in outputs])
        self.record["layers"].append([
            {"grad_norm": norm, "update_ratio": float(np.mean(ratios)) if ratios else None}
            for norm, ratios in zip(self.grad_norms, self.ratios, strict=True)])
        self.ratios = [[] for _ in self.ratios]


def run_watched(trial: Trial, data: Featurised, on_epoch: Callable[[int], object]) -> Outcome:
    """The sweep's runner: the homework's run_mlp, watched; the Outcome also holds what the
    Watch saw inside."""
    steps_per_epoch = math.ceil(len(data.train) / trial.config.batch_size)
    inputs, labels = (tensor[:DEV_BATCH] for tensor in data.dev.tensors)
    watch = Watch(inputs, labels, trial.config.activation,
                  sample_steps(steps_per_epoch, trial.num_epochs))
    with watch.hooked():
        plain = sweeps.run_homework(trial, data, on_epoch)
    return Outcome(plain.result, inside=watch.record)


# ----------------------------------------------------------------------------------------------
# The written answers, shown


def demonstrations(data: Featurised, demonstrated: Demonstrated) -> dict:
    """Each demonstration's numbers, by name."""
    return {"constant_init": constant_initialisation(data, demonstrated.constant_init),
            "large_weights": large_positive_weights(data, demonstrated.large_weights),
            "xor": xor_from_each_start(),
            "depth": gradient_by_depth(data.train.tensors[0][:DEV_BATCH],
                                       data.train.tensors[1][:DEV_BATCH])}


def constant_initialisation(data: Featurised, config: Config, value: float = CONSTANT) -> dict:
    """The configuration's model (its hidden layers and activation) with every weight and bias
    set to value, trained one epoch as its sweep trains it (Adam, its learning rate and batch
    size), beside the default initialisation: how far apart its first layer's units' incoming
    weights end, how many distinct units it has, and the dev accuracy it reaches."""
    numbers = {}
    for start in ("constant", "default"):
        model = seeded_model(data, config)
        if start == "constant":
            for parameter in model.parameters():
                nn.init.constant_(parameter, value)
        dev_acc = one_epoch(model, data, config)
        rows = model.linears[0].weight.detach()  # (units, embed_dim): one row per unit
        numbers[start] = {"largest_row_difference": (rows - rows[0]).abs().max().item(),
                          "distinct_units": len(torch.unique(rows, dim=0)), "dev_acc": dev_acc}
    return numbers


def seeded_model(data: Featurised, config: Config) -> mlp.SentimentClassifier:
    """The configuration's model (its hidden layers and activation), initialised after
    torch.manual_seed(mlp.SEED)."""
    torch.manual_seed(mlp.SEED)
    return mlp.SentimentClassifier(data.embeddings.vector_size, mlp.NUM_CLASSES,
                                   list(config.hidden_dims), config.activation)


def one_epoch(model: mlp.SentimentClassifier, data: Featurised, config: Config) -> float:
    """Train the model one epoch as its sweep trains it (Adam, its learning rate and batch
    size): the dev accuracy it reaches."""
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    curves = mlp.train(model, optimizer, mlp.create_dataloader(data.train, config.batch_size),
                       mlp.create_dataloader(data.dev, config.batch_size, shuffle=False), 1,
                       progress=False)
    return curves.dev_accs[-1]


def large_positive_weights(data: Featurised, config: Config, low: float = LARGE[0],
                           high: float = LARGE[1]) -> dict:
    """The configuration's model from PyTorch's default initialisation and with every weight
    drawn from U(low, high), large and positive (concept 7): at the start, the share of each
    hidden layer's units that are saturated and the first layer's gradient norm, on DEV_BATCH
    training reviews; and the dev accuracy after one epoch as its sweep trains it."""
    inputs, labels = (tensor[:DEV_BATCH] for tensor in data.train.tensors)
    numbers = {}
    for start in ("default", "large"):
        model = seeded_model(data, config)
        if start == "large":
            for linear in model.linears:
                nn.init.uniform_(linear.weight, low, high)
        outputs = []
        hook = model.activation.register_forward_hook(
            lambda *io, outputs=outputs: outputs.append(io[2]))  # each hidden layer's output
        model.loss(model(inputs), labels).backward()
        hook.remove()
        saturated = SATURATED[config.activation.lower()]
        numbers[start] = {"saturated": [saturated(h).float().mean().item() for h in outputs],
                          "grad_norm": model.linears[0].weight.grad.norm().item()}
        model.zero_grad()
        numbers[start]["dev_acc"] = one_epoch(model, data, config)
    return numbers


def train_xor(seed: int, start: Callable[[nn.Module], None] | None = None,
              width: int = 2) -> nn.Module:
    """hw3.md's XOR network, 2 inputs -> width ReLU units -> 1 output (a SentimentClassifier
    with one output), trained by full-batch gradient descent on the mean squared error; start
    sets its initial parameters (None: PyTorch's random initialisation, seeded)."""
    torch.manual_seed(seed)
    model = mlp.SentimentClassifier(2, 1, [width], "ReLU")
    if start is not None:
        start(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=XOR_LR)
    for _ in range(XOR_STEPS):
        optimizer.zero_grad()
        loss = F.mse_loss(model(XOR_X).squeeze(1), XOR_Y)
        loss.backward()
        optimizer.step()
    return model


def _constant(value: float) -> Callable[[nn.Module], None]:
    def start(model: nn.Module) -> None:
        for parameter in model.parameters():
            nn.init.constant_(parameter, value)
    return start


def xor_from_each_start(seeds: range | None = None) -> dict:
    """XOR trained from all zeros, from one constant, and from seeded random starts: the
    outputs, what moved and whether the hidden units stayed copies; for each width of
    XOR_WIDTHS, how many random starts learned it and why the others did not."""
    numbers = {}
    for name, value in (("zeros", 0.0), ("constant", XOR_CONSTANT)):
        model = train_xor(mlp.SEED, _constant(value))
        rows = model.linears[0].weight.detach()
        numbers[name] = {
            "outputs": model(XOR_X).squeeze(1).tolist(),
            "moved": [key for key, parameter in model.named_parameters()
                      if not torch.all(parameter == value)],
            "largest_row_difference": (rows[0] - rows[1]).abs().max().item()}
    seeds = range(XOR_SEEDS) if seeds is None else seeds
    numbers["random"] = {str(width): _xor_from_random_starts(seeds, width) for width in XOR_WIDTHS}
    return numbers


def _xor_from_random_starts(seeds: range, width: int) -> dict:
    """How many seeds learn XOR (every output within 0.1 of its target), and of the others how
    many end with a dead unit (0 on all four inputs) or with every unit active on all four
    (the network is then linear on them, and XOR is not linear)."""
    numbers = {"seeds": len(seeds), "learned": 0, "dead_unit": 0, "linear": 0, "other": 0}
    # Each start is thousands of tiny steps, all overhead: the starts go side by side.
    for model in sweeps.map_in_workers(functools.partial(train_xor, width=width), seeds):
        with torch.no_grad():
            error = (model(XOR_X).squeeze(1) - XOR_Y).abs().max().item()
            active = model.activation(model.linears[0](XOR_X)) > 0  # (4 inputs, width units)
        outcome = ("learned" if error < 0.1 else "dead_unit" if (~active).all(dim=0).any()
                   else "linear" if active.all() else "other")
        numbers[outcome] += 1
    return numbers


# The depth demonstration's lines: an activation, and whether the weights start with He's
# initialisation (variance 2 / fan_in, made for ReLU) instead of PyTorch's default (1 / (3 fan_in)).
DEPTH_LINES = {"Sigmoid": False, "Tanh": False, "ReLU": False, "ReLU, He init": True}


def gradient_by_depth(inputs: torch.Tensor, labels: torch.Tensor,
                      depths: range = DEPTHS) -> dict:
    """At initialisation (seed SEED), the norm of the loss's gradient for the first layer's
    weights, on a batch of real features, for each depth of hidden layers of 512 and each line
    of DEPTH_LINES."""
    numbers = {"depths": list(depths)}
    for line, he in DEPTH_LINES.items():
        norms = []
        for depth in depths:
            torch.manual_seed(mlp.SEED)
            model = mlp.SentimentClassifier(inputs.shape[1], mlp.NUM_CLASSES, [512] * depth,
                                            line.split(",")[0])
            if he:
                for linear in model.linears:
                    nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
                    nn.init.zeros_(linear.bias)
            model.loss(model(inputs), labels).backward()
            norms.append(model.linears[0].weight.grad.norm().item())
        numbers[line] = norms
    return numbers


def demonstrations_text(shown: dict) -> str:
    """The demonstrations' numbers, as printed at the end of python main.py diagnose."""
    constant, xor, depth = shown["constant_init"], shown["xor"], shown["depth"]
    large = shown["large_weights"]
    lines = ["constant initialisation, one epoch: "
             + "; ".join(f"{start}: {numbers['distinct_units']} distinct units of 512, dev acc "
                         f"{numbers['dev_acc']:.4f}" for start, numbers in constant.items()),
             f"weights from U{LARGE}: "
             + "; ".join(f"{start}: saturated {[round(share, 3) for share in numbers['saturated']]}"
                         f", first layer's gradient {numbers['grad_norm']:.1e}, dev acc after an "
                         f"epoch {numbers['dev_acc']:.4f}" for start, numbers in large.items()),
             f"XOR from zeros: outputs {[round(y, 3) for y in xor['zeros']['outputs']]}, "
             f"moved: {', '.join(xor['zeros']['moved']) or 'nothing'}",
             f"XOR from {XOR_CONSTANT}: outputs {[round(y, 3) for y in xor['constant']['outputs']]}"
             f", hidden units {xor['constant']['largest_row_difference']:g} apart",
             "XOR from random starts: " + "; ".join(
                 f"{width} hidden units learned it in {numbers['learned']} of {numbers['seeds']}"
                 for width, numbers in xor["random"].items()),
             "first layer's gradient norm at 1..8 hidden layers: "
             + "; ".join(f"{name} {' '.join(f'{norm:.1e}' for norm in depth[name])}"
                         for name in DEPTH_LINES)]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Plots

METRICS = {  # what each diagnostics plot shows: y label, and where in a look it is
    "saturation": ("share of saturated outputs", "hidden", "saturated"),
    "gradients": ("weight gradient norm", "layers", "grad_norm"),
    "updates": ("log10(|update| / |weights|), mean since the last look", "layers",
                "update_ratio"),
}
SATURATED_MEANS = {"sigmoid": "outputs below 0.01 or above 0.99", "tanh": "|outputs| above 0.97",
                   "relu": "dead: 0 on the whole batch"}


def plot_inside(watched: list[ConfigResult], metric: str, save_fig_path: Path) -> None:
    """One panel per watched configuration (its first seed's run), one line per layer, over
    the steps; each title says which seed it is and how many of the seeds learned."""
    ylabel, part, key = METRICS[metric]
    if metric == "saturation":
        activations = dict.fromkeys(result.config.activation.lower() for result in watched)
        ylabel += f"\n({'; '.join(SATURATED_MEANS[name] for name in activations)})"
    fig = Figure(figsize=(4.2 * len(watched), 3.9))
    axes = fig.subplots(1, len(watched), sharey=True, squeeze=False)[0]
    for ax, result in zip(axes, watched, strict=True):
        run, inside = result.runs[0], result.runs[0].inside
        learned = sum(other.learned for other in result.runs)
        verdict = "learns" if run.learned else "stays at chance"
        ax.set(title=f"{result.config.name}, seed {run.seed}: {verdict}\n(best dev acc "
                     f"{run.best_dev_acc:.2f}; {learned} of {len(result.runs)} seeds learn)",
               xlabel="training step (log scale)", xscale="symlog")
        for layer in range(len(inside[part][0])):
            points = [(step, look[layer][key]) for step, look in zip(inside["steps"],
                                                                     inside[part], strict=True)
                      if look[layer][key] is not None]
            name = "output layer" if part == "layers" and layer == len(inside[part][0]) - 1 \
                else f"hidden layer {layer + 1}"
            ax.plot(*zip(*points, strict=True), marker=".", markersize=4, label=name)
        if metric == "gradients":
            ax.set_yscale("log")
        if metric == "updates":
            ax.axhline(-3, color="grey", linestyle="--", linewidth=1, label="-3, a usual size")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    axes[0].set_ylabel(ylabel)
    save_figure(fig, save_fig_path)


def plot_depth(depth: dict, save_fig_path: Path) -> None:
    """The first layer's gradient norm against the number of hidden layers, log scale, with
    hw3.md's (1/4)^L bound for Sigmoid drawn from its one-layer value."""
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    depths = depth["depths"]
    for name in DEPTH_LINES:
        ax.plot(depths, depth[name], marker="o", label=name)
    bound = [depth["Sigmoid"][0] * 0.25 ** (layers - depths[0]) for layers in depths]
    ax.plot(depths, bound, color="grey", linestyle="--", label="(1/4)^L, from Sigmoid at L = 1")
    ax.set(xlabel="hidden layers of 512 (L)", ylabel="norm of the first layer's weight gradient",
           yscale="log", title=f"The gradient that reaches the first layer, at initialisation\n"
                               f"(one seed, {mlp.SEED}; one batch of {DEV_BATCH} training reviews)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    save_figure(fig, save_fig_path)
