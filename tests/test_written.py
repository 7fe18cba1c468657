"""hw3.md's answers, taken from the document and checked against computation.

Every checkable answer is read from hw3.md itself (a table cell, a formula, a matrix), turned
into PyTorch, and compared with autograd or with what training does. Changing an answer in
hw3.md changes what these tests compute, so a wrong answer fails here. The findings of the
programming part are checked in test_findings.py.
"""

import math
import re
from collections.abc import Callable

import pytest
import torch
from conftest import section, table
from torch import nn
from torch.autograd.functional import jacobian

DTYPE = torch.float64  # the identities are exact: only round-off limits the tolerances
D, N, K = 5, 4, 3
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=DTYPE)
XOR_Y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=DTYPE)


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


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
    return {**values, "df/dx": x.grad.item(), "df/dy": y.grad.item(), "df/dz": z.grad.item()}


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
