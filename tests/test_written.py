"""hw3.md's answers, taken from the document and checked against computation.

Every checkable answer is read from hw3.md itself (a table cell, a formula, a matrix), turned
into PyTorch, and compared with autograd or with what training does. Changing an answer in
hw3.md changes what these tests compute, so a wrong answer fails here. The numbers of the
programming findings are checked against the committed run in plots/results.json.
"""

import json
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable

import pytest
import torch
from conftest import REPO, committed
from torch import nn
from torch.autograd.functional import jacobian

DTYPE = torch.float64  # the identities are exact: only round-off limits the tolerances
D, N, K = 5, 4, 3
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=DTYPE)
XOR_Y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=DTYPE)


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def section(title: str) -> str:
    """The text of one '## title' section of hw3.md."""
    text = (REPO / "hw3.md").read_text(encoding="utf-8")
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def table(text: str, key: int = 0) -> dict[str, list[str]]:
    """Each Markdown table row of text, by its cell number key: its cells."""
    rows = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("|") and not re.match(r"\|[\s:-]*-", line):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[key]] = cells
    return rows


def maths(cell: str) -> list[str]:
    """The $...$ formulas of a table cell or sentence, in order."""
    return re.findall(r"\$([^$]+)\$", cell)


# The LaTeX of hw3.md's formulas, rewritten into Python (applied in order).
LATEX_TO_PYTHON = [
    (r"\\mathbf\s*0_\{(\w)\\times\s*(\w)\}", r"zeros(\1, \2)"),  # 0_{1 x d}
    (r"\\mathbf\s*", ""),
    (r"\\operatorname\{(\w+)\}", r"\1"),
    (r"e\^\{([^{}]*)\}", r"exp(\1)"),
    (r"e\^(\w)", r"exp(\1)"),
    (r"\\dfrac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))"),
    (r"\\(sigma|tanh)\^(\d)\(x\)", r"\1(x)**\2"),  # tanh^2(x)
    (r"\\(sigma|tanh|max)\b", r"\1"),
    (r"\^\\top", ".T"),
    (r"\^\{?(\d)\}?", r"**\1"),
    (r"\\,", ""),
    (r"I_(\w)", r"eye(\1)"),
    (r"\\times", ","),
    (r"(\d)\s*(?=[A-Za-z(])", r"\1*"),  # 2w -> 2*w
    (r"\)\s*(?=[A-Za-z(])", ")*"),  # )( -> )*(
]


def evaluate(tex: str, **names) -> object:
    """The value of a formula of hw3.md, with names bound as given."""
    python = tex
    for pattern, replacement in LATEX_TO_PYTHON:
        python = re.sub(pattern, replacement, python)
    return eval(python, {"__builtins__": {}}, names)  # a formula of this repository's hw3.md


# ----------------------------------------------------------------------------------------------
# Concepts


def concept_answers() -> dict[int, str]:
    """The '**Answer: ...**' of each numbered concept question."""
    found = re.findall(r"^(\d+)\. \*\*Answer: ([^*]+?)\.?\*\*", section("Concepts, intuitions and "
                                                                        "big picture"), re.M)
    return {int(number): answer for number, answer in found}


def _train_from_constant(constant: float) -> nn.Module:
    """The homework's MLP from a constant initialisation, after 20 Adam steps on random data."""
    from mlp import SentimentClassifier

    model = SentimentClassifier(10, 2, [16, 8]).to(DTYPE)
    for parameter in model.parameters():
        nn.init.constant_(parameter, constant)
    inputs, labels = _randn(64, 10, seed=1), torch.randint(0, 2, (64,))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(20):
        optimizer.zero_grad()
        model.loss(model(inputs), labels).backward()
        optimizer.step()
    return model


def _units_identical(layer: nn.Linear) -> bool:
    return bool(torch.allclose(layer.weight, layer.weight[:1].expand_as(layer.weight), atol=1e-12)
                and torch.allclose(layer.bias, layer.bias[:1].expand_as(layer.bias), atol=1e-12))


@pytest.mark.parametrize("constant", [0.0, 0.1])
def test_concepts_1_and_6_constant_initialisation_never_breaks_symmetry(constant):
    """From zero (or any constant) the units of each hidden layer stay identical through
    training, so only the first option of concept 1 holds."""
    model = _train_from_constant(constant)
    *hidden, _ = model.linears
    assert not torch.all(hidden[0].weight == constant)  # training did move the weights
    units_stay_identical = all(_units_identical(layer) for layer in hidden)
    # Options: 1 the same even after many iterations; 2 different after one; 3 symmetry
    # broken across layers; 4 different from the start.
    decided = "the first option only" if units_stay_identical else "the second option"
    assert concept_answers()[1] == decided


def test_concept_3_tanh_is_centred_and_sigmoid_is_not():
    """Concept 3 is True: tanh outputs average about 0, sigmoid outputs about 1/2."""
    pre = _randn(100_000, seed=2)
    centred = abs(torch.tanh(pre).mean()) < 0.01 and abs(torch.sigmoid(pre).mean() - 0.5) < 0.01
    assert concept_answers()[3] == ("True" if centred else "False")


def test_concept_7_large_positive_weights_vanish_the_gradient():
    """Large positive weights saturate every sigmoid: the first layer's gradient all but
    vanishes, which makes them a bad idea."""
    def first_layer_gradient(low: float, high: float) -> float:
        torch.manual_seed(0)
        layers = [module for _ in range(3) for module in (nn.Linear(10, 10), nn.Sigmoid())]
        model = nn.Sequential(*layers, nn.Linear(10, 1)).to(DTYPE)
        for parameter in model.parameters():
            nn.init.uniform_(parameter, low, high)
        model(torch.rand(32, 10, dtype=DTYPE)).sum().backward()
        return model[0].weight.grad.norm().item()

    vanishes = first_layer_gradient(2.0, 4.0) < 1e-6 * first_layer_gradient(-0.3, 0.3)
    assert concept_answers()[7] == ("a bad idea" if vanishes else "a good idea")


# ----------------------------------------------------------------------------------------------
# Revisiting Jacobians

W_VEC = _randn(D, 1, seed=3)  # a d x 1 column vector, as in the handout
X_MAT = _randn(N, D, seed=4)
X_I = X_MAT[2:3].T  # x_i, a d x 1 column
FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "1": lambda w: torch.tensor(7.0, dtype=DTYPE),  # f(w) = c
    "2": lambda w: (w.T @ w).squeeze(),  # ||w||^2
    "3": lambda w: (w.T @ X_I).squeeze(),  # w^T x_i
    "4": lambda w: (X_MAT @ w).squeeze(1),  # X w
    "5": lambda w: w.squeeze(1),  # w
    "6": lambda w: w.squeeze(1) ** 2,  # w^2, element-wise
}
NAMES = {"w": W_VEC, "x_i": X_I, "X": X_MAT, "d": D, "n": N, "k": K,
         "zeros": lambda *shape: torch.zeros(*shape, dtype=DTYPE),
         "eye": lambda size: torch.eye(size, dtype=DTYPE),
         "diag": lambda vector: torch.diag(vector.flatten())}


def jacobian_rows() -> dict[str, list[str]]:
    return table(section("Revisiting Jacobians"))


@pytest.mark.parametrize("item", FUNCTIONS)
def test_jacobians_1_to_6(item):
    """Each stated shape is (output) x (input), a scalar's Jacobian being a 1 x d row, and each
    stated Jacobian is autograd's."""
    _, _, shape, value = jacobian_rows()[item]
    auto = jacobian(FUNCTIONS[item], W_VEC).reshape(-1, D)  # (outputs, d)
    stated_shape = evaluate(maths(shape)[0], **NAMES)
    stated = evaluate(maths(value)[0], **NAMES)
    assert stated_shape == tuple(auto.shape)
    assert tuple(stated.shape) == stated_shape
    torch.testing.assert_close(stated, auto, rtol=0, atol=1e-12)


def test_jacobian_7_of_a_matrix_product():
    """f(W) = X W^T: the stated 4-way shape and entries d f_ij / d W_ab are autograd's."""
    _, _, shape, value = jacobian_rows()["7"]
    weight = _randn(K, D, seed=5)
    auto = jacobian(lambda w: X_MAT @ w.T, weight)  # (n, k, k, d)
    assert evaluate(maths(shape)[0].replace("(", "").replace(")", ""), **NAMES) == auto.shape
    (formula,) = maths(value)
    out, inp = re.findall(r"\\partial\s*\w+_\{(\w+)\}", formula)  # f_{ij}, W_{ab}
    sizes = dict(zip(out + inp, auto.shape, strict=True))
    factors = re.findall(r"(\\delta|[A-Za-z])_\{(\w\w)\}", formula.split("=")[1])
    operands = [torch.eye(sizes[i[0]], dtype=DTYPE) if name == "\\delta" else X_MAT
                for name, i in factors]
    stated = torch.einsum(f"{','.join(i for _, i in factors)}->{out + inp}", *operands)
    torch.testing.assert_close(stated, auto, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Activations and softmax

GRID = torch.linspace(-6.0, 6.0, 1201, dtype=DTYPE)
ACTIVATION_NAMES = {"sigma": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp,
                    "max": lambda low, x: torch.clamp(x, min=low)}


def _slope(function: Callable, points: torch.Tensor) -> torch.Tensor:
    points = points.clone().requires_grad_(True)
    function(points).sum().backward()
    return points.grad


@pytest.mark.parametrize(("name", "function"), [("Sigmoid", torch.sigmoid), ("Tanh", torch.tanh),
                                                ("ReLU", torch.relu)])
def test_activation_formulas(name, function):
    """The stated f(x) is the activation on a grid."""
    cell = table(section("Activations per layer, keeps linearity away"))[name][1]
    formula = maths(cell)[0].split("=")[-1]
    torch.testing.assert_close(evaluate(formula, x=GRID, **ACTIVATION_NAMES), function(GRID))


@pytest.mark.parametrize(("name", "function"), [("Sigmoid", torch.sigmoid), ("Tanh", torch.tanh)])
def test_sigmoid_and_tanh_derivatives_and_their_maxima(name, function):
    """The stated f'(x) is autograd's, and its stated maximum is reached where stated."""
    formula, bound, where = maths(table(section("Activations per layer, keeps linearity away"))
                                  [name][2])
    auto = _slope(function, GRID)
    torch.testing.assert_close(evaluate(formula, x=GRID, **ACTIVATION_NAMES), auto,
                               rtol=0, atol=1e-12)
    assert auto.max().item() == pytest.approx(evaluate(bound))
    assert GRID[auto.argmax()].item() == pytest.approx(float(where.split("=")[1]))


def test_relu_derivative_and_its_convention_at_zero():
    """ReLU' is the stated constant on each side, and PyTorch's value at 0 is the stated one."""
    right, _, left, _, _, at_zero = maths(
        table(section("Activations per layer, keeps linearity away"))["ReLU"][2])
    auto = _slope(torch.relu, GRID)
    assert set(auto[GRID > 0].tolist()) == {float(right)}
    assert set(auto[GRID < 0].tolist()) == {float(left)}
    assert _slope(torch.relu, torch.zeros(1, dtype=DTYPE)).item() == float(at_zero)


def test_softmax_derivative_and_jacobian():
    """The entry formula of item 5 and the matrix of item 6 equal autograd's softmax Jacobian."""
    text = section("Activations per layer, keeps linearity away")
    z = _randn(6, 1, seed=6)
    sigma = torch.softmax(z, dim=0)
    auto = jacobian(lambda v: torch.softmax(v, dim=0), z).reshape(6, 6)
    entry = re.search(r"= \\sigma_i\\,\(\\delta_\{ij\} - \\sigma_j\)\. \\qquad\\blacksquare", text)
    stated_entries = sigma * (torch.eye(6, dtype=DTYPE) - sigma.T)  # sigma_i (delta_ij - sigma_j)
    assert entry is not None
    torch.testing.assert_close(stated_entries, auto, rtol=0, atol=1e-12)
    matrix = re.search(r"J_\\sigma\(\\mathbf z\) = (.+?)\. \\qquad\\blacksquare", text).group(1)
    stated = evaluate(matrix, z=z, sigma=lambda v: torch.softmax(v, dim=0),
                      diag=lambda v: torch.diag(v.flatten()))
    torch.testing.assert_close(stated, auto, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# Simulating XOR


def xor_weights() -> dict[str, torch.Tensor]:
    """W_1, b_1, W_2 and b_2 as item 2 of 'Simulating XOR' gives them."""
    text = section("Simulating XOR").split("\n2. ", 1)[1].split("\n3. ", 1)[0]
    found = re.findall(r"(W_1|\\mathbf b_1|W_2|b_2) = (\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}"
                       r"|-?\d+)", text, re.S)
    weights = {}
    for name, value, matrix in found:
        rows = [row.split("&") for row in (matrix or value).split(r"\\")]
        weights[name.replace(r"\mathbf ", "")] = torch.tensor(
            [[float(entry) for entry in row] for row in rows], dtype=DTYPE)
    return weights


def test_xor_two_layer_weights_compute_xor_as_tabulated():
    """The stated weights give XOR on all four inputs, and the table's h and y_hat columns."""
    weights = xor_weights()
    hidden = torch.relu(XOR_X @ weights["W_1"].T + weights["b_1"].T)  # (4, 2)
    output = (hidden @ weights["W_2"].T + weights["b_2"]).squeeze(1)
    assert torch.equal(output, XOR_Y)
    rows = table(section("Simulating XOR"))
    for x, h, y in zip(XOR_X.int().tolist(), hidden.tolist(), output.tolist(), strict=True):
        row = rows[f"$({x[0]},{x[1]})$"]
        assert [float(value) for value in re.findall(r"-?\d+", row[2])] == h
        assert float(re.findall(r"-?\d+", row[3])[-1]) == y


def _train_xor(model: nn.Module, steps: int = 300, optimiser: str = "adam") -> torch.Tensor:
    """Full-batch training on the four XOR points (mean squared error); final predictions."""
    optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimiser](
        model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(XOR_X).squeeze(1), XOR_Y).backward()
        optimizer.step()
    with torch.no_grad():
        return model(XOR_X).squeeze(1)


def _xor_net(activation: type[nn.Module] = nn.ReLU, width: int = 32) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2, width), activation(), nn.Linear(width, 1)).to(DTYPE)


def test_xor_single_layer_cannot_get_within_one_half():
    """Item 1: no single ReLU layer gets every XOR output within 1/2 (the bound hw3.md proves),
    searched over a grid of weights and trained from random starts."""
    assert "$\\max_{\\mathbf x} |\\hat y(\\mathbf x) - y(\\mathbf x)| \\ge 1/2$" in \
        section("Simulating XOR")
    values = torch.linspace(-3.0, 3.0, 61, dtype=DTYPE)
    grid = torch.cartesian_prod(values, values, values)  # (w1, w2, b)
    predictions = torch.relu(grid[:, :2] @ XOR_X.T + grid[:, 2:])
    assert (predictions - XOR_Y).abs().max(dim=1).values.min() >= 0.5
    for seed in range(5):
        torch.manual_seed(seed)
        single = nn.Sequential(nn.Linear(2, 1), nn.ReLU()).to(DTYPE)
        assert (_train_xor(single) - XOR_Y).abs().max() >= 0.5


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
@pytest.mark.parametrize("constant", [0.0, 0.5])
def test_xor_constant_initialisation_never_learns(activation, constant):
    """Items 3 and 4: from a constant start the hidden units stay copies of each other and the
    error stays at least 1/2, while a random start fits XOR."""
    model = _xor_net(activation)
    for parameter in model.parameters():
        nn.init.constant_(parameter, constant)
    predictions = _train_xor(model, optimiser="sgd" if constant == 0 else "adam")
    assert _units_identical(model[0])
    assert (predictions - XOR_Y).abs().max() >= 0.5
    torch.manual_seed(0)
    if activation is nn.ReLU:
        assert (_train_xor(_xor_net()) - XOR_Y).abs().max() < 0.1


# ----------------------------------------------------------------------------------------------
# Computation graph of f(x, y, z) = ln x + exp(y) z at (1, 3, 2)

E3 = math.exp(3)


def _graph() -> dict[str, float]:
    """Every node's value and every derivative the section tabulates, from autograd."""
    x, y, z = (torch.tensor(v, dtype=DTYPE, requires_grad=True) for v in (1.0, 3.0, 2.0))
    h1, h2 = torch.log(x), torch.exp(y)
    h3 = h2 * z
    f = h1 + h3

    def local(output, inp):
        return torch.autograd.grad(output, inp, retain_graph=True)[0].item()

    values = {"h1": h1.item(), "h2": h2.item(), "h3": h3.item(), "f": f.item(),
              r"$\partial h_1/\partial x$": local(h1, x),
              r"$\partial h_2/\partial y$": local(h2, y),
              r"$\partial h_3/\partial h_2$": local(h3, h2),
              r"$\partial h_3/\partial z$": local(h3, z),
              r"$\partial f/\partial h_1$": local(f, h1),
              r"$\partial f/\partial h_3$": local(f, h3)}
    f.backward()
    return {**values, "∂f/∂x": x.grad.item(), "∂f/∂y": y.grad.item(), "∂f/∂z": z.grad.item()}


def _exact(cell: str) -> float:
    """'0', '1', 'e³' or '2e³' as a number."""
    coefficient = cell.replace("e³", "")
    return (float(coefficient or 1) * E3) if "e³" in cell else float(cell)


def test_computation_graph_values_and_derivatives():
    """Every row of the forward, local-partial and chain-rule tables is autograd's value:
    exactly, and to the four decimals shown (or the last number of a local-partial cell)."""
    rows = table(section("Neural nets and backpropagation"))
    for name, value in _graph().items():
        assert name in rows, f"hw3.md has no table row for {name}"
        if name.startswith("$"):
            stated = float(re.findall(r"\d+(?:\.\d+)?", rows[name][-1])[-1])
            assert stated == pytest.approx(value, abs=5e-5), name
        else:
            assert _exact(rows[name][-2]) == pytest.approx(value, rel=1e-14), name
            assert rows[name][-1] == f"{value:.4f}", name


def test_total_derivative_at_h2_is_stated():
    """df/dh2 = z = 2 through h3, as the chain-rule item says (not the 0 of a local partial), and
    the document gives it the total derivative's own symbol."""
    x, y, z = (torch.tensor(v, dtype=DTYPE, requires_grad=True) for v in (1.0, 3.0, 2.0))
    h2 = torch.exp(y)
    h2.retain_grad()
    (torch.log(x) + h2 * z).backward()
    stated = re.search(r"\\mathrm\{d\}f/\\mathrm\{d\}h_2 = .*?= 1\\cdot z = (\d+)",
                       section("Neural nets and backpropagation"), re.S)
    assert float(stated.group(1)) == h2.grad.item()


# ----------------------------------------------------------------------------------------------
# Programming: the findings quote the committed run


def configs(committed_results: dict, sweep: str) -> dict[str, dict]:
    return {config["name"]: config for config in committed_results[sweep]["configs"]}


def runs_of(config: dict, key: str) -> list[float]:
    return [run[key] for run in config["runs"]]


def mean_std_text(values: list[float]) -> str:
    return f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


@pytest.mark.parametrize("sweep", ["structures", "activations", "learning-rates"])
def test_results_table_quotes_the_committed_run(committed_results, sweep):
    """Each configuration's best dev and test accuracy in hw3.md's table are the committed run's
    mean ± std over seeds."""
    rows = table(section("Programming"), key=1)
    label = {"structures": "{name}, lr {lr}", "activations": "{name}",
             "learning-rates": "{lr}"}[sweep]
    run = Run(committed_results)
    for name, config in configs(committed_results, sweep).items():
        key = label.format(name=name.replace(" -> ", " → "), lr=config["lr"])
        cells = [cell.strip("* ") for cell in rows[key][2:4]]
        assert cells == [mean_std_text(runs_of(config, "best_dev_acc")),
                         mean_std_text(runs_of(config, "test_acc"))], key
        for cell, value in zip(rows[key][2:4], (best, on_test), strict=True):
            clearly_best = all(run.clear((sweep, name), (sweep, other), value)
                               for other in run.names(sweep) if other != name)
            assert cell.startswith("**") == clearly_best, (key, cell)


class Run:
    """Means, standard deviations and gaps over the seeds of the committed run's sweeps."""

    def __init__(self, committed_results: dict) -> None:
        self.sweeps = committed_results

    def config(self, sweep: str, name: str) -> dict:
        return next(c for c in self.sweeps[sweep]["configs"] if c["name"] == name)

    def names(self, sweep: str) -> list[str]:
        return [config["name"] for config in self.sweeps[sweep]["configs"]]

    def values(self, sweep: str, name: str, value: Callable[[dict], float] | None = None) -> list:
        """value(run) of each seed's run (default: its best dev accuracy)."""
        return [(value or best)(run) for run in self.config(sweep, name)["runs"]]

    def mean(self, sweep: str, name: str, value: Callable[[dict], float] | None = None) -> float:
        return statistics.fmean(self.values(sweep, name, value))

    def std(self, sweep: str, name: str, value: Callable[[dict], float] | None = None) -> float:
        return statistics.stdev(self.values(sweep, name, value))

    def gap(self, better: tuple[str, str], worse: tuple[str, str]) -> float:
        """The difference of two (sweep, name) configurations' mean best dev accuracies."""
        return self.mean(*better) - self.mean(*worse)

    def clear(self, better: tuple[str, str], worse: tuple[str, str],
              value: Callable[[dict], float] | None = None) -> bool:
        """hw3.md's test of a gap: every seed of better beats every seed of worse."""
        return min(self.values(*better, value)) > max(self.values(*worse, value))


def best(run: dict) -> float:
    return run["best_dev_acc"]


def findings(heading: str) -> str:
    """The **Findings.** paragraph under a heading ('### MLP structures'), on one line."""
    text = (REPO / "hw3.md").read_text(encoding="utf-8").split(f"\n{heading}\n", 1)[1]
    return " ".join(text.split("**Findings.**", 1)[1].split("\n\n", 1)[0].split())


def numbers(text: str) -> list[str]:
    """Every number written in text, in order."""
    return re.findall(r"\d+(?:\.\d+)?", text)


def on_test(run: dict) -> float:
    """A run's test accuracy."""
    return run["test_acc"]


def last(key: str) -> Callable[[dict], float]:
    """A run's value of key at its last epoch."""
    return lambda run: run[key][-1]


def test_structures_findings(committed_results):
    """Every number of the structures findings, in order, is computed from the committed run,
    and so are its claims (no structure overfits, the first hidden layer's gain is clear, the
    second's is not)."""
    run, sweep = Run(committed_results), "structures"
    none, one, two, three = ((sweep, name) for name in run.names(sweep))
    structures = (none, one, two, three)
    train_loss = [run.mean(*config, last("train_losses")) for config in structures]
    loss_gap = max(run.mean(*config, last("dev_losses")) - run.mean(*config, last("train_losses"))
                   for config in structures)
    acc_gaps = [run.mean(*config, last("train_accs")) - run.mean(*config, last("dev_accs"))
                for config in structures]
    assert all(gap > 0 for gap in acc_gaps)  # train above dev: no underfitting claim to make
    assert run.clear(one, none) and not run.clear(two, one) and not run.clear(one, two)
    assert min(run.mean(*config) for config in structures) == run.mean(*three)
    assert numbers(findings("### MLP structures")) == [
        str(committed_results[sweep]["settings"]["epochs"]), f"{min(train_loss):.2f}",
        f"{max(train_loss):.2f}", f"{loss_gap:.3f}", f"{max(acc_gaps):.3f}",
        f"{run.gap(one, none):.4f}", f"{run.gap(two, one):.4f}"]


def test_the_follow_up_findings_and_table(committed_results):
    """The follow-up's sentence and table are the committed run's: its best learning rate,
    clearly above the structures sweep's, and the learning rates that leave most seeds at
    chance."""
    run, follow_up = Run(committed_results), "three-layer-learning-rates"
    three = ("structures", run.names("structures")[3])
    learned = {run.config(follow_up, name)["lr"]: sum(acc > 0.6 for acc in run.values(follow_up,
                                                                                    name))
               for name in run.names(follow_up)}
    stuck_from = min(lr for lr, count in learned.items() if count < 2)
    assert all(count < 2 for lr, count in learned.items() if lr >= stuck_from)
    chance = max(acc for name in run.names(follow_up) for acc in run.values(follow_up, name)
                 if acc <= 0.6)
    good = (follow_up, max(run.names(follow_up), key=lambda name: run.mean(follow_up, name)))
    assert run.clear(good, three)
    text = paragraph(section("Programming"), "#### Follow-up: three hidden layers at other "
                                             "learning rates\n\n")
    assert numbers(text) == [
        str(run.config(*good)["lr"]), f"{run.mean(*good):.4f}", f"{run.std(*good):.4f}",
        str(run.config(*three)["lr"]), str(stuck_from), f"{chance:.2f}"]
    rows = table(section("Programming"))
    for name in run.names(follow_up):
        values = run.values(follow_up, name)
        cells = rows[name.removeprefix("lr ")]
        assert cells[1:] == [mean_std_text(values), f"{learned[run.config(follow_up, name)['lr']]}"
                             f" of {len(values)}"], name
    assert rows[f"{run.config(*three)['lr']} (the structures sweep)"][1] == \
        mean_std_text(run.values(*three))
    assert "`python main.py three-layer-learning-rates --seeds 3`" in section("Programming")
    assert committed_results[follow_up]["settings"]["command"] == \
        "python main.py three-layer-learning-rates --seeds 3"


def test_activations_findings(committed_results):
    """Every number of the activations findings is computed from the committed run, beside the
    activation it belongs to, and the clear gaps it names are all the clear gaps there are."""
    run, sweep = Run(committed_results), "activations"
    names = run.names(sweep)
    dev = {name: run.mean(sweep, name) for name in names}
    test = {name: run.mean(sweep, name, on_test) for name in names}
    low, high = min(dev, key=dev.get), max(dev, key=dev.get)
    test_low, test_high = min(test, key=test.get), max(test, key=test.get)
    text = findings("### Activation functions")
    assert numbers(text) == [f"{dev[low]:.4f}", f"{dev[high]:.4f}", f"{dev[high] - dev[low]:.4f}",
                             f"{test[test_low]:.4f}", f"{test[test_high]:.4f}"]
    assert f"{dev[low]:.4f} ({low})" in text and f"{dev[high]:.4f} ({high})" in text
    assert f"{test[test_low]:.4f} ({test_low})" in text
    assert f"{test[test_high]:.4f} ({test_high})" in text
    for value, leader, words in ((best, high, "best dev accuracy"), (on_test, test_high,
                                                                   "test accuracy")):
        beaten = sorted(worse for better in names for worse in names
                        if run.clear((sweep, better), (sweep, worse), value)
                        and (better == leader or pytest.fail(f"{better} clearly beats {worse}")))
        named = re.search(rf"{leader}'s {words} over ([\w ,]+?)(?: and (\w+))?(?:;| and \w+'s)",
                          text)
        assert sorted([*named.group(1).split(", "), named.group(2)]) == beaten, words


def test_learning_rate_findings(committed_results):
    """Every number of the learning-rate findings is computed from the committed run: the two
    best rates tie, the gaps to the largest and the smallest rate are clear."""
    run, sweep = Run(committed_results), "learning-rates"
    lrs = {run.config(sweep, name)["lr"]: (sweep, name) for name in run.names(sweep)}
    first, second = sorted(sorted(lrs, key=lambda lr: run.mean(*lrs[lr]))[-2:], reverse=True)
    assert f"{run.mean(*lrs[first]):.4f}" == f"{run.mean(*lrs[second]):.4f}"  # a tie
    assert not run.clear(lrs[first], lrs[second]) and not run.clear(lrs[second], lrs[first])
    high, low = max(lrs), min(lrs)
    assert run.clear(lrs[first], lrs[high]) and run.clear(lrs[first], lrs[low])
    epochs = str(committed_results[sweep]["settings"]["epochs"])
    assert numbers(findings("### Learning rate")) == [
        str(first), str(second), f"{run.mean(*lrs[first]):.4f}", f"{run.std(*lrs[first]):.4f}",
        f"{run.mean(*lrs[second]):.4f}", f"{run.std(*lrs[second]):.4f}",
        str(high), f"{run.mean(*lrs[high], lambda r: r['dev_accs'][0]):.4f}", "1",
        f"{run.gap(lrs[first], lrs[high]):.4f}", str(low),
        f"{run.mean(*lrs[low], last('train_losses')):.4f}", epochs,
        f"{run.mean(*lrs[first], last('train_losses')):.4f}", str(first),
        f"{run.gap(lrs[first], lrs[low]):.4f}"]


def test_no_gap_is_measured_in_seed_standard_deviations():
    """The one test of a gap hw3.md uses is stated once; the old measure of its own is gone."""
    text = (REPO / "hw3.md").read_text(encoding="utf-8")
    assert "seed standard deviation" not in text
    assert text.count("**When is a gap larger than the seeds' spread?**") == 1


def test_beyond_table_and_findings(committed_results):
    """The table of the four models and every number of their findings are the committed
    run's: test accuracy gains, pretraining's small share, and the early best dev epochs."""
    run, sweep = Run(committed_results), "beyond"
    frozen, glove, bigrams, scratch = ((sweep, name) for name in run.names(sweep))
    rows = table(section("Beyond the homework"))
    for config in (frozen, glove, bigrams, scratch):
        (cells,) = (cells for key, cells in rows.items() if key.split(" (")[0] == config[1])
        assert cells[1:] == [mean_std_text(run.values(*config)),
                             mean_std_text(run.values(*config, lambda r: r["test_acc"])),
                             f"{run.mean(*config, lambda r: r['seconds']):.1f}"], config

    gain = run.mean(*glove, on_test) - run.mean(*scratch, on_test)
    assert run.clear(glove, frozen, on_test) and run.clear(bigrams, glove, on_test)
    assert not run.clear(glove, scratch, on_test)
    first_epoch = [run.mean(*config, lambda r: r["dev_accs"][0]) for config in (glove, scratch)]
    learned = (glove, bigrams, scratch)
    unigram_best = run.values(*glove, lambda r: r["best_epoch"]) + \
        run.values(*scratch, lambda r: r["best_epoch"])
    bigram_best = Counter(run.values(*bigrams, lambda r: r["best_epoch"]))
    (late, count), = ((epoch, n) for epoch, n in bigram_best.items()
                      if epoch > max(unigram_best))
    text = findings("## Beyond the homework")
    assert numbers(text) == [
        f"{run.mean(*frozen, on_test):.4f}", f"{run.mean(*glove, on_test):.4f}",
        f"{run.mean(*bigrams, on_test) - run.mean(*glove, on_test):.4f}", "0.77",
        f"{gain:.4f}", "1", f"{first_epoch[0] - first_epoch[1]:.4f}",
        f"{min(run.mean(*config, lambda r: r['train_accs'][-1]) for config in learned):.4f}",
        str(committed_results[sweep]["settings"]["epochs"]), str(min(unigram_best)),
        str(max(unigram_best)), str(late)]
    assert f"({late} for {['no', 'one', 'two', 'three'][count]} of the bigram runs)" in text


def test_nearest_neighbours_are_the_committed_runs(committed_results):
    """The neighbours table is the first seed's, before and after training, and every word the
    text cites as a neighbour is one."""
    (first, *_) = (run for config in committed_results["beyond"]["configs"]
                   for run in config["runs"] if "neighbours" in run)
    before, after = first["neighbours"]["before"], first["neighbours"]["after"]
    text = section("Beyond the homework")
    assert f"(seed {first['seed']})" in text
    rows = table(text)
    for word in before:
        assert rows[word][1:] == [", ".join(before[word]), ", ".join(after[word])], word
    prose = " ".join(text.split(rows["masterpiece"][0], 1)[1].split("\n\n", 1)[1].split())
    for query, cited in re.findall(r"\*(\w+)\* beside ((?:\*\w+\*(?: and )?)+)", prose):
        assert set(re.findall(r"\*(\w+)\*", cited)) <= set(before[query]), query
    for query, cited in re.findall(r"\*(\w+)\*: ((?:\*\w+\*(?:, )?)+)", prose):
        assert set(re.findall(r"\*(\w+)\*", cited)) <= set(after[query]), query
    assert set(re.search(r"those of \*good\* are words that come with it \(((?:\*\w+\*,? ?)+)\)",
                         prose).group(1).replace("*", "").split(", ")) <= set(after["good"])
    nearest = re.search(r"In GloVe, \*good\*'s nearest word is \*(\w+)\*, not \*bad\*", prose)
    assert nearest.group(1) == before["good"][0] and "bad" not in before["good"]


# ----------------------------------------------------------------------------------------------
# Inside the network, and the demonstrations beside the written answers (python main.py diagnose)


def scientific(text: str) -> list[str]:
    """Every number written in text, in order, 1.3e-03 as one."""
    return re.findall(r"\d+(?:\.\d+)?(?:e-\d+)?", text)


def paragraph(text: str, start: str) -> str:
    """The paragraph of text that begins with start (up to a blank line or the next numbered
    item), on one line."""
    return " ".join(re.split(r"\n\s*\n|\n\d+\. ", text.split(start, 1)[1], maxsplit=1)[0].split())


@pytest.fixture(scope="module")
def watched(committed_results) -> dict[str, dict]:
    """The watched runs of python main.py diagnose, by name: the first seed's run, its "lr"
    and what was seen "inside"."""
    return {config["name"]: {**config["runs"][0], "lr": config["lr"]}
            for config in committed_results["diagnose"]["configs"]}


@pytest.fixture(scope="module")
def shown() -> dict:
    """plots/diagnose.json as committed: the demonstrations' numbers."""
    return json.loads(committed("plots/diagnose.json"))


def test_the_watched_runs_are_the_follow_up_runs(committed_results, watched):
    """The runs that diagnose watched are those of the follow-up and the structures sweep (the
    same seed): the same dev accuracy at every epoch, as hw3.md says."""
    follow_up = configs(committed_results, "three-layer-learning-rates")
    structures = configs(committed_results, "structures")
    assert watched["3 x 512, lr 0.01"]["dev_accs"] == follow_up["lr 0.01"]["runs"][0]["dev_accs"]
    assert watched["3 x 512, lr 0.002"]["dev_accs"] == follow_up["lr 0.002"]["runs"][0]["dev_accs"]
    assert watched["512, lr 0.02"]["dev_accs"] == structures["512"]["runs"][0]["dev_accs"]
    intro = section("Inside the network")
    steps = {len(run["inside"]["steps"]) for run in watched.values()}
    assert steps == {50} and "At 50 steps" in intro
    assert all(run["seed"] == 42 for run in watched.values()) and "with seed 42" in intro


def _first(steps: list[int], values: list[float], test: Callable[[float], bool],
           after: int = -1) -> int:
    return next(step for step, value in zip(steps, values, strict=True)
                if step > after and test(value))


def test_inside_the_network_findings(watched):
    """Every number of "What happened", in order, is computed from the committed watched runs."""
    fail, learn, ref = watched["3 x 512, lr 0.01"], watched["3 x 512, lr 0.002"], \
        watched["512, lr 0.02"]

    def series(run, part, layer, key):
        return [look[layer][key] for look in run["inside"][part]]

    def at(run, values, step):
        return values[run["inside"]["steps"].index(step)]

    steps = fail["inside"]["steps"]
    second, third = (series(fail, "hidden", layer, "saturated") for layer in (1, 2))
    full = _first(steps, second, lambda v: v == 1.0)
    assert all(v == 1.0 for step, v in zip(steps, second, strict=True) if step >= full)
    nearly, third_full = (_first(steps, values, lambda v: v >= 0.99) for values in (second, third))
    grads = [series(fail, "layers", layer, "grad_norm") for layer in (0, 1)]
    ratios = [series(fail, "layers", layer, "update_ratio") for layer in (0, 1)]
    learned = series(learn, "hidden", 1, "saturated")
    peak = max(learned)
    peak_step = learn["inside"]["steps"][learned.index(peak)]
    low_step = _first(learn["inside"]["steps"], learned, lambda v: v < 0.01, after=peak_step)
    learn_grads = series(learn, "layers", 0, "grad_norm")
    dip = min(grad for grad in learn_grads if grad is not None)
    text = paragraph(section("Inside the network"), "**What happened.**")
    assert scientific(text) == [
        str(fail["lr"]), "1", f"{100 * 10 ** ratios[0][1]:.0f}", f"{-ratios[0][1]:.2f}",
        f"{fail['inside']['dev_loss'][0]:.2f}", f"{fail['inside']['dev_loss'][1]:.2f}",
        f"{100 * at(fail, second, 2):.1f}", "2", f"{100 * at(fail, second, nearly):.1f}",
        str(nearly), str(full), f"{fail['inside']['hidden'][-1][1]['mean']:.3f}",
        f"{grads[0][1]:.1e}", "1", f"{at(fail, grads[0], full):.1e}", str(full),
        f"{grads[0][-1]:.1e}", f"{grads[1][1]:.1e}", f"{grads[1][-1]:.1e}",
        f"{-ratios[0][-1]:.2f}", f"{-ratios[1][-1]:.2f}", "3", str(full),
        f"{100 * at(fail, third, third_full):.1f}", str(third_full), f"{fail['best_dev_acc']:.2f}",
        str(learn["lr"]), f"{100 * peak:.1f}", str(peak_step),
        f"{100 * at(learn, learned, low_step):.1f}", str(low_step), f"{dip:.1e}",
        str(learn["inside"]["steps"][learn_grads.index(dip)]), f"{learn_grads[-1]:.2f}",
        f"{-series(learn, 'layers', 0, 'update_ratio')[-1]:.2f}", f"{learn['best_dev_acc']:.4f}",
        "512", str(ref["lr"]), f"{100 * series(ref, 'hidden', 0, 'saturated')[-1]:.1f}",
        f"{ref['best_dev_acc']:.4f}", f"{series(ref, 'layers', 0, 'grad_norm')[-1]:.2f}"]


def test_constant_initialisation_shown_on_the_code(shown):
    """Concept 6's demonstration quotes diagnose.json: one distinct unit from the constant
    start, 512 from the default one, and their dev accuracies."""
    constant, default = shown["constant_init"]["constant"], shown["constant_init"]["default"]
    text = paragraph(section("Concepts, intuitions and big picture"), "*Shown on the code*")
    assert constant["distinct_units"] == 1 and default["distinct_units"] == 512
    assert scientific(text) == [
        "512", "0.1", "0.02", "64", "1", "512", f"{constant['largest_row_difference']:.1f}",
        f"{constant['dev_acc']:.4f}", "512", f"{default['dev_acc']:.4f}"]


def test_xor_shown_on_the_code(shown):
    """XOR 3 and 4's demonstrations quote diagnose.json: from zeros only b2 moves and the
    output is constant; from 0.5 the units stay copies; the random starts' outcomes."""
    xor = shown["xor"]
    zeros_text, constant_text = (paragraph(part, "*Shown on the code*") for part in
                                 section("Simulating XOR").split("4. **Extra credit", 1))
    assert xor["zeros"]["moved"] == ["linears.1.bias"] and "`linears.1.bias`" in zeros_text
    assert max(xor["zeros"]["outputs"]) - min(xor["zeros"]["outputs"]) < 1e-6
    assert f"all four outputs end at {xor['zeros']['outputs'][0]:.3f}" in zeros_text
    two, eight = xor["random"]["2"], xor["random"]["8"]
    assert xor["constant"]["largest_row_difference"] == 0
    assert scientific(constant_text) == [
        "0.5", f"{xor['constant']['largest_row_difference']:.1f}",
        *{f"{y:.3f}" for y in xor["constant"]["outputs"]}, "0.1", str(two["learned"]),
        str(two["seeds"]), str(two["dead_unit"]), "0", str(two["linear"]), str(two["other"]),
        "8", str(eight["learned"]), str(eight["seeds"]), "2"]


def test_vanishing_gradients_shown_on_the_code(shown):
    """Activations 3's demonstration quotes diagnose.json's gradient norms at one and eight
    hidden layers, and Sigmoid's fall is steeper than (1/4)^L."""
    depth = shown["depth"]
    assert depth["depths"] == list(range(1, 9))
    sigmoid = depth["Sigmoid"]
    assert sigmoid[-1] < sigmoid[0] * 0.25 ** 7 and sigmoid == sorted(sigmoid, reverse=True)
    text = paragraph(section("Activations per layer, keeps linearity away"),
                     "*Shown on the code*")
    assert scientific(text) == [
        "1", "000", f"{sigmoid[0]:.1e}", "512", f"{sigmoid[-1]:.1e}", "1", "4",
        f"{depth['Tanh'][0]:.1e}", f"{depth['Tanh'][-1]:.1e}", f"{depth['ReLU'][0]:.1e}",
        f"{depth['ReLU'][-1]:.1e}"]


def test_the_mistakes_findings():
    """The mistakes paragraph quotes the committed plots/mistakes.json of the best kept model
    (the one predict uses): every number in order, and the reviews it quotes with their
    probabilities."""
    every = json.loads(committed("plots/mistakes.json"))
    sweep = max(every, key=lambda name: every[name]["dev_acc"])
    found = every[sweep]
    intro = section("Programming").split("### What the best model gets wrong", 1)[1]
    assert f"here {found['model']} from the {sweep}\nsweep" in intro
    assert f"dev accuracy {found['dev_acc']:.4f}" in intro
    text = findings("### What the best model gets wrong")
    negation, contrast = found["negation"], found["contrast"]
    shown = {item["text"]: item for way in ("false_positives", "false_negatives")
             for item in found[way]}
    quoted = re.findall(r'"([^"]+)" (?:is called )?(?:negative|positive) \((?:P\(positive\) )?'
                        r'(\d\.\d{3})\)', text)
    assert len(quoted) == 2
    for words, probability in quoted:
        (item,) = (item for review, item in shown.items() if words in " ".join(review.split()))
        assert f"{item['p_positive']:.3f}" == probability
    assert numbers(text) == [
        str(found["mistakes"]), str(found["dev_reviews"]), str(found["counted"]),
        f"{100 * negation['mistakes']['share']:.0f}", f"{100 * negation['all']['share']:.0f}",
        f"{negation['mistakes']['per_100_words']:.2f}", "100",
        f"{negation['all']['per_100_words']:.2f}", f"{100 * contrast['mistakes']['share']:.0f}",
        f"{100 * contrast['all']['share']:.0f}", f"{contrast['mistakes']['per_100_words']:.2f}",
        "100", f"{contrast['all']['per_100_words']:.2f}", f"{found['median_words']['mistakes']:g}",
        f"{found['median_words']['all']:g}", *(probability for _, probability in quoted)]
