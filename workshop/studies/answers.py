"""The written answers' two figures, computed by PyTorch: the activation functions with their
derivatives (activations, item 2) and the computation graph of f(x, y, z) = ln x + exp(y) z
with its forward values and backward derivatives (neural nets and backpropagation).

    python main.py answers    # plots/activation_functions.png and plots/computation_graph.png
"""

from __future__ import annotations

import os

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import nn

import mlp
from workshop.files import save_figure


def broken(x: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """x and y with a gap where y jumps, so that a step is not drawn as a vertical line."""
    x, y = x.detach().numpy(), y.detach().numpy().astype(float)
    jumps = np.flatnonzero(np.abs(np.diff(y)) > 0.5) + 1
    return np.insert(x, jumps, np.nan), np.insert(y, jumps, np.nan)


def visualize_activation_functions(save_fig_path: str | os.PathLike) -> None:
    """Sigmoid, tanh and ReLU (left) and their derivatives from autograd (right) on [-6, 6];
    ReLU's derivative in two pieces, with the value PyTorch gives it at 0 marked."""
    x = torch.linspace(-6, 6, 1201, requires_grad=True)
    fig = Figure(figsize=(10, 4))
    ax_value, ax_slope = fig.subplots(1, 2)
    for name in ("Sigmoid", "Tanh", "ReLU"):
        y = mlp.ACTIVATIONS[name]()(x)
        (slope,) = torch.autograd.grad(y.sum(), x)
        (line,) = ax_value.plot(x.detach(), y.detach(), label=name)
        ax_slope.plot(*broken(x, slope), color=line.get_color(), label=f"{name}'")
    zero = torch.zeros(1, requires_grad=True)
    (at_zero,) = torch.autograd.grad(nn.ReLU()(zero).sum(), zero)
    ax_slope.plot([0], at_zero.tolist(), "o", color="C2",
                  label=f"ReLU'(0) = {at_zero.item():g} in PyTorch")
    for ax, title, ylabel in ((ax_value, "Activation", "f(x)"),
                              (ax_slope, "Its derivative", "f'(x)")):
        ax.set(xlabel="x", ylabel=ylabel, title=title)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.axvline(0, color="grey", linewidth=0.5)
        ax.grid(alpha=0.3)
    ax_value.legend(loc="upper left")  # no curve runs there
    ax_slope.legend(loc="upper left", bbox_to_anchor=(1.02, 1))  # beside: curves fill the panel
    save_figure(fig, save_fig_path)


def computation_graph(x: float = 1.0, y: float = 3.0, z: float = 2.0) -> dict:
    """f(x, y, z) = ln x + exp(y) z, one operation per node: each node's value and total
    derivative df/d(node) (the backward pass), and each edge's local partial, from autograd."""
    leaves = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
              for name, value in (("x", x), ("y", y), ("z", z))}
    nodes = dict(leaves, h1=torch.log(leaves["x"]), h2=torch.exp(leaves["y"]))
    nodes["h3"] = nodes["h2"] * leaves["z"]
    nodes["f"] = nodes["h1"] + nodes["h3"]
    edges = {(start, end): torch.autograd.grad(nodes[end], nodes[start], retain_graph=True)[0]
             for start, end in (("x", "h1"), ("y", "h2"), ("h2", "h3"), ("z", "h3"),
                                ("h1", "f"), ("h3", "f"))}
    for node in nodes.values():
        node.retain_grad()
    nodes["f"].backward()
    return {"values": {name: node.item() for name, node in nodes.items()},
            "totals": {name: node.grad.item() for name, node in nodes.items()},
            "locals": {edge: local.item() for edge, local in edges.items()}}


# Where each node sits, and on which side of its edge each local partial is written (points
# away from the arrow, so that no label lies on a line).
PLACES = {"x": (0, 2), "y": (0, 1), "z": (0, 0), "h1": (2, 2), "h2": (2, 1), "h3": (4, 0.5),
          "f": (6, 1.25)}
LABEL_OFFSETS = {("x", "h1"): (0, 0.14), ("y", "h2"): (0, 0.14), ("h2", "h3"): (0.1, 0.2),
                 ("z", "h3"): (0.1, -0.2), ("h1", "f"): (-0.25, 0.25), ("h3", "f"): (0.35, -0.2)}


def visualize_computation_graph(save_fig_path: str | os.PathLike) -> None:
    """hw3.md's computation graph at (1, 3, 2): each node with its value (forward) and the
    total derivative df/d(node) (backward); each edge with its local partial."""
    graph = computation_graph()
    formulas = {"x": "x", "y": "y", "z": "z", "h1": "h1 = ln x", "h2": "h2 = exp y",
                "h3": "h3 = h2 · z", "f": "f = h1 + h3"}
    fig = Figure(figsize=(10, 4.6))
    ax = fig.subplots()
    for (start, end), local in graph["locals"].items():
        (x0, y0), (x1, y1) = PLACES[start], PLACES[end]
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "shrinkA": 32,
                                                         "shrinkB": 32, "color": "grey"})
        dx, dy = LABEL_OFFSETS[start, end]
        ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, f"∂{end}/∂{start} = {local:.4g}",
                ha="center", va="center", fontsize=9, color="C3")
    for name, (x, y) in PLACES.items():
        ax.text(x, y, f"{formulas[name]}\n= {graph['values'][name]:.4g}\n"
                      f"df/d{name} = {graph['totals'][name]:.4g}",
                ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "C0"})
    ax.set(xlim=(-0.8, 6.8), ylim=(-0.6, 2.6),
           title="f(x, y, z) = ln x + exp(y)·z at (1, 3, 2): values forward, derivatives "
                 "backward")
    ax.text(3, -0.5, "red, beside the edges: ∂a/∂b, the local partial of a node's own formula; "
                     "in the boxes: df/d(node), the total derivative of f, along every path",
            ha="center", fontsize=8)
    ax.axis("off")
    save_figure(fig, save_fig_path)
