"""A class of submissions for the grader's tests, written here from tests/submissions/completion
(a completion in the course skeleton's shape): correct ones written in other shapes, ones with a
single mistake, and hostile ones, each with the items it must lose.

A submission is the completion with edits: for a file, pairs of (text, replacement), each text
found in the completion exactly once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

COMPLETION = Path(__file__).resolve().parent / "submissions" / "completion"
ACTIVATIONS = {"activation Tanh", "activation ReLU", "activation GeLU"}
SWEEPS = {"explore_mlp_activations", "explore_mlp_learning_rates"}
ITEMS = {"featurize", "create_tensor_dataset", "layers", "forward", *ACTIVATIONS, "accuracy",
         "explore_mlp_activations", "explore_mlp_learning_rates", "training"}

# The completion's answers, as the edits below name them.
MEAN = "    return torch.tensor(np.mean(np.array(vectors), axis=0), dtype=torch.float32)\n"
KEEP = ("        feature = featurize(text, embeddings)\n        if feature is not None:\n"
        "            all_features.append(feature)\n            all_labels.append(label)\n")
CHOICES = '            choices = {"Tanh": nn.Tanh, "ReLU": nn.ReLU, "GeLU": nn.GELU}\n'
LAYERS = ("        sizes = [embed_dim] + list(hidden_dims) + [num_classes]\n"
          "        for i in range(len(sizes) - 1):\n"
          "            self.linears.append(nn.Linear(sizes[i], sizes[i + 1]))\n")
FORWARD = ("        x = inp\n        for layer in self.linears[:-1]:\n"
           "            x = self.activation(layer(x))\n        logits = self.linears[-1](x)\n")
ACCURACY = "    return (predictions == labels).float()\n"
ACT_RUN = ("        _, _, dev_losses, dev_accs, _, _ = run_mlp(config, embeddings, dev_dataset,\n"
           "                                                   train_dataset, test_dataset)\n"
           "        all_accs.append(dev_accs)\n        all_losses.append(dev_losses)\n"
           "    visualize_configs(all_accs, activations")
ACTIVATION_LIST = '    activations = ["Sigmoid", "Tanh", "ReLU", "GeLU"]\n    # TODO 7\n'
LRS = "    lrs = [0.1, 0.02, 0.005, 0.001]\n"
ACT_PLOTS = ('    visualize_configs(all_accs, activations, "Accuracy", '
             '"./all_mlp_activations_acc.png")\n')


@dataclass(frozen=True)
class Student:
    """A submission: its name, its edits by file, and the items it must lose (points short of
    full); at_least: it must lose these and may lose more."""

    name: str
    edits: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    loses: frozenset[str] = frozenset()
    at_least: bool = False


def mlp(*pairs: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"mlp.py": list(pairs)}


def main(*pairs: tuple[str, str]) -> dict[str, list[tuple[str, str]]]:
    return {"main.py": list(pairs)}


CORRECT = [
    Student("stack-mean", mlp((MEAN, "    return torch.stack([torch.tensor(v) for v in vectors])"
                                     ".mean(dim=0)\n"))),
    Student("sum-over-len", mlp((MEAN, "    return torch.tensor(sum(vectors) / len(vectors))\n"))),
    Student("from-numpy", mlp((MEAN, "    return torch.from_numpy(np.mean(vectors, axis=0))\n"))),
    Student("continue-on-none", mlp((KEEP, "        feature = featurize(text, embeddings)\n"
                                           "        if feature is None:\n            continue\n"
                                           "        all_features.append(feature)\n"
                                           "        all_labels.append(label)\n"))),
    Student("sequential", mlp((LAYERS, "        layers = []\n"
                                       "        sizes = [embed_dim, *hidden_dims, num_classes]\n"
                                       "        for a, b in zip(sizes[:-1], sizes[1:]):\n"
                                       "            layers += [nn.Linear(a, b), self.activation]\n"
                                       "        self.net = nn.Sequential(*layers[:-1])\n"),
                              (FORWARD, "        logits = self.net(inp)\n"))),
    Student("extend-comprehension", mlp((LAYERS, "        sizes = [embed_dim, *hidden_dims, "
                                                 "num_classes]\n        self.linears.extend("
                                                 "nn.Linear(a, b) for a, b in zip(sizes, "
                                                 "sizes[1:]))\n"))),
    Student("functional-activations", mlp((CHOICES, '            choices = {"Tanh": lambda: '
                                                    'torch.tanh, "ReLU": lambda: torch.relu, '
                                                    '"GeLU": lambda: nn.functional.gelu}\n'))),
    Student("log-softmax-out", mlp((FORWARD, FORWARD.replace(
        "logits = self.linears[-1](x)", "logits = torch.log_softmax(self.linears[-1](x), 1)")))),
    Student("enumerate-forward", mlp((FORWARD, "        x = inp\n"
                                               "        for i, layer in enumerate(self.linears):\n"
                                               "            x = layer(x)\n"
                                               "            if i < len(self.linears) - 1:\n"
                                               "                x = self.activation(x)\n"
                                               "        logits = x\n"))),
    Student("integer-accuracy-and-own-evaluate", mlp(
        (ACCURACY, "    return (predictions == labels).long()\n"),
        ("            accs.append(accuracy(logits, labels).mean().item())",
         "            accs.append(accuracy(logits, labels).float().mean().item())"),
        ("            epoch_accs.append(accuracy(logits, labels).mean().item())",
         "            epoch_accs.append(accuracy(logits, labels).sum().item() / len(labels))"))),
    Student("eq-to-float32", mlp((ACCURACY, "    return torch.eq(logits.argmax(-1), labels)"
                                            ".to(torch.float32)\n"))),
    Student("gelu-spelled-upper", {
        **mlp((CHOICES, CHOICES.replace('"GeLU"', '"GELU"'))),
        **main((ACTIVATION_LIST, '    activations = ["Sigmoid", "Tanh", "ReLU", "GELU"]\n'
                                 '    # TODO 7\n'))}),
    Student("more-activations", {
        **mlp((CHOICES, CHOICES.replace("}", ', "LeakyReLU": nn.LeakyReLU}'))),
        **main((ACTIVATION_LIST, ACTIVATION_LIST + '    activations = activations + '
                                                   '["LeakyReLU"]\n'))}),
    Student("more-learning-rates", main((LRS, "    lrs = [0.1, 0.05, 0.02, 0.005, 0.001]\n"))),
    Student("parameters-not-linear", mlp(
        (LAYERS, "        widths = [embed_dim] + [*hidden_dims] + [num_classes]\n"
                 "        self.weights = nn.ParameterList()\n"
                 "        for a, b in zip(widths, widths[1:]):\n"
                 "            bound = 1 / a ** 0.5\n"
                 "            self.weights.append(nn.Parameter(torch.empty(b, a).uniform_("
                 "-bound, bound)))\n"
                 "            self.weights.append(nn.Parameter(torch.empty(b).uniform_("
                 "-bound, bound)))\n"),
        (FORWARD, "        x = inp\n        pairs = list(zip(self.weights[::2], "
                  "self.weights[1::2]))\n"
                  "        for index, (w, b) in enumerate(pairs):\n"
                  "            x = nn.functional.linear(x, w, b)\n"
                  "            if index < len(pairs) - 1:\n"
                  "                x = self.activation(x)\n        logits = x\n"))),
    Student("wraps-stdout-without-flush", mlp((
        "random.seed(42)\n", "random.seed(42)\n\n\nclass _Log:\n"
        "    def __init__(self, stream):\n        self.stream = stream\n\n"
        "    def write(self, text):\n        return self.stream.write(text)\n\n\n"
        "import sys\nsys.stdout = _Log(sys.stdout)\nsys.stderr = _Log(sys.stderr)\n"))),
    Student("own-plotting", main((
        ACT_PLOTS + '    visualize_configs(all_losses, activations, "Loss", '
                    '"./all_mlp_activations_loss.png")\n',
        "    for title, curves in ((\"acc\", all_accs), (\"loss\", all_losses)):\n"
        "        fig, ax = plt.subplots()\n"
        "        for curve, name in zip(curves, activations):\n"
        "            ax.plot(range(1, len(curve) + 1), curve, label=name)\n"
        "        ax.set_xlabel(\"epoch\")\n        ax.legend()\n"
        "        fig.savefig(f\"activations_{title}.png\")\n        plt.close(fig)\n"),
        ("import gensim.downloader as api\n", "import gensim.downloader as api\n"
                                              "import matplotlib.pyplot as plt\n"))),
]

# Two students who share one filled blank, written unlike anyone else's (both correct).
SHARED_FORWARD = ("        hidden = inp\n        depth = len(self.linears)\n"
                  "        for position in range(depth):\n"
                  "            hidden = self.linears[position](hidden)\n"
                  "            if position != depth - 1:\n"
                  "                hidden = self.activation(hidden)\n        logits = hidden\n")
COPIED = [Student(f"copied-forward-{side}", mlp((FORWARD, SHARED_FORWARD))) for side in "ab"]

MISTAKES = [
    Student("float64-throughout", mlp(  # consistent: its own run trains (featurize's point)
        (MEAN, "    return torch.tensor(np.mean(np.array(vectors, dtype=np.float64), axis=0))\n"),
        ("nn.Linear(sizes[i], sizes[i + 1])",
         "nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64)")), {"featurize"}),
    Student("featurize-sum", mlp((MEAN, MEAN.replace("np.mean", "np.sum"))), {"featurize"}),
    Student("featurize-float64", mlp((MEAN, "    return torch.tensor(np.mean(np.array(vectors, "
                                            "dtype=np.float64), axis=0))\n")), {"featurize"}),
    Student("keeps-every-review", mlp(("        if feature is not None:\n            all_f",
                                       "        if True:\n            all_f")),
            {"create_tensor_dataset"}),
    Student("float-labels", mlp(("torch.tensor(all_labels, dtype=torch.long)",
                                 "torch.tensor(all_labels, dtype=torch.float)")),
            {"create_tensor_dataset"}),
    Student("no-hidden-activation", mlp(("x = self.activation(layer(x))", "x = layer(x)")),
            {"forward"}),
    Student("activation-on-output", mlp(("        logits = self.linears[-1](x)\n",
                                         "        logits = self.activation("
                                         "self.linears[-1](x))\n")),
            {"forward"}),
    Student("softmax-out", mlp(("        logits = self.linears[-1](x)\n",
                                "        logits = torch.softmax(self.linears[-1](x), dim=1)\n")),
            {"forward"}),
    Student("python-list-of-layers", mlp(("self.linears = nn.ModuleList()", "self.linears = []")),
            {"layers"}),
    Student("layers-float64", mlp(("nn.Linear(sizes[i], sizes[i + 1])",
                                   "nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64)")),
            {"layers"}),
    Student("no-gelu", mlp((', "GeLU": nn.GELU}', "}")),
            {"activation GeLU"}),
    Student("accuracy-mean", mlp((ACCURACY, "    return (predictions == labels).float().mean()\n")),
            {"accuracy"}),
    Student("accuracy-booleans", mlp((ACCURACY, "    return predictions == labels\n")),
            {"accuracy"}),
    Student("three-learning-rates", main((LRS, "    lrs = [0.1, 0.02, 0.001]\n")),
            {"explore_mlp_learning_rates"}),
    Student("lr-sweep-256-units", main(("    lrs = [0.02]\n", "    lrs = [0.02]\n"
                                                             "    hidden_dims = [256]\n")),
            {"explore_mlp_learning_rates"}),
    Student("activation-plots-never-written", main(
        (ACT_PLOTS + '    visualize_configs(all_losses, activations, "Loss", '
                     '"./all_mlp_activations_loss.png")\n', "")), {"explore_mlp_activations"}),
    Student("plots-train-accuracy", main((
        ACT_RUN,
        "        _, train_accs, dev_losses, dev_accs, _, _ = run_mlp(config, embeddings, "
        "dev_dataset,\n                                                   train_dataset, "
        "test_dataset)\n        all_accs.append(train_accs)\n        all_losses.append("
        "dev_losses)\n    visualize_configs(all_accs, activations")), {"explore_mlp_activations"}),
    Student("lr-sweep-without-num-classes", main(('                           "hidden_dims": '
                                                  'hidden_dims, "num_classes": 2,\n',
                                                  '                           "hidden_dims": '
                                                  'hidden_dims,\n')),
            {"explore_mlp_learning_rates"}),
    Student("forward-ignores-its-activation", mlp(("x = self.activation(layer(x))",
                                                   "x = torch.sigmoid(layer(x))")), {"forward"}),
    Student("tanh-is-sigmoid", mlp(('{"Tanh": nn.Tanh,', '{"Tanh": nn.Sigmoid,')),
            {"activation Tanh"}),
    Student("layers-without-bias", mlp(("nn.Linear(sizes[i], sizes[i + 1])",
                                        "nn.Linear(sizes[i], sizes[i + 1], bias=False)")),
            {"layers"}),
    Student("splits-in-wrong-roles", main((ACT_RUN, ACT_RUN.replace(
        "dev_dataset,\n", "train_dataset,\n").replace("train_dataset, test", "dev_dataset, test"))),
            {"explore_mlp_activations"}),
    Student("one-file-for-both-plots", main(('"./all_mlp_lrs_loss.png"',
                                             '"./all_mlp_lrs_acc.png"')),
            {"explore_mlp_learning_rates"}),
    Student("curves-under-wrong-labels", main(('    names = [f"lr {lr}" for lr in lrs]\n',
                                               '    names = [f"run {i}" for i in range(4)]\n')),
            {"explore_mlp_learning_rates"}),
    Student("talks-in-two-items", mlp(  # what each item printed goes under that item alone
        (ACCURACY, '    print("ACCURACY-TALKS")\n    return (predictions == labels).float()'
                   '.mean()\n'),
        ("        x = inp\n", '        print("FORWARD-TALKS")\n        x = inp\n')),
            {"accuracy"}),
    Student("sweep-asks-for-a-name-its-model-rejects", main((
        ACTIVATION_LIST, '    activations = ["Sigmoid", "Tanh", "ReLU", "GELU"]\n    # TODO 7\n')),
            {"explore_mlp_activations"}),
    Student("no-step", mlp(("            optimizer.step()\n", "")), {"training"}),
    Student("no-zero-grad", mlp(("            optimizer.zero_grad()\n", "")), {"training"}),
    Student("learning-rate-ignored", mlp(("torch.optim.Adam(model.parameters(), lr=config.lr)",
                                          "torch.optim.Adam(model.parameters())")), {"training"}),
    Student("dev-read-from-train", mlp(("        dev_loss, dev_acc = evaluate(model, "
                                        "dev_dataloader)",
                                        "        dev_loss, dev_acc = evaluate(model, "
                                        "train_dataloader)")), {"training"}),
]

HOSTILE = [
    Student("exits-at-import", mlp(("import random\n", "import random, sys\nsys.exit(3)\n")),
            ITEMS),
    Student("loops-forever-in-a-sweep", main(("    lrs = [0.02]\n",
                                              "    while True:\n        pass\n")),
            {"explore_mlp_learning_rates"}),
    Student("floods-its-output", mlp(("torch.manual_seed(42)\n", "torch.manual_seed(42)\n"
                                      "for _ in range(2000):\n    print('x' * 1000)\n"))),
    Student("grabs-all-memory-in-forward", mlp(("        x = inp\n",
                                                "        hoard = [bytes(2**28) for _ in "
                                                "range(64)]\n        x = inp\n")),
            {"forward"}, at_least=True),
    Student("deletes-its-folder-and-others", mlp((  # tests/attacks.py: every route to others'
        "torch.manual_seed(42)\n", "torch.manual_seed(42)\nimport os, shutil\n"
        "for attempt in (lambda: os.kill(os.getppid(), 9),\n"
        "                lambda: shutil.rmtree(os.path.dirname(os.path.abspath(__file__)))):\n"
        "    try:\n        attempt()\n    except OSError:\n        pass\n")), at_least=True),
    Student("patches-torch-comparisons", mlp(
        ("torch.manual_seed(42)\n", "torch.manual_seed(42)\n"
                                    "torch.allclose = lambda *a, **k: True\n"
                                    "torch.equal = lambda *a, **k: True\n"
                                    "np.allclose = lambda *a, **k: True\n"),
        (MEAN, MEAN.replace("np.mean", "np.sum"))), {"featurize"}),
    Student("reads-a-classmates-copy", mlp(  # a wrong featurize, and a classmate's right one
        ("torch.manual_seed(42)\n", "torch.manual_seed(42)\nimport glob, os\n_found = {}\n"
         "_here = os.path.dirname(os.path.abspath(__file__))\n"
         "for _top in [_here + '/../..', *open('/proc/self/cmdline').read().split('\\0')]:\n"
         "    for _path in glob.glob(os.path.join(_top, '**', 'mlp.py'), recursive=True):\n"
         "        try:\n            _text = open(_path).read()\n        except OSError:\n"
         "            continue\n"
         "        if 'np.sum(' not in _text and 'def featurize' in _text:\n"
         "            exec('import numpy as np, torch, nltk\\ndef featurize' + _text.split("
         "'def featurize', 1)[1].split('\\ndef ', 1)[0], _found)\n"
         "            break\n"),
        (MEAN, MEAN.replace("np.mean", "np.sum")),
        ("def create_tensor_dataset(raw_data, embeddings):\n",
         "featurize = _found.get('featurize', featurize)\n\n\n"
         "def create_tensor_dataset(raw_data, embeddings):\n")), {"featurize"}),
    Student("leaves-a-detached-process", mlp(
        ("torch.manual_seed(42)\n", "torch.manual_seed(42)\nimport os, time\n"
         "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
         "        time.sleep(300)\n    os._exit(0)\n"))),
]


def blank(text: str) -> str:
    """The skeleton as handed out: each blank's answer replaced by raise NotImplementedError."""
    return re.sub(r"( *)# TODO \d+\n.*?# END TODO\n",
                  lambda found: f"{found.group(1)}raise NotImplementedError\n", text, flags=re.S)


def write(folder: Path, student: Student | None = None, blanks: bool = False) -> Path:
    """The completion in folder, with the student's edits (or its blanks raising)."""
    folder.mkdir(parents=True)
    for name in ("mlp.py", "main.py"):
        text = (COMPLETION / name).read_text()
        for old, new in (student.edits.get(name, []) if student else []):
            assert text.count(old) == 1, (student.name, name, old)
            text = text.replace(old, new)
        (folder / name).write_text(blank(text) if blanks else text)
    return folder
