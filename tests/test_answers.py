"""answers.py: the written answers' figures are drawn from the values autograd gives."""

import math

import pytest
from conftest import PNG

from workshop.studies import answers


def test_the_computation_graph_is_autograds():
    """computation_graph: hw3.md's f at (1, 3, 2), each node's value and total derivative and
    each edge's local partial, against the closed forms."""
    graph = answers.computation_graph()
    e3 = math.exp(3)
    assert graph["values"] == pytest.approx({"x": 1, "y": 3, "z": 2, "h1": 0, "h2": e3,
                                             "h3": 2 * e3, "f": 2 * e3})
    assert graph["totals"] == pytest.approx({"x": 1, "y": 2 * e3, "z": e3, "h1": 1, "h2": 2,
                                             "h3": 1, "f": 1})
    assert graph["locals"] == pytest.approx({("x", "h1"): 1, ("y", "h2"): e3, ("h2", "h3"): 2,
                                             ("z", "h3"): e3, ("h1", "f"): 1, ("h3", "f"): 1})


def test_both_figures_are_written(tmp_path):
    """python main.py answers draws the two figures as PNG files."""
    answers.visualize_activation_functions(tmp_path / "activations.png")
    answers.visualize_computation_graph(tmp_path / "graph.png")
    assert all((tmp_path / name).read_bytes().startswith(PNG)
               for name in ("activations.png", "graph.png"))
