"""The homework's checks, one per item of the rubric, each in two halves.

A probe calls a completion's own mlp.py and main.py through the skeleton's entry points on tiny
inputs made here, and writes down what came back as plain data (numbers, lists, the line of the
completion that raised). A judge, in the grader's own process, compares that with what this
project's mlp.py and main.py give on the same inputs (the same probe run on them before any
submission is imported, or this project's mlp computed here), as the rest of the skeleton would
read it, and says for each case that fails what was called, what came and what was expected.
Nothing a submission does reaches the judge but the data its probe returns.

Every input is drawn from a Draw's seed, which each grading run draws anew from a secret: the
words' vectors, the models' sizes and weights, the logits, the labels, the reviews and the
examples a run trains on. An answer copied from an earlier run, or computed from this file,
earns nothing.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import math
import mmap
import os
import traceback
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import matplotlib.figure
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

# Taken when the checks are imported, before a submission can replace them: a probe reads what
# a submission gives only through these.
_TOLIST, _IS_TENSOR, _LINEAR = torch.Tensor.tolist, torch.is_tensor, nn.Linear
_DETACH, _CPU, _ASARRAY = torch.Tensor.detach, torch.Tensor.cpu, np.asarray
# The words the checks give vectors (gensim's KeyedVectors, as a student's code indexes them).
WORD_NAMES = ("good", "great", "bad", "awful", "movie", "plot", "the", "was")
TOLERANCE = 1e-4  # float32 arithmetic done in another order


@dataclass(frozen=True)
class Draw:
    """One grading run's inputs, every number of every probe drawn from seed (a run draws it
    from a secret and records it beside its grades: a regrade gives the same verdicts)."""

    seed: int

    def rng(self, purpose: str) -> np.random.Generator:
        """The numbers for one purpose, the same for the same seed in any process."""
        return np.random.default_rng([self.seed, zlib.crc32(purpose.encode())])

    def torch_seed(self, purpose: str) -> int:
        """A seed for torch's generators, for one purpose."""
        return int(self.rng(purpose).integers(2**31))

    @functools.cached_property
    def words(self) -> dict[str, list[int]]:
        """Each word's vector: four small whole numbers, so that a mean can be checked by hand
        (none all zeros: every word counts)."""
        values = self.rng("words").integers(-3, 4, size=(len(WORD_NAMES), 4))
        values[np.all(values == 0, axis=1), 0] = 1
        return dict(zip(WORD_NAMES, values.tolist(), strict=True))

    def vectors(self, words: dict[str, list] | None = None) -> object:
        """gensim KeyedVectors of words (default this draw's), float32."""
        return word_vectors(self.words if words is None else words)

    def mean_vector(self, sentence: str, embeddings: object = None) -> torch.Tensor | None:
        """featurize as the checks give it where only another blank is judged: the mean of the
        vectors of the sentence's known words."""
        rows = [self.words[word] for word in sentence.lower().split() if word in self.words]
        return torch.tensor(rows, dtype=torch.float32).mean(dim=0) if rows else None

    def tensor_dataset(self, raw_data: dict, embeddings: object = None) -> TensorDataset:
        """create_tensor_dataset as the checks give it where only another blank is judged."""
        kept = [(self.mean_vector(text), label) for text, label in
                zip(raw_data["text"], raw_data["label"], strict=True)
                if self.mean_vector(text) is not None]
        return TensorDataset(torch.stack([feature for feature, _ in kept]),
                             torch.tensor([label for _, label in kept], dtype=torch.long))

    @functools.cached_property
    def raw(self) -> dict:
        """create_tensor_dataset's raw data: RAW_TEXTS, each with a label drawn."""
        labels = self.rng("labels").integers(0, 2, size=len(RAW_TEXTS))
        return {"text": list(RAW_TEXTS), "label": labels.tolist()}

    def _structures(self, purpose: str, depths: tuple[int, ...]) -> list[tuple]:
        """(embed_dim, num_classes, hidden_dims) of each depth, sizes drawn."""
        rng = self.rng(purpose)
        return [(int(rng.integers(3, 8)), int(rng.integers(2, 4)),
                 rng.integers(2, 13, size=depth).tolist()) for depth in depths]

    @functools.cached_property
    def structures(self) -> list[tuple]:
        """The models the layers and forward items build: no hidden layer up to three."""
        return self._structures("structures", (0, 1, 2, 3))

    @functools.cached_property
    def activation_structures(self) -> list[tuple]:
        """The models each activation item builds: one hidden layer and two."""
        return self._structures("activation structures", (1, 2))

    def inputs(self, embed_dim: int) -> torch.Tensor:
        """Three examples of float32 features for a model of embed_dim."""
        generator = torch.Generator().manual_seed(self.torch_seed(f"inputs {embed_dim}"))
        return torch.randn(3, embed_dim, generator=generator)

    @functools.cached_property
    def accuracy_cases(self) -> list[tuple[list, list]]:
        """(logits, labels) of two batches, four and three examples of two classes: distinct
        logits (no ties), labels drawn."""
        rng, cases = self.rng("accuracy"), []
        for rows in (4, 3):
            logits = rng.permutation(np.arange(-24, 24))[:2 * rows].reshape(rows, 2) / 4
            cases.append((logits.tolist(), rng.integers(0, 2, size=rows).tolist()))
        return cases


@dataclass(frozen=True)
class Submission:
    """A completion of the homework: its modules, and the folder it runs in (where it writes)."""

    mlp: ModuleType
    main: object | None  # main.py, or what stands for it: its explore_* functions
    folder: Path


@dataclass
class Verdict:
    """What a judge found: how many cases passed, a line of feedback for each that did not,
    notes on what differs from the handout but changes nothing, and what it could not judge."""

    cases: int = 0
    passed: int = 0
    feedback: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)

    def case(self, call: str, problem: str | None) -> None:
        """One case: what is wrong with it (None: nothing)."""
        self.cases += 1
        if problem is None:
            self.passed += 1
        else:
            self.feedback.append(f"{call} {problem}")


# ----------------------------------------------------------------------------------------------
# What a probe writes down


def student_error(error: BaseException, folder: Path) -> str:
    """An exception in one line, with the last frame of its traceback in the submission's own
    files: where the student can look."""
    message = " ".join(str(error).split())[:300] or "(no message)"
    if isinstance(error, NotImplementedError):
        message = f"{message}: is this blank filled in?".removeprefix("(no message): ")
    elif isinstance(error, MemoryError):
        message = "ran out of the memory the grader allows"
    root = str(folder.resolve())
    own = [frame for frame in traceback.extract_tb(error.__traceback__)
           if str(Path(frame.filename).resolve()).startswith(root)]
    code = f": `{own[-1].line}`" if own and own[-1].line else ""
    where = (f" (at {Path(own[-1].filename).name} line {own[-1].lineno}, in {own[-1].name}"
             f"{code})" if own else "")
    return f"{type(error).__name__}: {message}{where}"


def plain(value: object) -> dict:
    """A value as plain data: a tensor (or array) by its dtype, shape and numbers, else its type
    and text."""
    if value is None:
        return {"kind": "None"}
    if isinstance(value, np.ndarray):
        return {"kind": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape),
                "values": _ASARRAY(value, dtype=float).tolist()}
    if _IS_TENSOR(value):
        values = _CPU(_DETACH(value))
        return {"kind": "tensor", "dtype": str(value.dtype).removeprefix("torch."),
                "shape": list(value.shape), "values": _TOLIST(values)}
    return {"kind": type(value).__name__, "text": repr(value)[:200]}


def observe(call: Callable[[], object], folder: Path,
            as_plain: Callable[[object], dict] = plain) -> dict:
    """call()'s value as plain data, or the error it raised (with the submission's line)."""
    try:
        return {"got": as_plain(call())}
    except Exception as error:
        return {"error": student_error(error, folder)}


def tensor(seen: dict) -> torch.Tensor:
    """A tensor (or array) a probe wrote down, as the tensor it was (float64 for an array)."""
    dtype = getattr(torch, seen["dtype"], torch.float64) if seen["kind"] == "tensor" \
        else torch.float64
    return torch.tensor(seen["values"], dtype=dtype).reshape(seen["shape"])


def show(seen: dict) -> str:
    """A value a probe wrote down, as a student reads it: numbers rounded, and the shape."""
    if seen["kind"] in ("tensor", "ndarray"):
        numbers = np.round(np.asarray(seen["values"], dtype=float), 4).tolist()
        text = f"{seen['kind']} {numbers}"
        return (text if len(text) < 160 else text[:157] + "...") + \
            f" of shape {tuple(seen['shape'])}, {seen['dtype']}"
    return seen.get("text", seen["kind"])


def word_vectors(words: dict[str, list]) -> object:
    """gensim KeyedVectors of words, float32."""
    # Imported where the checks run (the launcher imports it before it forks): every other
    # command of main.py is spared gensim's seconds of importing.
    from gensim.models import KeyedVectors

    vectors = KeyedVectors(len(next(iter(words.values()))))
    vectors.add_vectors(list(words), np.array(list(words.values()), dtype=np.float32))
    return vectors


@contextlib.contextmanager
def replaced(module: object, **values: object) -> Iterator[None]:
    """Within the with-block, module's attributes replaced by those given (then put back)."""
    before = {name: getattr(module, name, None) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(module, name, value)


# ----------------------------------------------------------------------------------------------
# Blanks 1 and 2: the features

SENTENCES = ["good movie", "Good good bad", "great zzz", "zzz qqq", "the plot , the plot was bad"]


def probe_featurize(submission: Submission, draw: Draw) -> dict:
    """featurize(sentence, vectors) of each sentence."""
    vectors = draw.vectors()
    return {"cases": [observe(lambda s=sentence: submission.mlp.featurize(s, vectors),
                              submission.folder) for sentence in SENTENCES]}


def judge_featurize(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """The mean of the known words' vectors as a float32 tensor (embed_dim,), None when no word
    is known, as this project's featurize gives it."""
    verdict = Verdict()
    for sentence, got, wanted in zip(SENTENCES, seen["cases"], expected["cases"], strict=True):
        verdict.case(f"featurize({sentence!r}, vectors)", feature_problem(got, wanted["got"]))
    return verdict


def feature_problem(got: dict, expected: dict) -> str | None:
    """What is wrong with a feature (None: nothing)."""
    if "error" in got:
        return f"raised {got['error']}"
    got = got["got"]
    if expected["kind"] == "None":
        return None if got["kind"] == "None" else (
            f"gave {show(got)}; expected None: none of the sentence's words has a vector")
    wanted = f"expected {show(expected)}, the mean of its known words' vectors"
    if got["kind"] != "tensor":
        return f"gave {show(got)}; {wanted}, as a torch tensor (torch.stack needs one)"
    if got["shape"] != expected["shape"]:
        return f"gave shape {tuple(got['shape'])}; {wanted}"
    if got["dtype"] != "float32":
        return (f"gave {got['dtype']} values; expected float32, the dtype of the layers (your "
                f"own run's first forward pass would fail)")
    values, target = tensor(got).double(), tensor(expected).double()
    if torch.allclose(values, target, atol=TOLERANCE):
        return None
    hint = " (that is their sum: divide by how many they are)" if any(
        torch.allclose(values, target * count, atol=TOLERANCE) for count in (2, 3, 4)) else ""
    return f"gave {show(got)}; {wanted}{hint}"


RAW_TEXTS = ("good movie", "zzz", "bad plot", "great")


def probe_tensor_dataset(submission: Submission, draw: Draw) -> dict:
    """create_tensor_dataset(the draw's raw data, vectors), with the checks' featurize, so that
    only this blank counts: its features and labels."""
    with replaced(submission.mlp, featurize=draw.mean_vector):
        return observe(lambda: submission.mlp.create_tensor_dataset(draw.raw, draw.vectors()),
                       submission.folder, dataset_parts)


def dataset_parts(dataset: object) -> dict:
    """A dataset's two tensors (features, labels) as plain data, or what it is instead."""
    parts = getattr(dataset, "tensors", None)
    if isinstance(parts, tuple) and len(parts) == 2:
        return {"kind": "dataset", "parts": [plain(part) for part in parts]}
    return {"kind": type(dataset).__name__, "text": repr(dataset)[:200]}


def judge_tensor_dataset(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """Each review's feature and label, the review with no known word skipped, labels that
    CrossEntropyLoss takes."""
    verdict, call = Verdict(), f"create_tensor_dataset({draw.raw}, vectors)"
    if "error" in seen or seen["got"]["kind"] != "dataset":
        problem = f"raised {seen['error']}" if "error" in seen else (
            f"gave a {seen['got']['kind']}; expected a TensorDataset of features and labels")
        for _ in range(3):
            verdict.case(call, problem)
        return verdict
    (features, labels), (want_features, want_labels) = seen["got"]["parts"], \
        expected["got"]["parts"]
    verdict.case(call, None if features["shape"][:1] == want_features["shape"][:1] else (
        f"gave {features['shape'][0]} examples; expected {want_features['shape'][0]} (the "
        f"review 'zzz' has no known word: skip it)"))
    same = features["shape"] == want_features["shape"] and torch.allclose(
        tensor(features).double(), tensor(want_features).double(), atol=TOLERANCE)
    verdict.case(call, None if same else
                 f"gave features {show(features)}; expected {show(want_features)}")
    verdict.case(call, label_problem(labels, want_labels))
    return verdict


def label_problem(labels: dict, expected: dict) -> str | None:
    """What is wrong with a dataset's labels: their values, or a type CrossEntropyLoss refuses."""
    if labels["shape"] != expected["shape"] or not torch.equal(tensor(labels).double(),
                                                               tensor(expected).double()):
        return f"gave labels {show(labels)}; expected {show(expected)}"
    try:
        F.cross_entropy(torch.zeros(len(labels["values"]), 2), tensor(labels))
    except (RuntimeError, ValueError, TypeError) as error:
        return (f"gave labels of type {labels['dtype']}, which CrossEntropyLoss refuses ("
                f"{' '.join(str(error).split())[:120]}): your own run stops at its first batch; "
                f"make them torch.long")
    return None


# ----------------------------------------------------------------------------------------------
# Blanks 3 to 5: the layers, the forward pass, the activations


def linears(model: nn.Module) -> list[nn.Module]:
    """The nn.Linear modules a model registers, in order, wherever they sit."""
    return [module for module in nn.Module.modules(model) if isinstance(module, _LINEAR)]


def probe_layers(submission: Submission, draw: Draw) -> dict:
    """Each structure's registered nn.Linear layers (in, out), and what holds self.linears."""
    def layers(args: tuple) -> dict:
        model = submission.mlp.SentimentClassifier(*args)
        held = getattr(model, "linears", None)
        in_linears = [layer for layer in held if isinstance(layer, _LINEAR)] \
            if isinstance(held, list | tuple | nn.ModuleList) else []
        return {"sizes": [[layer.in_features, layer.out_features] for layer in linears(model)],
                "holder": type(held).__name__, "in_linears": len(in_linears)}

    cases = []
    for args in draw.structures:
        try:
            cases.append({"got": layers(args)})
        except Exception as error:
            cases.append({"error": student_error(error, submission.folder)})
    return {"cases": cases}


def judge_layers(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """embed_dim -> each hidden size -> num_classes, as nn.Linear layers the model registers
    (so that model.parameters(), and the optimizer, see them), as this project's has them."""
    verdict = Verdict()
    for args, got, wanted in zip(draw.structures, seen["cases"], expected["cases"], strict=True):
        call, sizes = f"SentimentClassifier{args}", wanted["got"]["sizes"]
        if "error" in got:
            verdict.case(call, f"raised {got['error']}")
        elif got["got"]["sizes"] == sizes:
            verdict.case(call, None)
            if got["got"]["holder"] != "ModuleList" or got["got"]["in_linears"] != len(sizes):
                verdict.notes.append(f"{call}: its layers are not in self.linears = "
                                     f"nn.ModuleList() as the handout has them; they work")
        elif not got["got"]["sizes"] and got["got"]["holder"] in ("list", "tuple"):
            verdict.case(call, f"keeps its layers in a Python {got['got']['holder']}: they are "
                               f"not registered, so model.parameters() misses them and the "
                               f"optimizer trains nothing; use nn.ModuleList")
        else:
            verdict.case(call, f"registers nn.Linear layers {got['got']['sizes']}; expected "
                               f"{sizes}")
    return verdict


def probe_forward(submission: Submission, draw: Draw, structures: list[tuple] | None = None,
                  activation: str | None = None) -> dict:
    """Each structure's model (seeded) on the draw's inputs: its layers' weights and biases
    (those it registers, or else those in a list self.linears), their dtypes, and its output;
    with an activation named, the inputs in the layers' own dtype (the activation is judged,
    not the dtype)."""
    cases = []
    for args in draw.structures if structures is None else structures:
        try:
            torch.manual_seed(draw.torch_seed("weights"))
            model = submission.mlp.SentimentClassifier(*args, *([activation] if activation
                                                                 else []))
            layers = linears(model) or [layer for layer in getattr(model, "linears", [])
                                        if isinstance(layer, _LINEAR)]
            weights = [[plain(layer.weight), plain(layer.bias)] for layer in layers]
            dtype = layers[0].weight.dtype if activation and layers else torch.float32
        except Exception as error:
            cases.append({"error": student_error(error, submission.folder)})
            continue
        cases.append({"weights": weights, **observe(
            lambda m=model, a=args, d=dtype: m(draw.inputs(a[0]).to(d)), submission.folder)})
    return {"cases": cases, "activation": activation}


def by_hand(weights: list, x: torch.Tensor, between: Callable) -> torch.Tensor | None:
    """The layers' matrix products x W^T + b in float64, between() after each hidden layer and
    nothing after the output layer (None: the layers do not chain)."""
    x = x.double()
    for index, (weight, bias) in enumerate(weights):
        w = tensor(weight).double()
        if w.dim() != 2 or w.shape[1] != x.shape[1]:
            return None
        x = x @ w.T + (tensor(bias).double() if bias["kind"] == "tensor" else 0)
        x = between(x) if index < len(weights) - 1 else x
    return x


def forward_problem(case: dict, x: torch.Tensor, activation: Callable, name: str,
                    outputs: tuple[Callable, ...] = (lambda z: z,)) -> str | None:
    """What is wrong with a model's output, read as CrossEntropyLoss and argmax read it (a
    constant added to a row changes neither), against its own layers' matrix products with
    the activation after each hidden layer only, then one of outputs (None: nothing)."""
    double = any(part["dtype"] == "float64" for layer in case.get("weights", [])
                 for part in layer if part["kind"] == "tensor")
    if "error" in case:
        hint = (" (its layers hold float64 weights: build them in float32, nn.Linear's "
                "default)") if double else ""
        return f"raised {case['error']}{hint}"
    expected = by_hand(case["weights"], x, activation)
    got = case["got"]
    if expected is None:
        return "has layers whose sizes do not chain (see the layers item)"
    if got["kind"] != "tensor":
        return f"returned {show(got)}; expected logits of shape {tuple(expected.shape)}"
    if got["shape"] != list(expected.shape):
        return f"gave logits of shape {tuple(got['shape'])}; expected {tuple(expected.shape)}"
    logits = tensor(got).double()
    if any(torch.allclose(logits.log_softmax(1), output(expected).log_softmax(1),
                          atol=TOLERANCE) for output in outputs):
        return None
    found = [words for words, values in {
        f"the products with no {name} after the hidden layers: apply it after each":
            by_hand(case["weights"], x, lambda z: z),
        f"the products with {name} after the output layer too: the logits get none":
            activation(expected),
        "their softmax: return the logits, the loss applies the softmax itself":
            expected.softmax(dim=1)}.items()
        if case["weights"] and torch.allclose(logits, values, atol=TOLERANCE)]
    return (f"gave {show(got)}; expected logits equal to the matrix products of its own layers "
            f"with {name} after each hidden layer only, {show(plain(expected))} (or those plus a "
            f"constant per row)" + (f". It matches {found[0]}" if found else ""))


def judge_forward(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """Logits (batch, num_classes) for float32 features: the layers' matrix products with
    Sigmoid after every hidden layer and never after the last."""
    verdict = Verdict()
    for (embed_dim, classes, hidden), case in zip(draw.structures, seen["cases"], strict=True):
        verdict.case(f"SentimentClassifier({embed_dim}, {classes}, {hidden})(x of shape "
                     f"(3, {embed_dim}))", forward_problem(case, draw.inputs(embed_dim),
                                                            torch.sigmoid, "Sigmoid"))
    return verdict


# The skeleton's activations, as its list spells them: what each computes (any of these).
ACTIVATIONS = {"Tanh": [torch.tanh], "ReLU": [torch.relu],
               "GeLU": [F.gelu, lambda z: F.gelu(z, approximate="tanh")]}


def probe_activation(name: str) -> Callable[[Submission, Draw], dict]:
    """The structures with that activation, by the skeleton's spelling or, where the model
    refuses it, the first of its other spellings that it takes ('GELU', 'gelu', ...)."""
    def probe(submission: Submission, draw: Draw) -> dict:
        first = None
        for spelling in dict.fromkeys([name, name.upper(), name.lower(), name.capitalize()]):
            seen = probe_forward(submission, draw, draw.activation_structures, spelling)
            first = first or seen
            if "weights" in seen["cases"][0]:  # the model was made: it takes this spelling
                return seen
        return first

    return probe


def judge_activation(name: str) -> Callable[[dict, dict, Draw], Verdict]:
    """The activation of that name: accepted, and computed after each hidden layer."""
    def judge(seen: dict, expected: dict, draw: Draw) -> Verdict:
        verdict = Verdict()
        for (embed_dim, classes, hidden), case in zip(draw.activation_structures,
                                                      seen["cases"], strict=True):
            # The activation is judged here, not the output layer (the forward item's).
            problems = [forward_problem(case, draw.inputs(embed_dim), function, name,
                                        (lambda z: z, lambda z: z.softmax(1), function))
                        for function in ACTIVATIONS[name]]
            verdict.case(f"SentimentClassifier({embed_dim}, {classes}, {hidden}, activation="
                         f"{seen['activation']!r})", None if None in problems else problems[0])
        if seen["activation"] != name and verdict.passed:
            verdict.notes.append(f"takes the activation as {seen['activation']!r}, not as the "
                                 f"skeleton's list spells it, {name!r}")
        return verdict

    judge.__doc__ = f"The activation {name!r}: accepted, and used after each hidden layer."
    return judge


# ----------------------------------------------------------------------------------------------
# Blank 6: accuracy

class FixedLogits(nn.Module):
    """A model whose logits are given: row i of logits for input i (evaluate's model)."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits)
        self.loss = nn.CrossEntropyLoss()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        return self.logits[inp.long().flatten()]


def probe_accuracy(submission: Submission, draw: Draw) -> dict:
    """accuracy of each case, and the submission's own evaluate reading it (on the first case's
    logits, as a model's, in batches of 2)."""
    cases = [observe(lambda lo=logits, la=labels: submission.mlp.accuracy(
        torch.tensor(lo), torch.tensor(la)), submission.folder) for logits, labels in
        draw.accuracy_cases]
    logits, labels = draw.accuracy_cases[0]
    model = FixedLogits(torch.tensor(logits))
    loader = DataLoader(TensorDataset(torch.arange(len(labels)), torch.tensor(labels)),
                        batch_size=2)
    evaluate = getattr(submission.mlp, "evaluate", None)
    return {"cases": cases, "evaluate": None if evaluate is None else observe(
        lambda: evaluate(model, loader), submission.folder, numbers)}


def numbers(values: object) -> dict:
    """Numbers (a tuple of floats, say) as plain data."""
    return {"kind": "numbers", "values": [float(value) for value in values]}


def judge_accuracy(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """A 0/1 for each example, 1 where the largest logit is the label's, in a type the
    submission's own evaluate averages."""
    verdict = Verdict()
    averaged = evaluate_problem(seen["evaluate"], expected["cases"][0]["got"])
    for (logits, labels), got, wanted in zip(draw.accuracy_cases, seen["cases"],
                                             expected["cases"], strict=True):
        call = f"accuracy(logits {logits}, labels {labels})"
        problem = accuracy_problem(got, wanted["got"])
        kind = got.get("got", {}).get("dtype", "")
        if problem is None and not kind.startswith("float"):
            problem = averaged and f"gave {kind} values, {averaged}"
            if problem is None:
                verdict.notes.append(f"accuracy gives {kind} 0/1s, which your evaluate "
                                     f"averages; the handout's are floats")
        verdict.case(call, problem)
    return verdict


def accuracy_problem(got: dict, expected: dict) -> str | None:
    """What is wrong with one accuracy's values (None: nothing)."""
    wanted = f"expected one 0/1 per example: {show(expected)}"
    if "error" in got:
        return f"raised {got['error']}"
    got = got["got"]
    if got["kind"] != "tensor":
        return f"gave {show(got)}; {wanted}"
    if got["shape"] != expected["shape"]:
        return f"gave {show(got)}; {wanted}" + (
            " (that is their mean: return the 0/1 of each)" if not got["shape"] else "")
    if not torch.equal(tensor(got).double(), tensor(expected).double()):
        return f"gave {show(got)}; {wanted}"
    return None


def evaluate_problem(evaluated: dict | None, expected: dict) -> str | None:
    """What is wrong with the submission's own evaluate reading its accuracy (the first case's
    logits as a model's): None if it gives their mean accuracy."""
    if evaluated is None or "error" in evaluated:
        return (f"which your own evaluate cannot average ("
                f"{evaluated['error'] if evaluated else 'there is no evaluate'}); make them "
                f"floats (.float())")
    mean = float(tensor(expected).double().mean())
    values = evaluated["got"]["values"]
    given = values[1] if len(values) > 1 else math.nan
    return None if math.isclose(given, mean, abs_tol=1e-6) else (
        f"and your own evaluate's accuracy on them is {given:g}, not {mean:g}; make them floats "
        f"(.float())")


# ----------------------------------------------------------------------------------------------
# Blanks 7 and 8: the sweeps, each run of the student's own run_mlp cut to one epoch


def reviews(count: int, rng: np.random.Generator) -> dict:
    """count short reviews over WORD_NAMES, half positive: {"text": [...], "label": [...]}."""
    texts = [" ".join([str(rng.choice(["good", "great"] if label else ["bad", "awful"])),
                       str(rng.choice(["movie", "plot"])), "was", "the"])
             for label in (0, 1) for _ in range(count // 2)]
    return {"text": texts, "label": [0] * (count // 2) + [1] * (count // 2)}


def settings_of(config: object) -> dict:
    """A configuration's settings (an EasyDict, a dict or an object's attributes), as plain
    data."""
    items = dict(config) if isinstance(config, Mapping) else dict(vars(config))
    return json.loads(json.dumps(items, default=str))


def curves(index: int, epochs: int) -> tuple:
    """The per-epoch curves the sweep's run_mlp returns for its index-th run: distinct for each
    run, so that a plot shows which it draws; then test loss and accuracy."""
    rising = [round(0.5 + 0.01 * index + 0.3 * (epoch + 1) / epochs, 6) for epoch in range(epochs)]
    falling = [round(0.7 - 0.01 * index - 0.2 * (epoch + 1) / epochs, 6)
               for epoch in range(epochs)]
    return ([value + 0.05 for value in falling], [value - 0.05 for value in rising], falling,
            rising, falling[-1], rising[-1])


@contextlib.contextmanager
def recorded_figures(figures: list) -> Iterator[None]:
    """Within the with-block, each figure saved (plt.savefig too) written down instead: its file
    name, and each line of each of its axes (x and y). What it shows is judged, not its file
    (drawing a PNG takes longer than all the rest of a sweep on the checks' tiny data)."""
    def savefig(figure: matplotlib.figure.Figure, fname: object, *args: object,
                **kwargs: object) -> None:
        figures.append({"file": Path(str(fname)).name, "lines": [
            [np.asarray(line.get_xdata(), dtype=float).tolist(),
             np.asarray(line.get_ydata(), dtype=float).tolist()]
            for ax in figure.axes for line in ax.get_lines()]})
        if isinstance(fname, str | os.PathLike):  # the file is there, empty, for code that
            Path(fname).write_bytes(b"")  # moves or reads it

    with replaced(matplotlib.figure.Figure, savefig=savefig):
        yield


class SharedRecord:
    """JSON lines written by this process or any it forks (a sweep's pool of workers), kept in
    memory shared with them and with no file: nothing a submission writes can bend it."""

    def __init__(self, size: int = 2**20) -> None:
        self.memory = mmap.mmap(-1, size)  # shared and anonymous: forked processes write here
        self.memory[:8] = (0).to_bytes(8, "little")

    def append(self, entry: dict) -> None:
        """Write one entry after the others (one that does not fit is dropped)."""
        used = int.from_bytes(self.memory[:8], "little")
        line = (json.dumps(entry) + "\n").encode()
        if 8 + used + len(line) <= len(self.memory):
            self.memory[8 + used:8 + used + len(line)] = line
            self.memory[:8] = (used + len(line)).to_bytes(8, "little")

    def entries(self) -> list[dict]:
        """The entries written so far, in order."""
        used = int.from_bytes(self.memory[:8], "little")
        return [json.loads(line) for line in self.memory[8:8 + used].decode().splitlines()]


def probe_sweep(sweep: str) -> Callable[[Submission, Draw], dict]:
    """main.<sweep>(dev, train, test, vectors) as the skeleton's __main__ calls it, with the
    checks' create_tensor_dataset: each run_mlp it asks for (its settings, and how the
    submission's own run_mlp did on one epoch of it), the figures it saved, and how it ended."""
    def probe(submission: Submission, draw: Draw) -> dict:
        record = SharedRecord()
        real = submission.mlp.run_mlp

        def run_mlp(config: object, embeddings: object, *datasets: object, **beside: object):
            settings, short = settings_of(config), copy.copy(config)
            if isinstance(short, Mapping):
                short["num_epochs"] = 1
            else:
                short.num_epochs = 1
            done = observe(lambda: real(short, embeddings, *datasets, **beside)[:6],
                           submission.folder, lambda values: {"kind": "ran"})
            index = len(record.entries())  # a run that fails is its case: the sweep goes on
            record.append({"index": index, "settings": settings, "ran": done})
            return curves(index, int(settings.get("num_epochs") or 1))

        figures, rng = [], draw.rng(f"{sweep} reviews")
        splits = reviews(8, rng), reviews(16, rng), reviews(8, rng)
        with replaced(submission.main, run_mlp=run_mlp,
                      create_tensor_dataset=draw.tensor_dataset), \
                replaced(submission.mlp, run_mlp=run_mlp), recorded_figures(figures):
            ended = observe(lambda: getattr(submission.main, sweep)(*splits, draw.vectors()),
                            submission.folder, lambda value: {"kind": "returned"})
        return {"runs": record.entries(), "figures": figures, "ended": ended}

    return probe


def same(got: object, value: object) -> bool:
    """Whether a setting is the value (a name in any case, a number or a list of numbers)."""
    if isinstance(value, str):
        return str(got).lower() == value.lower()
    try:
        return np.shape(got) == np.shape(value) and np.allclose(got, value, rtol=1e-9, atol=0)
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class SweepRules:
    """What the handout asks of a sweep: the setting it varies, at least as many values as
    examples, required among them; the others fixed as this project's sweep has them."""

    varied: str
    examples: list
    required: list
    fixed: tuple[str, ...] = ("hidden_dims", "activation", "lr", "batch_size", "num_epochs")


def judge_sweep(sweep: str, rules: SweepRules) -> Callable[[dict, dict, Draw], Verdict]:
    """The sweep: its values, its fixed settings, the student's own run of each, its plots."""
    def judge(seen: dict, expected: dict, draw: Draw) -> Verdict:
        verdict, call = Verdict(), f"{sweep}(dev, train, test, vectors)"
        settings = [run["settings"] for run in seen["runs"]]
        if not settings:  # it ended (or returned) before its first run: nothing else to judge
            problem = f"raised {seen['ended']['error']}" if "error" in seen["ended"] else \
                "never called run_mlp"
            for _ in range(5):
                verdict.case(call, problem)
            return verdict
        verdict.case(call, values_problem(settings, rules))
        verdict.case(call, fixed_problem(settings, expected, rules))
        failed = [run["ran"]["error"] for run in seen["runs"] if "error" in run["ran"]]
        ended = seen["ended"].get("error")
        verdict.case(call, f"cannot train: your own run_mlp raised {failed[0]}" if failed
                     else f"raised {ended}" if ended else None)
        for metric, position in (("dev accuracy", 3), ("dev loss", 2)):
            verdict.case(call, plot_problem(seen, metric, position))
        return verdict

    judge.__doc__ = (f"main.{sweep}: at least {len(rules.examples)} values of {rules.varied}, "
                     f"the handout's other settings, the student's own run of each, its plots "
                     f"of dev accuracy and dev loss per epoch.")
    return judge


def values_problem(settings: list[dict], rules: SweepRules) -> str | None:
    """What is wrong with the values the sweep tried (None: nothing)."""
    if not settings:
        return "never called run_mlp"
    distinct = []
    for value in (config.get(rules.varied) for config in settings):
        if not any(same(value, other) for other in distinct):
            distinct.append(value)
    missing = [value for value in rules.required if not any(same(v, value) for v in distinct)]
    if len(distinct) >= len(rules.examples) and not missing:
        return None
    return (f"trained {len(distinct)} values of {rules.varied}, {distinct}; expected at least "
            f"{len(rules.examples)}, such as {rules.examples}"
            + (f", {missing[0]!r} among them" if missing else ""))


def fixed_problem(settings: list[dict], expected: dict, rules: SweepRules) -> str | None:
    """The first setting of a run that is not this project's sweep's (None: all are)."""
    ours = [run["settings"] for run in expected["runs"]]
    for key in (key for key in rules.fixed if key != rules.varied):
        values = [config.get(key) for config in ours]
        if not all(same(value, values[0]) for value in values):
            continue  # this project varies it too: not the handout's to fix
        for config in settings:
            if not same(config.get(key), values[0]):
                return (f"trained {key}={config.get(key)!r} in a run; the handout fixes "
                        f"{key}={values[0]!r}")
    return None


def plot_problem(seen: dict, metric: str, position: int) -> str | None:
    """Whether a figure shows the metric (the curve at position of what run_mlp returned) of
    every configuration, one line each over the epochs."""
    runs = [curves(run["index"], int(run["settings"].get("num_epochs") or 1))[position]
            for run in seen["runs"]]
    for figure in seen["figures"]:
        drawn = [ys for xs, ys in figure["lines"] if len(ys) > 1 and xs in (
            list(map(float, range(len(ys)))), list(map(float, range(1, len(ys) + 1))))]
        shown = [run for run in runs if any(np.allclose(run, ys) for ys in drawn
                                            if len(ys) == len(run))]
        if runs and len(shown) == len(runs):
            return None
    names = [figure["file"] for figure in seen["figures"]]
    return (f"saved no figure of the {metric} of each run per epoch (one line a configuration, "
            f"epochs on the x axis, as visualize_configs draws them); it saved {names or 'none'}")


# ----------------------------------------------------------------------------------------------
# What the blanks must not break: the whole training path, against this project's


def learnable(count: int, seed: int) -> TensorDataset:
    """count float32 examples of 6 features that a line separates with a margin, and labels."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 6, generator=generator)
    direction = torch.tensor([1.0, -1.0, 0.5, 0.0, 0.0, 0.0])
    labels = (x @ direction > 0).long()
    x += (2 * labels[:, None] - 1) * direction / direction.norm()  # pushed off the line
    return TensorDataset(x, labels)


# One batch an epoch (the order of examples cannot matter) and every nn.Linear starting from
# weights that depend on its size (and the draw) alone: a correct training loop gives this
# project's numbers, and each classic slip (no zero_grad, no step, another learning rate, dev
# read from the train set) gives others from its second or third epoch on.
TRAINING = {"batch_size": 256, "lr": 0.05, "num_epochs": 8, "hidden_dims": [16],
            "activation": "Sigmoid", "num_classes": 2, "embeddings": "tiny"}
CURVES = ("train losses", "train accuracies", "dev losses", "dev accuracies")


@contextlib.contextmanager
def fixed_init(draw: Draw) -> Iterator[None]:
    """Within the with-block, each nn.Linear made starts from weights that depend on its size
    (and the draw) alone, however and in whatever order a model makes its layers."""
    base = draw.torch_seed("initial weights")

    def reset_parameters(layer: nn.Linear) -> None:
        generator = torch.Generator().manual_seed(
            base + 1000 * layer.in_features + layer.out_features)
        bound = 1 / math.sqrt(layer.in_features)
        with torch.no_grad():
            for parameter in (layer.weight, layer.bias):
                if parameter is not None:
                    drawn = torch.rand(parameter.shape, generator=generator, dtype=torch.float64)
                    parameter.copy_(drawn * 2 * bound - bound)

    with replaced(nn.Linear, reset_parameters=reset_parameters):
        yield


def run_values(result: object) -> dict:
    """What run_mlp returned, as plain data: each of its values a number or a list of them."""
    values = list(result)
    return {"kind": "values", "values": [
        [float(x) for x in value] if isinstance(value, list | tuple | np.ndarray) else
        float(value) for value in values]}


def training_run(mlp: ModuleType, folder: Path, draw: Draw, **config: object) -> dict:
    """mlp.run_mlp on the draw's learnable sets with TRAINING's configuration (changed by
    config), as an EasyDict, from fixed_init's weights."""
    from easydict import EasyDict  # as the skeleton's configurations are (see word_vectors)

    settings = EasyDict({**TRAINING, "save_path": str(folder / "model_training.pth"), **config})
    vectors = word_vectors({"x": [0.0] * 6})  # what run_mlp may read: vector_size, 6
    dev, train, test = (learnable(count, draw.torch_seed(f"learnable {part}"))
                        for part, count in (("dev", 128), ("train", 256), ("test", 128)))
    with fixed_init(draw):
        torch.manual_seed(draw.torch_seed("training"))
        return observe(lambda: mlp.run_mlp(settings, vectors, dev, train, test), folder,
                       run_values)


def probe_training(submission: Submission, draw: Draw) -> dict:
    """The submission's own run_mlp -> train -> evaluate on the learnable sets."""
    return training_run(submission.mlp, submission.folder, draw)


def judge_training(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """Six values back (four lists of one value per epoch, then test loss and accuracy), each
    what this project's run_mlp gives from the same weights on the same data."""
    verdict = Verdict()
    call = (f"run_mlp(a Sigmoid [16] configuration, lr {TRAINING['lr']}, "
            f"{TRAINING['num_epochs']} epochs, one batch an epoch, on examples a line separates)")
    values = seen.get("got", {}).get("values")
    epochs = TRAINING["num_epochs"]
    if "error" in seen or len(values) != 6 or not all(
            isinstance(value, list) and len(value) == epochs for value in values[:4]):
        problem = f"raised {seen['error']}" if "error" in seen else (
            f"returned {len(values)} values; expected six: four lists of one value per epoch "
            f"({epochs}), then test loss and test accuracy")
        for _ in range(3):
            verdict.case(call, problem)
        return verdict
    ours = expected["got"]["values"]
    for part in ((0, 1), (2, 3)):
        verdict.case(call, curve_problem(values, ours, part, expected))
    test_same = np.allclose(values[4:], ours[4:], atol=1e-3)
    verdict.case(call, None if test_same else (
        f"gave test loss and accuracy {np.round(values[4:], 4).tolist()}; expected "
        f"{np.round(ours[4:], 4).tolist()}, with the weights of the best dev epoch"))
    return verdict


def curve_problem(values: list, ours: list, part: tuple[int, int], expected: dict) -> str | None:
    """Where two of run_mlp's per-epoch curves differ from this project's, and the slip they
    match (None: they do not differ)."""
    for index in part:
        if not np.allclose(values[index], ours[index], atol=1e-3):
            epoch = next(e for e, (a, b) in enumerate(zip(values[index], ours[index],
                                                          strict=True)) if abs(a - b) > 1e-3)
            return (f"gave {CURVES[index]} {np.round(values[index], 4).tolist()}; expected "
                    f"{np.round(ours[index], 4).tolist()} (this project's run_mlp from the same "
                    f"weights), apart from epoch {epoch + 1}" + slip(values, index, expected))
    return None


def slip(values: list, index: int, expected: dict) -> str:
    """The classic training-loop slip that gives these curves, as a hint ('' if none does)."""
    if len(set(np.round(values[0], 6))) == 1:
        return ": the loss never changes; does train call optimizer.step() for each batch?"
    if index >= 2 and np.allclose(values[2][:-1], values[0][1:], atol=1e-3):
        return ": these are the training set's numbers; evaluate the dev set after each epoch"
    for name, hint in (("no zero_grad", ": each step adds up every earlier gradient; call "
                                        "optimizer.zero_grad() before each backward"),
                       ("default lr", ": it trains at another learning rate; give the "
                                      "optimizer config.lr")):
        if np.allclose(values[index], expected["slips"][name][index], atol=1e-3):
            return hint
    return ""


# ----------------------------------------------------------------------------------------------
# The items, in the rubric's order, and what this project's completion gives for each


@dataclass(frozen=True)
class Item:
    """One item of the rubric: which of the submission's files it needs, what its probe writes
    down of a completion, and how its judge compares that with this project's."""

    needs: tuple[str, ...]
    probe: Callable[[Submission, Draw], dict]
    judge: Callable[[dict, dict, Draw], Verdict]


ITEMS: dict[str, Item] = {
    "featurize": Item(("mlp",), probe_featurize, judge_featurize),
    "create_tensor_dataset": Item(("mlp",), probe_tensor_dataset, judge_tensor_dataset),
    "layers": Item(("mlp",), probe_layers, judge_layers),
    "forward": Item(("mlp",), probe_forward, judge_forward),
    **{f"activation {name}": Item(("mlp",), probe_activation(name), judge_activation(name))
       for name in ACTIVATIONS},
    "accuracy": Item(("mlp",), probe_accuracy, judge_accuracy),
    "explore_mlp_activations": Item(("mlp", "main"), probe_sweep("explore_mlp_activations"),
                                    judge_sweep("explore_mlp_activations", SweepRules(
                                        "activation", ["Sigmoid", "Tanh", "ReLU", "GeLU"], []))),
    "explore_mlp_learning_rates": Item(("mlp", "main"), probe_sweep("explore_mlp_learning_rates"),
                                       judge_sweep("explore_mlp_learning_rates", SweepRules(
                                           "lr", [0.1, 0.02, 0.005, 0.001], [0.02]))),
    "training": Item(("mlp",), probe_training, judge_training),
}


def reference(project: Submission, draw: Draw) -> dict[str, dict]:
    """What this project's own completion gives for each item's probe on the draw's inputs, run
    here (in the grader, never where a submission runs), in project.folder; for training, also
    the runs of its slips."""
    expected = {}
    with contextlib.chdir(project.folder):
        for name, item in ITEMS.items():
            expected[name] = item.probe(project, draw)
    with replaced(torch.optim.Optimizer, zero_grad=lambda self, set_to_none=True: None):
        no_zero_grad = training_run(project.mlp, project.folder, draw)
    default_lr = training_run(project.mlp, project.folder, draw, lr=1e-3)
    expected["training"]["slips"] = {"no zero_grad": no_zero_grad["got"]["values"],
                                     "default lr": default_lr["got"]["values"]}
    return expected
