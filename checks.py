"""The homework's checks: one per item of the rubric, each calling a completion's own mlp.py and
main.py on tiny inputs made here and, for each case that fails, saying what was called, what
came and what was expected, as a student can act on it.

The grader (grade.py) runs each check in a sandbox on a copy of a student's submission; the
project's own tests run the same checks on this completion (tests/test_homework.py).
"""

from __future__ import annotations

import itertools
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

# The word vectors the checks index, as a student's code does (gensim's KeyedVectors): small
# numbers, so that a mean can be checked by hand.
WORDS = {"good": [1, 0, 0, 2], "great": [2, 1, 0, 0], "bad": [-1, 0, 1, 0],
         "awful": [-2, 0, 0, -1], "movie": [0, 1, 1, 0], "plot": [0, -1, 2, 1],
         "the": [0, 0, 0, 1], "was": [1, 1, 1, 1]}
STRUCTURES = [(4, 2, []), (4, 2, [8]), (4, 2, [8, 6]), (4, 2, [8, 6, 5]), (7, 3, [5, 11, 2])]


@dataclass(frozen=True)
class Submission:
    """A completion of the homework: its modules, and the folder it runs in (where it writes)."""

    mlp: ModuleType
    main: ModuleType | None
    folder: Path


@dataclass
class Verdict:
    """What a check found: how many of its cases passed, and a line of feedback for each that
    did not."""

    cases: int = 0
    passed: int = 0
    feedback: list[str] = field(default_factory=list)

    def case(self, call: str, check: Callable[[], str | None], folder: Path) -> None:
        """Run one case: check() says what is wrong (None: nothing); an error it raises is what
        is wrong, with the line of the submission it came from."""
        self.cases += 1
        try:
            problem = check()
        except Exception as error:
            problem = f"raised {student_error(error, folder)}"
        if problem is None:
            self.passed += 1
        else:
            self.feedback.append(f"{call} {problem}")


def once(function: Callable[[], object]) -> Callable[[], object]:
    """function, called once: its value, or the error it raised, given again at every call
    (the cases of one item share one call of the student's code)."""
    memo = []

    def call() -> object:
        if not memo:
            try:
                memo.append((function(), None))
            except Exception as error:
                memo.append((None, error))
        value, error = memo[0]
        if error is not None:
            raise error
        return value

    return call


def student_error(error: BaseException, folder: Path) -> str:
    """An exception in one line, with the last frame of its traceback in the submission's own
    files: where the student can look."""
    message = " ".join(str(error).split())[:300] or "(no message)"
    if isinstance(error, NotImplementedError):
        message = f"{message}: the blank is not filled in".removeprefix("(no message): ")
    elif isinstance(error, MemoryError):
        message = "ran out of the memory the grader allows"
    root = str(folder.resolve())
    own = [frame for frame in traceback.extract_tb(error.__traceback__)
           if str(Path(frame.filename).resolve()).startswith(root)]
    code = f": `{own[-1].line}`" if own and own[-1].line else ""
    where = (f" (at {Path(own[-1].filename).name} line {own[-1].lineno}, in {own[-1].name}"
             f"{code})" if own else "")
    return f"{type(error).__name__}: {message}{where}"


def show(value: object) -> str:
    """A value as a student reads it: a tensor by its numbers, rounded, and its shape."""
    if isinstance(value, torch.Tensor):
        numbers = np.round(value.detach().double().numpy(), 4).tolist()
        return f"tensor {numbers} of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:200]


def word_vectors(words: dict[str, list] | None = None) -> object:
    """gensim KeyedVectors of words (default WORDS), float32."""
    # Imported where the checks run (the grader imports it before it forks): every other
    # command of main.py is spared gensim's seconds of importing.
    from gensim.models import KeyedVectors

    words = WORDS if words is None else words
    vectors = KeyedVectors(len(next(iter(words.values()))))
    vectors.add_vectors(list(words), np.array(list(words.values()), dtype=np.float32))
    return vectors


def mean_vector(sentence: str) -> torch.Tensor | None:
    """The expected featurize: the mean of the vectors of the sentence's known words."""
    rows = [WORDS[word] for word in sentence.lower().split() if word in WORDS]
    return torch.tensor(rows, dtype=torch.float32).mean(dim=0) if rows else None


def reference_featurize(sentence: str, embeddings: object) -> torch.Tensor | None:
    """featurize as the checks expect it, for the checks that must not depend on the student's."""
    return mean_vector(sentence)


def reference_tensor_dataset(raw_data: dict, embeddings: object) -> TensorDataset:
    """create_tensor_dataset as the checks expect it (with reference_featurize)."""
    kept = [(mean_vector(text), label) for text, label in zip(raw_data["text"],
                                                               raw_data["label"], strict=True)
            if mean_vector(text) is not None]
    return TensorDataset(torch.stack([feature for feature, _ in kept]),
                         torch.tensor([label for _, label in kept], dtype=torch.long))


# ----------------------------------------------------------------------------------------------
# Blanks 1 and 2: the features


def check_featurize(submission: Submission) -> Verdict:
    """featurize: the mean of the known words' vectors as a float32 tensor (embed_dim,), None
    when no word is known."""
    verdict, vectors = Verdict(), word_vectors()
    for sentence in ["good movie", "Good good bad", "great zzz", "zzz qqq"]:
        verdict.case(f"featurize({sentence!r}, vectors)",
                     lambda sentence=sentence: _feature_problem(
                         submission.mlp.featurize(sentence, vectors), mean_vector(sentence)),
                     submission.folder)
    return verdict


def _feature_problem(got: object, expected: torch.Tensor | None) -> str | None:
    """What is wrong with a feature (None: nothing)."""
    if expected is None:
        return None if got is None else (f"gave {show(got)}; expected None: none of the "
                                         f"sentence's words has a vector")
    wanted = f"expected {show(expected)}, the mean of its known words' vectors"
    if not isinstance(got, torch.Tensor):
        return f"gave {show(got)}; {wanted} as a torch tensor"
    if tuple(got.shape) != tuple(expected.shape):
        return f"gave shape {tuple(got.shape)}; {wanted}"
    if got.dtype != torch.float32:
        return f"gave {got.dtype} values; expected torch.float32, the dtype of the layers"
    if not torch.allclose(got, expected, atol=1e-5):
        hint = " (that is their sum: divide by how many they are)" if any(
            torch.allclose(got, expected * count, atol=1e-5) for count in (2, 3)) else ""
        return f"gave {show(got)}; {wanted}{hint}"
    return None


def check_tensor_dataset(submission: Submission) -> Verdict:
    """create_tensor_dataset: each review's feature and label, a review with no known word
    skipped (featurize is the checks' own here, so that only this blank counts)."""
    verdict, raw = Verdict(), {"text": ["good movie", "zzz", "bad plot", "great"],
                               "label": [1, 0, 0, 1]}
    expected = reference_tensor_dataset(raw, None).tensors
    call = "create_tensor_dataset({'text': ['good movie', 'zzz', 'bad plot', 'great'], " \
           "'label': [1, 0, 0, 1]}, vectors)"
    with _replaced(submission.mlp, featurize=reference_featurize):
        tensors = once(lambda: submission.mlp.create_tensor_dataset(raw, word_vectors()).tensors)

        verdict.case(call, lambda: None if len(tensors()[0]) == 3 else (
            f"gave {len(tensors()[0])} examples; expected 3 (the review 'zzz' has no known "
            f"word: skip it)"), submission.folder)
        verdict.case(call, lambda: None if torch.allclose(tensors()[0].float(), expected[0])
                     else f"gave features {show(tensors()[0])}; expected {show(expected[0])}",
                     submission.folder)
        verdict.case(call, lambda: None if torch.equal(tensors()[1], expected[1]) else (
            f"gave labels {show(tensors()[1])} ({tensors()[1].dtype}); expected "
            f"{show(expected[1])} (torch.long)"), submission.folder)
    return verdict


class _replaced:
    """Within the with-block, module's attributes replaced by those given (then put back)."""

    def __init__(self, module: ModuleType | None, **values: object) -> None:
        self.module, self.values, self.before = module, values, {}

    def __enter__(self) -> None:
        for name, value in self.values.items():
            if self.module is not None:
                self.before[name] = getattr(self.module, name, None)
                setattr(self.module, name, value)

    def __exit__(self, *exc: object) -> None:
        for name, value in self.before.items():
            setattr(self.module, name, value)


# ----------------------------------------------------------------------------------------------
# Blanks 3 to 5: the layers, the forward pass, the activations


def layers_of(model: nn.Module) -> list[nn.Module]:
    """The model's layers in order: its linears, or else the nn.Linear modules it registers."""
    linears = getattr(model, "linears", None)
    if isinstance(linears, list | tuple | nn.ModuleList):
        return list(linears)
    return [module for module in model.modules() if isinstance(module, nn.Linear)]


def check_layers(submission: Submission) -> Verdict:
    """The layers: self.linears, an nn.ModuleList of nn.Linear, embed_dim -> each hidden size
    -> num_classes, for no hidden layer up to three, and odd sizes."""
    verdict = Verdict()
    for embed_dim, classes, hidden in STRUCTURES:
        call = f"SentimentClassifier({embed_dim}, {classes}, {hidden})"
        sizes = [embed_dim, *hidden, classes]
        expected = list(itertools.pairwise(sizes))
        verdict.case(call, lambda args=(embed_dim, classes, hidden), expected=expected:
                     _layers_problem(submission.mlp.SentimentClassifier(*args), expected),
                     submission.folder)
    return verdict


def _layers_problem(model: nn.Module, expected: list[tuple[int, int]]) -> str | None:
    """What is wrong with a model's self.linears (None: nothing)."""
    linears = getattr(model, "linears", None)
    if linears is None:
        return "has no self.linears; expected an nn.ModuleList of its nn.Linear layers"
    if not isinstance(linears, nn.ModuleList):
        return (f"made self.linears a {type(linears).__name__}: its layers' parameters are not "
                f"registered, so model.parameters() misses them and the optimizer trains "
                f"nothing; use nn.ModuleList")
    if not all(isinstance(layer, nn.Linear) for layer in linears):
        return f"holds {[type(layer).__name__ for layer in linears]}; expected nn.Linear layers"
    sizes = [(layer.in_features, layer.out_features) for layer in linears]
    return None if sizes == expected else f"has layers {sizes}; expected {expected}"


def _inputs(embed_dim: int) -> torch.Tensor:
    """Three examples of float32 features, always the same."""
    return torch.randn(3, embed_dim, generator=torch.Generator().manual_seed(0))


def _by_hand(layers: list[nn.Module], x: torch.Tensor, between: Callable, last: Callable
             ) -> torch.Tensor:
    """The layers' matrix products x W^T + b, between() after each hidden layer and last()
    after the output layer."""
    for index, layer in enumerate(layers):
        x = x @ layer.weight.detach().T.to(x.dtype) + layer.bias.detach().to(x.dtype)
        x = between(x) if index < len(layers) - 1 else last(x)
    return x


def forward_problem(model: nn.Module, x: torch.Tensor, activation: Callable,
                     name: str) -> str | None:
    """What is wrong with model(x), against its own layers' matrix products with activation
    after every hidden layer and nothing after the last (None: nothing)."""
    layers = layers_of(model)
    double = any(p.dtype != torch.float32 for p in model.parameters())
    try:
        logits = model(x)
    except RuntimeError as error:
        hint = " (its layers hold float64 weights: build them in float32, nn.Linear's " \
               "default)" if double else ""
        raise RuntimeError(f"{error}{hint}") from error
    expected = _by_hand(layers, x, activation, lambda z: z)
    if not isinstance(logits, torch.Tensor):
        return f"returned {show(logits)}; expected logits of shape {tuple(expected.shape)}"
    if tuple(logits.shape) != tuple(expected.shape):
        return f"gave logits of shape {tuple(logits.shape)}; expected {tuple(expected.shape)}"
    if torch.allclose(logits.double(), expected.double(), atol=1e-4):
        return None
    diagnoses = {
        f"the products with no {name} after the hidden layers: apply it after each":
            _by_hand(layers, x, lambda z: z, lambda z: z),
        f"the products with {name} after the output layer too: the output layer's logits get "
        f"none": _by_hand(layers, x, activation, activation),
        "their softmax: return the logits, the loss applies the softmax itself":
            expected.softmax(dim=1)}
    found = [words for words, values in diagnoses.items()
             if len(layers) and torch.allclose(logits.double(), values.double(), atol=1e-4)]
    return (f"gave {show(logits)}; expected the matrix products of its own layers with {name} "
            f"after each hidden layer only: {show(expected)}"
            + (f". It matches {found[0]}" if found else ""))


def check_forward(submission: Submission) -> Verdict:
    """forward: logits (batch, num_classes) for float32 features, the layers' matrix products
    with the activation (Sigmoid) after every hidden layer and never after the last."""
    verdict = Verdict()
    for embed_dim, classes, hidden in STRUCTURES:
        call = f"SentimentClassifier({embed_dim}, {classes}, {hidden})(x of shape (3, {embed_dim}))"

        def problem(args=(embed_dim, classes, hidden)) -> str | None:
            torch.manual_seed(0)
            model = submission.mlp.SentimentClassifier(*args)
            return forward_problem(model, _inputs(args[0]), torch.sigmoid, "Sigmoid")

        verdict.case(call, problem, submission.folder)
    return verdict


ACTIVATION_CHECKS = {  # the skeleton's name: the module, and the function(s) it computes
    "Tanh": (nn.Tanh, [torch.tanh]),
    "ReLU": (nn.ReLU, [torch.relu]),
    "GeLU": (nn.GELU, [nn.functional.gelu, lambda z: nn.functional.gelu(z, approximate="tanh")]),
}


def check_activation(name: str) -> Callable[[Submission], Verdict]:
    """The activation of that name (as the skeleton's list spells it): SentimentClassifier
    accepts it and uses it (its module, or failing that what forward computes)."""
    module, functions = ACTIVATION_CHECKS[name]

    def check(submission: Submission) -> Verdict:
        verdict = Verdict()
        for hidden in ([8], [8, 6]):
            def problem(hidden: list[int] = hidden) -> str | None:
                torch.manual_seed(0)
                model = submission.mlp.SentimentClassifier(4, 2, hidden, name)
                if any(isinstance(part, module) for part in model.modules()):
                    return None
                problems = [forward_problem(model, _inputs(4), function, name)
                            for function in functions]
                return None if None in problems else (f"has no nn.{module.__name__} and "
                                                      f"{problems[0]}")

            verdict.case(f"SentimentClassifier(4, 2, {hidden}, activation={name!r})", problem,
                         submission.folder)
        return verdict

    check.__doc__ = f"The activation {name!r}: accepted, and used after each hidden layer."
    return check


# ----------------------------------------------------------------------------------------------
# Blank 6: accuracy


def check_accuracy(submission: Submission) -> Verdict:
    """accuracy: a float 0/1 for each example, 1 where the largest logit is the label's."""
    verdict = Verdict()
    cases = [([[2.0, 1.0], [-1.0, 3.0], [0.2, 0.1], [-5.0, -4.0]], [0, 0, 0, 1]),
             ([[0.0, 1.0], [3.0, -1.0], [0.5, 0.6]], [1, 0, 1])]
    for logits, labels in cases:
        logits, labels = torch.tensor(logits), torch.tensor(labels)
        expected = (logits.argmax(dim=1) == labels).float()

        def problem(logits=logits, labels=labels, expected=expected) -> str | None:
            got = submission.mlp.accuracy(logits, labels)
            wanted = f"expected one 0/1 per example: {show(expected)}"
            if not isinstance(got, torch.Tensor):
                return f"gave {show(got)}; {wanted}"
            if tuple(got.shape) != tuple(labels.shape):
                return f"gave {show(got)}; {wanted}" + (
                    " (that is their mean: return the 0/1 of each)" if got.numel() == 1 else "")
            if not got.is_floating_point():
                return (f"gave {got.dtype} values; expected floats (.float()), whose mean "
                        f"evaluate can take")
            return None if torch.equal(got.float(), expected) else f"gave {show(got)}; {wanted}"

        verdict.case(f"accuracy(logits {logits.double().numpy().round(4).tolist()}, labels "
                     f"{labels.tolist()})", problem, submission.folder)
    return verdict


# ----------------------------------------------------------------------------------------------
# Blanks 7 and 8: the sweeps, with a stand-in for run_mlp that records what each asks for


def reviews(count: int, seed: int) -> dict:
    """count short reviews over WORDS, half positive: {"text": [...], "label": [...]}."""
    rng = np.random.default_rng(seed)
    texts = [" ".join([str(rng.choice(["good", "great"] if label else ["bad", "awful"])),
                       str(rng.choice(["movie", "plot"])), "was", "the"])
             for label in (0, 1) for _ in range(count // 2)]
    return {"text": texts, "label": [0] * (count // 2) + [1] * (count // 2)}


def _stand_in(submission: Submission, record: Path) -> Callable:
    """A run_mlp that trains nothing: it records the configuration it is given (a line of JSON
    in record, so that runs in worker processes are recorded too), saves the submission's
    untrained model where the configuration says, and returns plausible curves."""
    def run_mlp(config: object, embeddings: object, *datasets: object, **beside: object):
        settings = dict(config) if isinstance(config, dict) else vars(config)
        with open(record, "a") as file:
            file.write(json.dumps(settings, default=str) + "\n")
        if settings.get("save_path"):
            try:
                model = submission.mlp.SentimentClassifier(
                    embeddings.vector_size, settings.get("num_classes", 2),
                    list(settings["hidden_dims"]), settings["activation"])
                torch.save(model.state_dict(), settings["save_path"])
            except Exception:  # the model is the other checks' business
                pass
        epochs = int(settings.get("num_epochs") or 1)
        rising = [0.5 + 0.3 * (epoch + 1) / epochs for epoch in range(epochs)]
        falling = [0.7 - 0.2 * (epoch + 1) / epochs for epoch in range(epochs)]
        return falling, rising, falling, rising, falling[-1], rising[-1]
    return run_mlp


def run_sweep(submission: Submission, sweep: str) -> tuple[list[dict], int]:
    """Call main.<sweep>(dev, train, test, vectors) as the skeleton's __main__ does, with the
    stand-in for run_mlp and the checks' own create_tensor_dataset: the configurations it
    trained, and how many plots (.png files) it wrote."""
    record = submission.folder / ".grader-configs.jsonl"
    record.unlink(missing_ok=True)
    before = set(submission.folder.rglob("*.png"))
    stand_in = _stand_in(submission, record)
    with _replaced(submission.main, run_mlp=stand_in, create_tensor_dataset=
                   reference_tensor_dataset), _replaced(submission.mlp, run_mlp=stand_in):
        getattr(submission.main, sweep)(reviews(8, 1), reviews(16, 2), reviews(8, 3),
                                        word_vectors())
    configs = [json.loads(line) for line in record.read_text().splitlines()] \
        if record.exists() else []
    return configs, len(set(submission.folder.rglob("*.png")) - before)


def _same(got: object, value: object) -> bool:
    """Whether a configuration's setting is the value (a name in any case, a number or a list
    of numbers)."""
    if isinstance(value, str):
        return str(got).lower() == value.lower()
    try:
        return np.shape(got) == np.shape(value) and np.allclose(got, value, rtol=1e-9, atol=0)
    except (TypeError, ValueError):
        return False


def _settings_problem(configs: list[dict], fixed: dict) -> str | None:
    """The first setting of a configuration that is not the handout's (None: all are)."""
    if not configs:
        return "never called run_mlp"
    for config in configs:
        for key, value in fixed.items():
            if not _same(config.get(key), value):
                return (f"trained {key}={config.get(key)!r} in a run; the handout fixes "
                        f"{key}={value!r}")
    return None


def check_sweep(sweep: str, varied: str, fixed: dict, examples: list, required: list) -> Callable:
    """The sweep main.<sweep>: at least as many values of varied as examples (required among
    them), each run with the handout's fixed settings, and its two plots written."""
    def check(submission: Submission) -> Verdict:
        verdict, call = Verdict(), f"{sweep}(dev, train, test, vectors)"
        swept = once(lambda: run_sweep(submission, sweep))

        def values_problem() -> str | None:
            values = list(dict.fromkeys(config.get(varied) for config in swept()[0]))
            distinct = [value for index, value in enumerate(values)
                        if not any(_same(value, other) for other in values[:index])]
            missing = [value for value in required if not any(_same(v, value) for v in distinct)]
            if len(distinct) >= len(examples) and not missing:
                return None
            return (f"trained {len(distinct)} values of {varied}, {distinct}; expected at least "
                    f"{len(examples)}, such as {examples}"
                    + (f", {missing[0]!r} among them" if missing else ""))

        verdict.case(call, values_problem, submission.folder)
        verdict.case(call, lambda: _settings_problem(swept()[0], fixed), submission.folder)
        verdict.case(call, lambda: None if swept()[1] >= 2 else (
            f"wrote {swept()[1]} plots (.png files); expected two, dev accuracy and dev loss "
            f"across the configurations (visualize_configs)"), submission.folder)
        return verdict

    check.__doc__ = (f"main.{sweep}: at least {len(examples)} values of {varied}, each with the "
                     f"handout's fixed settings, and its two plots.")
    return check


# ----------------------------------------------------------------------------------------------
# What the blanks must not break: the whole training path


def learnable(count: int, seed: int) -> TensorDataset:
    """count float32 examples of 6 features that a line separates with a margin, and labels."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 6, generator=generator)
    direction = torch.tensor([1.0, -1.0, 0.5, 0.0, 0.0, 0.0])
    labels = (x @ direction > 0).long()
    x += (2 * labels[:, None] - 1) * direction / direction.norm()  # pushed off the line
    return TensorDataset(x, labels)


def check_training(submission: Submission) -> Verdict:
    """run_mlp -> train -> evaluate, the submission's own, on a tiny learnable set: six values
    back, four lists of one value per epoch, and a model that learns it."""
    from easydict import EasyDict  # as the skeleton's configurations are (see word_vectors)

    verdict = Verdict()
    config = EasyDict({"batch_size": 16, "lr": 0.01, "num_epochs": 8, "hidden_dims": [16],
                       "activation": "Sigmoid", "num_classes": 2, "embeddings": "tiny",
                       "save_path": str(submission.folder / "model_training.pth")})
    call = "run_mlp(a Sigmoid [16] configuration, 8 epochs, on 256 examples a line separates)"

    def train() -> tuple:
        torch.manual_seed(0)
        vectors = word_vectors({"x": [0.0] * 6})  # what run_mlp may read: vector_size, 6
        return tuple(submission.mlp.run_mlp(config, vectors, learnable(128, 1), learnable(256, 2),
                                            learnable(128, 3)))

    ran = once(train)

    verdict.case(call, lambda: None if len(ran()) == 6 and all(
        len(values) == config.num_epochs for values in ran()[:4]) else (
        f"returned {len(ran())} values; expected six: four lists of one value per epoch "
        f"({config.num_epochs}), then test loss and test accuracy"), submission.folder)
    verdict.case(call, lambda: None if max(ran()[3]) >= 0.9 else (
        f"reached a best dev accuracy of {max(ran()[3]):.2f}; expected at least 0.9: check that "
        f"train calls optimizer.zero_grad, loss.backward and optimizer.step for each batch"),
        submission.folder)
    verdict.case(call, lambda: None if ran()[5] >= 0.9 else (
        f"gave a test accuracy of {ran()[5]:.2f}; expected at least 0.9 with the best dev "
        f"epoch's weights"), submission.folder)
    return verdict


# ----------------------------------------------------------------------------------------------
# The items, in the rubric's order


@dataclass(frozen=True)
class Item:
    """One item of the rubric: which of the submission's files it needs, and its check."""

    needs: tuple[str, ...]
    check: Callable[[Submission], Verdict]


ITEMS: dict[str, Item] = {
    "featurize": Item(("mlp",), check_featurize),
    "create_tensor_dataset": Item(("mlp",), check_tensor_dataset),
    "layers": Item(("mlp",), check_layers),
    "forward": Item(("mlp",), check_forward),
    **{f"activation {name}": Item(("mlp",), check_activation(name)) for name in
       ACTIVATION_CHECKS},
    "accuracy": Item(("mlp",), check_accuracy),
    "explore_mlp_activations": Item(("mlp", "main"), check_sweep(
        "explore_mlp_activations", "activation",
        {"lr": 0.02, "batch_size": 128, "num_epochs": 20, "hidden_dims": [512]},
        examples=["Sigmoid", "Tanh", "ReLU", "GeLU"], required=[])),
    "explore_mlp_learning_rates": Item(("mlp", "main"), check_sweep(
        "explore_mlp_learning_rates", "lr",
        {"activation": "Sigmoid", "batch_size": 64, "num_epochs": 20, "hidden_dims": [512]},
        examples=[0.1, 0.02, 0.005, 0.001], required=[0.02])),
    "training": Item(("mlp",), check_training),
}
