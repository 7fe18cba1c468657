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
import itertools
import json
import math
import mmap
import os
import re
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


@dataclass(frozen=True)
class Problem:
    """What is wrong with a case, as data: its kind (one of a few, stable whatever the wording),
    what a student reads, the classic slip it matches (hint, '' if none), and the items whose
    blanks it comes from when it is not this item's own (depends_on)."""

    kind: str
    said: str
    hint: str = ""
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Failure:
    """A case that failed: the call, and its Problem's fields."""

    call: str
    kind: str
    said: str
    hint: str = ""
    depends_on: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """The failure as the student reads it."""
        return f"{self.call} {self.said}"


def raised(error: str, hint: str = "") -> Problem:
    """A case whose call raised error (student_error's text): its kind names the exception."""
    return Problem(f"raised {error.split(':', 1)[0]}", f"raised {error}", hint)


@dataclass
class Verdict:
    """What a judge found: the weight of its cases and of those that passed, the failures,
    notes on what differs from the handout but changes nothing, and why a person should look
    (look: '' if nothing)."""

    cases: float = 0
    passed: float = 0
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    look: list[str] = field(default_factory=list)

    def case(self, call: str, problem: Problem | None, weight: float = 1) -> None:
        """One case of that weight: what is wrong with it (None: nothing)."""
        self.cases += weight
        if problem is None:
            self.passed += weight
        else:
            self.failures.append(Failure(call, problem.kind, problem.said, problem.hint,
                                         problem.depends_on))


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
    """The mean of the known words' vectors as a tensor (embed_dim,), None when no word is
    known, as this project's featurize gives it; in float32, the handout's FloatTensor (a
    float64 completion, consistent with its own layers, loses that point alone)."""
    verdict, dtypes = Verdict(), set()
    for sentence, got, wanted in zip(SENTENCES, seen["cases"], expected["cases"], strict=True):
        verdict.case(f"featurize({sentence!r}, vectors)", feature_problem(got, wanted["got"]),
                     weight=9 / len(SENTENCES))
        dtypes |= {got["got"]["dtype"]} if got.get("got", {}).get("kind") == "tensor" else set()
    wrong = sorted(dtypes - {"float32"})
    verdict.case("featurize(...)", None if dtypes == {"float32"} else Problem(
        "not float32", f"gave {', '.join(wrong) or 'no tensor of'} values; the handout's "
        f"featurize returns a FloatTensor (float32), what nn.Linear's layers take"))
    if wrong == ["float64"] and verdict.passed >= 9 - 1e-9:
        verdict.notes.append("featurize gives float64 features: right values, and consistent "
                             "if your layers are float64 too; float32 is the handout's")
    return verdict


def feature_problem(got: dict, expected: dict) -> Problem | None:
    """What is wrong with a feature's value (None: nothing; its dtype is judged apart)."""
    if "error" in got:
        return raised(got["error"])
    got = got["got"]
    if expected["kind"] == "None":
        return None if got["kind"] == "None" else Problem(
            "not None", f"gave {show(got)}; expected None: none of the sentence's words has a "
                        f"vector")
    wanted = f"expected {show(expected)}, the mean of its known words' vectors"
    if got["kind"] != "tensor":
        return Problem("not a tensor", f"gave {show(got)}; {wanted}, as a torch tensor "
                                       f"(torch.stack needs one)")
    if got["shape"] != expected["shape"]:
        return Problem("wrong shape", f"gave shape {tuple(got['shape'])}; {wanted}")
    values, target = tensor(got).double(), tensor(expected).double()
    if torch.allclose(values, target, atol=TOLERANCE):
        return None
    summed = any(torch.allclose(values, target * count, atol=TOLERANCE) for count in (2, 3, 4))
    return Problem("wrong values", f"gave {show(got)}; {wanted}" + (
        " (that is their sum: divide by how many they are)" if summed else ""),
        "their sum" if summed else "")


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
        problem = raised(seen["error"]) if "error" in seen else Problem(
            "not a dataset", f"gave a {seen['got']['kind']}; expected a TensorDataset of "
                             f"features and labels")
        for _ in range(3):
            verdict.case(call, problem)
        return verdict
    (features, labels), (want_features, want_labels) = seen["got"]["parts"], \
        expected["got"]["parts"]
    verdict.case(call, None if features["shape"][:1] == want_features["shape"][:1] else Problem(
        "wrong example count", f"gave {features['shape'][0]} examples; expected "
                               f"{want_features['shape'][0]} (the review 'zzz' has no known "
                               f"word: skip it)"))
    same = features["shape"] == want_features["shape"] and torch.allclose(
        tensor(features).double(), tensor(want_features).double(), atol=TOLERANCE)
    verdict.case(call, None if same else Problem(
        "wrong features", f"gave features {show(features)}; expected {show(want_features)}"))
    verdict.case(call, label_problem(labels, want_labels))
    return verdict


def label_problem(labels: dict, expected: dict) -> Problem | None:
    """What is wrong with a dataset's labels: their values, or a type CrossEntropyLoss refuses."""
    if labels["shape"] != expected["shape"] or not torch.equal(tensor(labels).double(),
                                                               tensor(expected).double()):
        return Problem("wrong labels", f"gave labels {show(labels)}; expected {show(expected)}")
    try:
        F.cross_entropy(torch.zeros(len(labels["values"]), 2), tensor(labels))
    except (RuntimeError, ValueError, TypeError) as error:
        return Problem("labels the loss refuses",
                       f"gave labels of type {labels['dtype']}, which CrossEntropyLoss refuses "
                       f"({' '.join(str(error).split())[:120]}): your own run stops at its "
                       f"first batch; make them torch.long", "not torch.long")
    return None


# ----------------------------------------------------------------------------------------------
# Blanks 3 to 5: the layers, the forward pass, the activations


# What the checks stand in for a blank they do not judge: the handout's activations by name.
STANDARD_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}


class StandardClassifier(nn.Module):
    """The handout's SentimentClassifier, as the checks stand it in for the model's blanks
    where another blank is judged (its attributes those the skeleton's given code names)."""

    def __init__(self, embed_dim: int, num_classes: int, hidden_dims: list[int],
                 activation: str = "Sigmoid") -> None:
        super().__init__()
        self.embed_dim, self.num_classes, self.hidden_dims = embed_dim, num_classes, hidden_dims
        self.activation = STANDARD_ACTIVATIONS[str(activation).lower()]()
        sizes = [embed_dim, *hidden_dims, num_classes]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.loss = nn.CrossEntropyLoss()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        for layer in self.linears[:-1]:
            inp = self.activation(layer(inp))
        return self.linears[-1](inp)  # (batch, num_classes)


def standard_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The handout's accuracy, as the checks stand it in: a float 0/1 per example."""
    return (logits.argmax(dim=1) == labels).float()


def stand_in(cls: type, args: tuple, activation: str = "Sigmoid") -> nn.Module:
    """An instance of the student's model class holding a StandardClassifier's state (its
    layers in self.linears, self.activation, self.loss), its __init__ never run: the
    student's forward judged apart from their layers."""
    model = cls.__new__(cls)
    nn.Module.__init__(model)
    for name, value in vars(StandardClassifier(*args, activation)).items():
        if name != "training":
            object.__setattr__(model, name, value)  # _modules and the plain attributes
    return model


def layers_of(model: nn.Module) -> tuple[list[tuple], str]:
    """A model's layers as (weight, bias or None), and where they were found: the nn.Linear
    modules it registers ('nn.Linear'); else its registered parameters read as layers, each a
    2-d weight with the 1-d bias of its rows after it ('parameters'); else nn.Linear in a
    Python list self.linears, which the optimizer never sees ('list'); else none ('none')."""
    found = [module for module in nn.Module.modules(model) if isinstance(module, _LINEAR)]
    if found:
        return [(layer.weight, layer.bias) for layer in found], "nn.Linear"
    parameters, layers = list(nn.Module.parameters(model)), []
    for index, weight in enumerate(parameters):
        after = parameters[index + 1] if index + 1 < len(parameters) else None
        if weight.dim() == 2:
            fits = after is not None and after.dim() == 1 and after.shape[0] == weight.shape[0]
            layers.append((weight, after if fits else None))
    if layers:
        return layers, "parameters"
    held = getattr(model, "linears", None)
    listed = [layer for layer in held if isinstance(layer, _LINEAR)] \
        if isinstance(held, list | tuple) else []
    return [(layer.weight, layer.bias) for layer in listed], "list" if listed else "none"


def probe_layers(submission: Submission, draw: Draw) -> dict:
    """Each structure's layers (in, out, bias size or None, dtype), where they were found, what
    holds self.linears and how many nn.Linear it holds; and the dtype of the student's own
    features (their featurize), which the layers take in their own run."""
    def layers(args: tuple) -> dict:
        model = submission.mlp.SentimentClassifier(*args)
        found, where = layers_of(model)
        held = getattr(model, "linears", None)
        return {"sizes": [[weight.shape[1], weight.shape[0]] for weight, _ in found],
                "biases": [None if bias is None else bias.shape[0] for _, bias in found],
                "dtypes": sorted({str(weight.dtype).removeprefix("torch.")
                                  for weight, _ in found}),
                "where": where, "holder": type(held).__name__,
                "in_linears": sum(isinstance(layer, _LINEAR) for layer in held)
                if isinstance(held, nn.ModuleList) else 0}

    cases = []
    for args in draw.structures:
        try:
            cases.append({"got": layers(args)})
        except Exception as error:
            cases.append({"error": student_error(error, submission.folder)})
    feature = observe(lambda: submission.mlp.featurize(SENTENCES[0], draw.vectors()),
                      submission.folder)
    return {"cases": cases, "features": feature.get("got", {}).get("dtype")}


def judge_layers(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """embed_dim -> each hidden size -> num_classes, each layer with its bias, registered (so
    that model.parameters(), and the optimizer, see them), as this project's has them."""
    verdict, dtypes = Verdict(), set()
    for args, got, wanted in zip(draw.structures, seen["cases"], expected["cases"], strict=True):
        call, sizes = f"SentimentClassifier{args}", wanted["got"]["sizes"]
        verdict.case(call, layers_problem(got, sizes), weight=9 / len(draw.structures))
        if "got" in got and got["got"]["sizes"] == sizes:
            verdict.notes += layer_notes(call, got["got"], len(sizes))
            dtypes |= set(got["got"]["dtypes"])
    verdict.case("the layers' dtype", dtype_problem(dtypes, seen["features"] or "float32"))
    return verdict


def dtype_problem(dtypes: set[str], features: str) -> Problem | None:
    """Whether the layers take the student's own features (where featurize gives none: the
    handout's float32)."""
    if not dtypes:
        return Problem("no layers", "made no layers of the right sizes to read their dtype")
    if dtypes <= {features} or dtypes == {"float32"}:
        return None
    return Problem("layers of another dtype", f"has {', '.join(sorted(dtypes))} layers, and "
                   f"your featurize gives {features} features: your own run fails at its first "
                   f"batch; nn.Linear's default is float32")


def layers_problem(got: dict, sizes: list) -> Problem | None:
    """What is wrong with a model's layers (None: nothing)."""
    if "error" in got:
        return raised(got["error"])
    got = got["got"]
    if got["where"] == "list":
        return Problem("layers not registered", f"keeps its layers in a Python {got['holder']}: "
                       f"they are not registered, so model.parameters() misses them and the "
                       f"optimizer trains nothing; use nn.ModuleList", "use nn.ModuleList")
    if got["sizes"] != sizes:
        return Problem("wrong layer sizes", f"registers layers (in, out) {got['sizes']}; "
                                            f"expected {sizes}")
    if None in got["biases"]:
        return Problem("no bias", "has a layer with no bias; nn.Linear's layers have one")
    return None


def layer_notes(call: str, got: dict, count: int) -> list[str]:
    """What a model's right layers do otherwise than the handout, and changes nothing."""
    notes = []
    if got["where"] == "parameters":
        notes.append(f"{call}: its layers are registered parameters, not nn.Linear; they act "
                     f"as the handout's layers")
    elif got["holder"] != "ModuleList" or got["in_linears"] != count:
        notes.append(f"{call}: its layers are not in self.linears = nn.ModuleList() as the "
                     f"handout has them; they work")
    if got["dtypes"] == ["float64"]:
        notes.append(f"{call}: its layers are float64 (nn.Linear's default is float32); they "
                     f"work with float64 features")
    return notes


def probe_model(submission: Submission, draw: Draw, args: tuple, activation: str | None,
                standing_in: bool = False) -> dict:
    """The model of args (seeded; with this activation named unless None) on the draw's inputs
    in its layers' own dtype: its layers' weights and biases, and its output. standing_in: the
    student's class with StandardClassifier's state (stand_in), so that only forward is
    theirs."""
    try:
        torch.manual_seed(draw.torch_seed("weights"))
        extra = [activation] if activation else []
        model = stand_in(submission.mlp.SentimentClassifier, args, *extra) if standing_in \
            else submission.mlp.SentimentClassifier(*args, *extra)
        layers, _ = layers_of(model)
        weights = [[plain(weight), plain(bias)] for weight, bias in layers]
        dtype = layers[0][0].dtype if layers else torch.float32
    except Exception as error:
        return {"error": student_error(error, submission.folder)}
    return {"weights": weights, **observe(lambda: model(draw.inputs(args[0]).to(dtype)),
                                          submission.folder)}


def probe_forward(submission: Submission, draw: Draw) -> dict:
    """Each structure's model on the draw's inputs, the student's own and (so that forward is
    judged apart from the layers) the student's forward with the handout's layers; and with
    those, with Tanh as self.activation (forward applies whatever self.activation is)."""
    return {"own": [probe_model(submission, draw, args, None) for args in draw.structures],
            "standing_in": [probe_model(submission, draw, args, None, True)
                            for args in draw.structures],
            "tanh": [probe_model(submission, draw, args, "Tanh", True)
                     for args in draw.activation_structures]}


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
                    outputs: tuple[Callable, ...] = (lambda z: z,)) -> Problem | None:
    """What is wrong with a model's output, read as CrossEntropyLoss and argmax read it (a
    constant added to a row changes neither), against its own layers' matrix products with
    the activation after each hidden layer only, then one of outputs (None: nothing)."""
    if "error" in case:
        return raised(case["error"])
    expected, got = by_hand(case["weights"], x, activation), case["got"]
    if expected is None:
        return Problem("layers do not chain", "has layers whose sizes do not chain (see the "
                                              "layers item)", depends_on=("layers",))
    if got["kind"] != "tensor" or got["shape"] != list(expected.shape):
        return Problem("wrong logits shape", f"gave {show(got)}; expected logits of shape "
                                             f"{tuple(expected.shape)}")
    logits = tensor(got).double()
    if any(torch.allclose(logits.log_softmax(1), output(expected).log_softmax(1),
                          atol=TOLERANCE) for output in outputs):
        return None
    slips = {"no activation after the hidden layers": by_hand(case["weights"], x, lambda z: z),
             "activation after the output layer": activation(expected),
             "softmax of the logits": expected.softmax(dim=1),
             "Sigmoid whatever the activation": by_hand(case["weights"], x, torch.sigmoid)}
    found = [slip for slip, values in slips.items() if case["weights"]
             and torch.allclose(logits, values, atol=TOLERANCE)]
    return Problem("wrong logits", f"gave {show(got)}; expected logits equal to the matrix "
                   f"products of its own layers with {name} after each hidden layer only, "
                   f"{show(plain(expected))} (or those plus a constant per row)"
                   + (f". It matches {SLIP_ADVICE[found[0]].format(name=name)}" if found else ""),
                   found[0] if found else "")


SLIP_ADVICE = {
    "no activation after the hidden layers": "the products with no {name} after the hidden "
                                             "layers: apply it after each",
    "activation after the output layer": "the products with {name} after the output layer too: "
                                         "the logits get none",
    "softmax of the logits": "their softmax: return the logits, the loss applies the softmax "
                             "itself",
    "Sigmoid whatever the activation": "the products with Sigmoid, whatever self.activation "
                                       "is: apply self.activation"}


def judge_forward(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """Logits (batch, num_classes): the layers' matrix products with self.activation after
    every hidden layer and never after the last, judged on the student's forward alone: with
    the handout's layers where the student's own are wrong (see layers)."""
    verdict = Verdict()
    for args, own, standing in zip(draw.structures, seen["own"], seen["standing_in"],
                                   strict=True):
        x, call = draw.inputs(args[0]), f"SentimentClassifier{args}(x of shape (3, {args[0]}))"
        problem = forward_problem(own, x, torch.sigmoid, "Sigmoid")
        if problem is not None and forward_problem(standing, x, torch.sigmoid, "Sigmoid") is None:
            verdict.notes.append(f"{call}: your forward is right with the handout's layers; "
                                 f"with your own model it {problem.said} (see layers)")
            problem = None
        elif problem is not None and problem.depends_on and "error" in standing:
            verdict.look.append("your forward could not be judged apart from your layers (it "
                                "reads other attributes than self.linears and self.activation)")
        verdict.case(call, problem)
    for args, case in zip(draw.activation_structures, seen["tanh"], strict=True):
        if "error" not in case:  # a forward that reads its own attributes: not judged so
            verdict.case(f"SentimentClassifier{args} with self.activation = nn.Tanh()",
                         forward_problem(case, draw.inputs(args[0]), torch.tanh, "Tanh"))
    return verdict


# The skeleton's activations, as its list spells them: what each computes (any of these).
ACTIVATION_FUNCTIONS = {"Tanh": [torch.tanh], "ReLU": [torch.relu],
               "GeLU": [F.gelu, lambda z: F.gelu(z, approximate="tanh")]}
# Where an activation is checked on its own: negative, near zero, positive, large.
DOMAIN = [-50.0, -6.0, -3.0, -1.5, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.5, 3.0, 6.0, 50.0]


def activation_of(cls: type, args: tuple, name: str) -> object:
    """The activation the student's __init__ chose for name: self.activation if it is callable
    (a module or a function), else the first activation module it registers; None if it has
    none (even if __init__ raised after choosing it, as when the layers' blank is not filled)."""
    model = cls.__new__(cls)
    with contextlib.suppress(Exception):
        cls.__init__(model, *args, name)
    chosen = vars(model).get("_modules", {}).get("activation") or vars(model).get("activation")
    if callable(chosen) and not isinstance(chosen, str):
        return chosen
    known = tuple(STANDARD_ACTIVATIONS.values())
    return next((module for module in vars(model).get("_modules", {}).values()
                 if isinstance(module, known)), None)


def probe_activation(name: str) -> Callable[[Submission, Draw], dict]:
    """The structures with that activation, by the skeleton's spelling or, where the model
    refuses it, the first of its other spellings that it takes ('GELU', 'gelu', ...); and the
    activation __init__ chose, over DOMAIN."""
    def probe(submission: Submission, draw: Draw) -> dict:
        first = None
        for spelling in dict.fromkeys([name, name.upper(), name.lower(), name.capitalize()]):
            seen = {"activation": spelling, "cases": [
                probe_model(submission, draw, args, spelling)
                for args in draw.activation_structures]}
            first = first or seen
            if "weights" in seen["cases"][0]:  # the model was made: it takes this spelling
                break
        seen = seen if "weights" in seen["cases"][0] else first
        function = activation_of(submission.mlp.SentimentClassifier,
                                 draw.activation_structures[0], seen["activation"])
        seen["domain"] = None if function is None else observe(
            lambda: function(torch.tensor(DOMAIN)), submission.folder)
        return seen

    return probe


def domain_problem(seen: dict, name: str) -> Problem | None:
    """What is wrong with the chosen activation over DOMAIN (None: nothing)."""
    if "error" in seen:
        return raised(seen["error"])
    if seen["got"]["kind"] != "tensor" or seen["got"]["shape"] != [len(DOMAIN)]:
        return Problem("wrong activation", f"self.activation gave {show(seen['got'])}")
    got = tensor(seen["got"]).double()
    if any(torch.allclose(got, function(torch.tensor(DOMAIN, dtype=torch.float64)), atol=1e-4)
           for function in ACTIVATION_FUNCTIONS[name]):
        return None
    wanted = plain(ACTIVATION_FUNCTIONS[name][0](torch.tensor(DOMAIN)))
    return Problem("wrong activation", f"self.activation computes {show(seen['got'])} on "
                                       f"{DOMAIN}; {name} gives {show(wanted)}")


def judge_activation(name: str) -> Callable[[dict, dict, Draw], Verdict]:
    """The activation of that name: accepted and computed over its whole domain; used after
    each hidden layer (which is forward's to do: where forward is wrong, the activation keeps
    its points)."""
    def judge(seen: dict, expected: dict, draw: Draw) -> Verdict:
        verdict, found = Verdict(), seen["domain"] is not None  # a callable self.activation
        chosen = domain_problem(seen["domain"], name) if found else None
        for args, case in zip(draw.activation_structures, seen["cases"], strict=True):
            call = (f"SentimentClassifier({args[0]}, {args[1]}, {args[2]}, activation="
                    f"{seen['activation']!r})")
            # The activation is judged here, not the output layer (the forward item's).
            problems = [forward_problem(case, draw.inputs(args[0]), function, name,
                                        (lambda z: z, lambda z: z.softmax(1), function))
                        for function in ACTIVATION_FUNCTIONS[name]]
            problem = None if None in problems else problems[0]
            if problem is not None and found and chosen is None:
                verdict.notes.append(f"{call}: the activation is right; the model does not "
                                     f"give its products as the handout does (see forward)")
                problem = None
            verdict.case(call, problem)
        if found:
            verdict.case(f"self.activation of SentimentClassifier(..., activation="
                         f"{seen['activation']!r}) on {len(DOMAIN)} numbers from -50 to 50",
                         chosen)
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
            problem = Problem("not averaged by evaluate", f"gave {kind} values, {averaged}",
                              "make them floats") if averaged else None
            if problem is None:
                verdict.notes.append(f"accuracy gives {kind} 0/1s, which your evaluate "
                                     f"averages; the handout's are floats")
        verdict.case(call, problem)
    return verdict


def accuracy_problem(got: dict, expected: dict) -> Problem | None:
    """What is wrong with one accuracy's values (None: nothing)."""
    wanted = f"expected one 0/1 per example: {show(expected)}"
    if "error" in got:
        return raised(got["error"])
    got = got["got"]
    if got["kind"] != "tensor":
        return Problem("not a tensor", f"gave {show(got)}; {wanted}")
    if got["shape"] != expected["shape"]:
        mean = not got["shape"]
        return Problem("wrong shape", f"gave {show(got)}; {wanted}" + (
            " (that is their mean: return the 0/1 of each)" if mean else ""),
            "their mean" if mean else "")
    if not torch.equal(tensor(got).double(), tensor(expected).double()):
        return Problem("wrong values", f"gave {show(got)}; {wanted}")
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
             np.asarray(line.get_ydata(), dtype=float).tolist(), str(line.get_label())]
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


def setting(config: object, key: str) -> object:
    """A configuration's setting, as the skeleton's EasyDict has it (config.key, config[key])."""
    return config[key] if isinstance(config, Mapping) else getattr(config, key)


def standard_run_mlp(config: object, embeddings: object, dev: object, train: object,
                     test: object) -> tuple:
    """The handout's run_mlp as the checks stand it in, to tell a configuration that no run_mlp
    could train (main.py's fault) from one the student's own mlp.py fails on: one epoch of the
    configuration's settings on StandardClassifier."""
    model = StandardClassifier(embeddings.vector_size, setting(config, "num_classes"),
                               list(setting(config, "hidden_dims")), setting(config, "activation"))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(setting(config, "lr")))
    for inputs, labels in DataLoader(train, batch_size=int(setting(config, "batch_size"))):
        optimizer.zero_grad()
        model.loss(model(inputs.float()), labels).backward()
        optimizer.step()
    with torch.no_grad():
        scores = [standard_accuracy(model(x.float()), y).mean().item() for x, y in (
            dev.tensors, test.tensors)]
    return [0.0], [0.0], [0.0], [scores[0]], 0.0, scores[1]


def recording_run_mlp(submission: Submission, record: SharedRecord, own: dict[int, object]
                      ) -> Callable:
    """run_mlp as a sweep's probe hands it to main.py: it writes down each configuration's
    settings, the sizes of the datasets it gets, how the submission's own run_mlp did on one
    epoch of it with their own datasets (own: by the id of the checks' dataset), and where
    that fails, how the handout's did; it returns curves distinct for each run."""
    real = submission.mlp.run_mlp

    def run_mlp(config: object, embeddings: object, *datasets: object, **beside: object):
        settings, short = settings_of(config), copy.copy(config)
        if isinstance(short, Mapping):
            short["num_epochs"] = 1
        else:
            short.num_epochs = 1
        theirs = [own.get(id(dataset), dataset) for dataset in datasets]
        done = observe(lambda: real(short, embeddings, *theirs, **beside)[:6],
                       submission.folder, lambda values: {"kind": "ran"})
        entry = {"index": len(record.entries()), "settings": settings, "ran": done,
                 "sizes": [len(dataset) if hasattr(dataset, "__len__") else None
                           for dataset in datasets]}
        if "error" in done:
            entry["standard"] = observe(lambda: standard_run_mlp(short, embeddings,
                                                                 *datasets[:3]),
                                        submission.folder, lambda values: {"kind": "ran"})
        record.append(entry)  # a run that fails is its case: the sweep goes on
        return curves(entry["index"], int(settings.get("num_epochs") or 1))

    return run_mlp


def probe_sweep(sweep: str) -> Callable[[Submission, Draw], dict]:
    """main.<sweep>(dev, train, test, vectors) as the skeleton's __main__ calls it, with the
    checks' create_tensor_dataset: each run_mlp it asks for (recording_run_mlp), the figures
    it saved, and how it ended."""
    def probe(submission: Submission, draw: Draw) -> dict:
        record, own = SharedRecord(), {}

        def tensor_dataset(raw: dict, embeddings: object) -> TensorDataset:
            made = draw.tensor_dataset(raw, embeddings)
            with contextlib.suppress(Exception):  # the student's own, where it works
                own[id(made)] = submission.mlp.create_tensor_dataset(raw, embeddings)
            return made

        run_mlp = recording_run_mlp(submission, record, own)
        figures, rng = [], draw.rng(f"{sweep} reviews")
        splits = [reviews(size, rng) for size in SPLIT_SIZES]
        with replaced(submission.main, run_mlp=run_mlp, create_tensor_dataset=tensor_dataset), \
                replaced(submission.mlp, run_mlp=run_mlp), recorded_figures(figures):
            ended = observe(lambda: getattr(submission.main, sweep)(*splits, draw.vectors()),
                            submission.folder, lambda value: {"kind": "returned"})
        return {"runs": record.entries(), "figures": figures, "ended": ended}

    return probe


SPLIT_SIZES = (8, 16, 12)  # dev, train, test: a sweep passes run_mlp each in its own role


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
    """The sweep: its values, its fixed settings, the splits in their roles, a run of each
    configuration, its plots."""
    def judge(seen: dict, expected: dict, draw: Draw) -> Verdict:
        verdict, call = Verdict(), f"{sweep}(dev, train, test, vectors)"
        settings = [run["settings"] for run in seen["runs"]]
        if not settings:  # it ended (or returned) before its first run: nothing else to judge
            problem = raised(seen["ended"]["error"]) if "error" in seen["ended"] else \
                Problem("never called run_mlp", "never called run_mlp")
            for _ in range(6):
                verdict.case(call, problem)
            return verdict
        verdict.case(call, values_problem(settings, rules))
        verdict.case(call, fixed_problem(settings, expected, rules))
        verdict.case(call, roles_problem(seen["runs"]))
        verdict.case(call, training_problem(seen, verdict))
        accuracy, accuracy_file = plot_problem(seen, "dev accuracy", 3, rules)
        loss, loss_file = plot_problem(seen, "dev loss", 2, rules)
        if accuracy_file is not None and accuracy_file == loss_file:
            loss = Problem("one file for both plots", f"saved dev accuracy and dev loss in the "
                           f"same file, {loss_file!r}: the second replaces the first on disk; "
                           f"give each its own name")
        verdict.case(call, accuracy)
        verdict.case(call, loss)
        return verdict

    judge.__doc__ = (f"main.{sweep}: at least {len(rules.examples)} values of {rules.varied}, "
                     f"the handout's other settings, the splits in their roles, a run of each, "
                     f"its plots of dev accuracy and dev loss per epoch, each in a file.")
    return judge


def roles_problem(runs: list[dict]) -> Problem | None:
    """Whether each run_mlp got (dev, train, test) in the handout's order."""
    wrong = [run["sizes"][:3] for run in runs if run["sizes"][:3] != list(SPLIT_SIZES)]
    if not wrong:
        return None
    return Problem("splits in wrong roles", f"passed run_mlp datasets of {wrong[0]} examples; "
                   f"the handout's order is dev, train, test ({list(SPLIT_SIZES)} here): dev "
                   f"picks the best epoch, test scores it once")


def training_problem(seen: dict, verdict: Verdict) -> Problem | None:
    """Whether each configuration trains: with the student's own run_mlp, or, where that
    fails, with the handout's (then the sweep is right, and the note says which of mlp.py's
    items to look at)."""
    ended = seen["ended"].get("error")
    for run in seen["runs"]:
        error = run["ran"].get("error")
        if error is None:
            continue
        if "error" in run.get("standard", {"error": ""}):
            return Problem("cannot train", f"cannot train a configuration: your own run_mlp "
                           f"raised {error}, and so does the handout's run_mlp on it: the "
                           f"configuration is at fault")
        spelled = run["settings"].get("activation")
        if item_of(error) == "layers" and str(spelled) not in HANDOUT_ACTIVATIONS:
            return Problem("a name the model rejects", f"asks for activation {spelled!r}, "
                           f"which your own SentimentClassifier rejects ({error}); the handout "
                           f"spells them {HANDOUT_ACTIVATIONS}")
        verdict.notes.append(f"your sweep is right; with your own mlp.py its runs fail ("
                             f"{error}): see {item_of(error)}")
        return None
    return raised(ended) if ended else None


HANDOUT_ACTIVATIONS = ["Sigmoid", "Tanh", "ReLU", "GeLU"]  # as the skeleton's list spells them
# Where in the skeleton an error of a student's own run comes from: the item of that function.
FUNCTION_ITEMS = {"featurize": "featurize", "create_tensor_dataset": "create_tensor_dataset",
                  "__init__": "layers", "forward": "forward", "accuracy": "accuracy"}


def item_of(error: str) -> str:
    """The item of the function an error (student_error's text) was raised in."""
    found = re.search(r", in (\w+)", error)
    return FUNCTION_ITEMS.get(found[1], "training") if found else "training"


def values_problem(settings: list[dict], rules: SweepRules) -> Problem | None:
    """What is wrong with the values the sweep tried (None: nothing)."""
    distinct = []
    for value in (config.get(rules.varied) for config in settings):
        if not any(same(value, other) for other in distinct):
            distinct.append(value)
    missing = [value for value in rules.required if not any(same(v, value) for v in distinct)]
    if len(distinct) >= len(rules.examples) and not missing:
        return None
    return Problem("too few values", f"trained {len(distinct)} values of {rules.varied}, "
                   f"{distinct}; expected at least {len(rules.examples)}, such as "
                   f"{rules.examples}" + (f", {missing[0]!r} among them" if missing else ""))


def fixed_problem(settings: list[dict], expected: dict, rules: SweepRules) -> Problem | None:
    """The first setting of a run that is not this project's sweep's (None: all are)."""
    ours = [run["settings"] for run in expected["runs"]]
    for key in (key for key in rules.fixed if key != rules.varied):
        values = [config.get(key) for config in ours]
        if not all(same(value, values[0]) for value in values):
            continue  # this project varies it too: not the handout's to fix
        for config in settings:
            if not same(config.get(key), values[0]):
                return Problem("changed a fixed setting", f"trained {key}={config.get(key)!r} "
                               f"in a run; the handout fixes {key}={values[0]!r}")
    return None


def named(label: str, value: object) -> bool:
    """Whether a curve's label names a configuration's value (a name in any case, a number)."""
    if isinstance(value, str):
        return value.lower() in label.lower()
    return any(text in label for text in {str(value), f"{value:g}"}) \
        if isinstance(value, int | float) else str(value) in label


def plot_problem(seen: dict, metric: str, position: int, rules: SweepRules
                 ) -> tuple[Problem | None, str | None]:
    """Whether a figure shows the metric (the curve at position of what run_mlp returned) of
    every configuration, one line each over the epochs, each under a label naming its value;
    and the file of that figure."""
    runs = [(curves(run["index"], int(run["settings"].get("num_epochs") or 1))[position],
             run["settings"].get(rules.varied)) for run in seen["runs"]]
    for figure in seen["figures"]:
        drawn = [(ys, label) for xs, ys, label in figure["lines"] if len(ys) > 1 and xs in (
            list(map(float, range(len(ys)))), list(map(float, range(1, len(ys) + 1))))]
        labels = [[label for ys, label in drawn if len(ys) == len(run) and np.allclose(run, ys)]
                  for run, _ in runs]
        if runs and all(labels):
            unnamed = [value for (_, value), found in zip(runs, labels, strict=True)
                       if not any(named(label, value) for label in found)]
            return (Problem("curves not labelled", f"drew the {metric} of {unnamed[0]!r} under "
                            f"a label that does not name it; give each curve its "
                            f"configuration's name") if unnamed else None), figure["file"]
    names = [figure["file"] for figure in seen["figures"]]
    return Problem("no plot", f"saved no figure of the {metric} of each run per epoch (one line "
                   f"a configuration, epochs on the x axis, as visualize_configs draws them); "
                   f"it saved {names or 'none'}"), None


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
    """The submission's own run_mlp -> train -> evaluate on the learnable sets: with its own
    model and accuracy, and with the handout's standing in for them (so that the training
    path is judged apart from those blanks)."""
    own = training_run(submission.mlp, submission.folder, draw)
    with replaced(submission.mlp, SentimentClassifier=StandardClassifier,
                  accuracy=standard_accuracy):
        standing = training_run(submission.mlp, submission.folder, draw)
    return {"own": own, "standing_in": standing}


def judge_training(seen: dict, expected: dict, draw: Draw) -> Verdict:
    """Six values back (four lists of one value per epoch, then test loss and accuracy), each
    what this project's run_mlp gives from the same weights on the same data, with the
    handout's model and accuracy standing in for the student's (judged in their own items)."""
    verdict, ours = Verdict(), expected["own"]["got"]["values"]
    call = (f"run_mlp(a Sigmoid [16] configuration, lr {TRAINING['lr']}, "
            f"{TRAINING['num_epochs']} epochs, one batch an epoch, on examples a line separates)")
    standing, own = run_problems(seen["standing_in"], ours, expected), \
        run_problems(seen["own"], ours, expected)
    unfilled = seen["own"].get("error", "").startswith("NotImplementedError")
    if unfilled or (any(standing) and not any(own)):  # a blank left (the path cannot run at
        standing = own  # all), or a loop that reads what only the student's model has
    for problem in standing:
        verdict.case(call, problem)
    first = next((problem for problem in own if problem), None)
    if not any(standing) and first:
        verdict.notes.append(f"your training path is right; with your own model and accuracy "
                             f"it {first.said} (see layers, forward, accuracy)")
    return verdict


def run_problems(seen: dict, ours: list, expected: dict) -> list[Problem | None]:
    """What is wrong with a training run's values: its train curves, its dev curves, its test
    numbers."""
    values, epochs = seen.get("got", {}).get("values"), TRAINING["num_epochs"]
    if "error" in seen or len(values) != 6 or not all(
            isinstance(value, list) and len(value) == epochs for value in values[:4]):
        problem = raised(seen["error"]) if "error" in seen else Problem(
            "wrong returns", f"returned {len(values)} values; expected six: four lists of one "
                             f"value per epoch ({epochs}), then test loss and test accuracy")
        return [problem] * 3
    test_same = np.allclose(values[4:], ours[4:], atol=1e-3)
    return [*(curve_problem(values, ours, part, expected) for part in ((0, 1), (2, 3))),
            None if test_same else Problem(
                "wrong test numbers", f"gave test loss and accuracy "
                f"{np.round(values[4:], 4).tolist()}; expected {np.round(ours[4:], 4).tolist()}, "
                f"with the weights of the best dev epoch")]


def curve_problem(values: list, ours: list, part: tuple[int, int], expected: dict
                  ) -> Problem | None:
    """Where two of run_mlp's per-epoch curves differ from this project's, and the slip they
    match (None: they do not differ)."""
    for index in part:
        if not np.allclose(values[index], ours[index], atol=1e-3):
            epoch = next(e for e, (a, b) in enumerate(zip(values[index], ours[index],
                                                          strict=True)) if abs(a - b) > 1e-3)
            name, advice = slip(values, index, expected)
            return Problem("wrong curves", f"gave {CURVES[index]} "
                           f"{np.round(values[index], 4).tolist()}; expected "
                           f"{np.round(ours[index], 4).tolist()} (this project's run_mlp from "
                           f"the same weights), apart from epoch {epoch + 1}{advice}", name)
    return None


def slip(values: list, index: int, expected: dict) -> tuple[str, str]:
    """The classic training-loop slip that gives these curves, and its advice ('', '' if
    none does)."""
    if np.ptp(values[0]) < 1e-6:  # the same every epoch, but for the order of a sum
        return "no step", ": the loss never changes; does train call optimizer.step() for each " \
                          "batch?"
    if index >= 2 and np.allclose(values[2][:-1], values[0][1:], atol=1e-3):
        return "dev from train", ": these are the training set's numbers; evaluate the dev set " \
                                 "after each epoch"
    for name, advice in (("no zero_grad", ": each step adds up every earlier gradient; call "
                                          "optimizer.zero_grad() before each backward"),
                         ("default lr", ": it trains at another learning rate; give the "
                                        "optimizer config.lr")):
        if np.allclose(values[index], expected["slips"][name][index], atol=1e-3):
            return name, advice
    return "", ""


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
       for name in ACTIVATION_FUNCTIONS},
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
