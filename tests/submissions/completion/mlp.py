# A student's completion of the homework's mlp.py, written for this project's tests in the
# shape of the course skeleton (its imports, its given code around eight blanks). Each blank's
# answer sits between "# TODO n" and "# END TODO": the tests blank them out to make the
# skeleton as handed out, or change one to make a submission with one mistake.
import random

import easydict  # noqa: F401
import gensim.downloader  # noqa: F401
import matplotlib.pyplot as plt
import nltk
import numpy as np
import torch
from datasets import load_dataset
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

nltk.download("punkt")
random.seed(42)
torch.manual_seed(42)


def load_data_mlp():
    dataset = load_dataset("imdb")
    train = dataset["train"].shuffle(seed=42)
    test = dataset["test"].shuffle(seed=42)
    dev_data = train[:5000]
    train_data = train[5000:25000]
    test_data = test[:10000]
    return dev_data, train_data, test_data


def featurize(sentence, embeddings):
    vectors = []
    for word in nltk.tokenize.word_tokenize(sentence.lower()):
        try:
            vectors.append(embeddings[word])
        except KeyError:
            pass
    # TODO 1
    if len(vectors) == 0:
        return None
    return torch.tensor(np.mean(np.array(vectors), axis=0), dtype=torch.float32)
    # END TODO


def create_tensor_dataset(raw_data, embeddings):
    all_features, all_labels = [], []
    for text, label in tqdm(zip(raw_data["text"], raw_data["label"])):
        # TODO 2
        feature = featurize(text, embeddings)
        if feature is not None:
            all_features.append(feature)
            all_labels.append(label)
        # END TODO
    features_tensor = torch.stack(all_features)
    labels_tensor = torch.tensor(all_labels, dtype=torch.long)
    return TensorDataset(features_tensor, labels_tensor)


def create_dataloader(dataset, batch_size, shuffle=True):
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)


class SentimentClassifier(nn.Module):
    def __init__(self, embed_dim, num_classes, hidden_dims, activation="Sigmoid"):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_classes = num_classes
        self.hidden_dims = hidden_dims
        if activation == "Sigmoid":
            self.activation = nn.Sigmoid()
        else:
            # TODO 3
            choices = {"Tanh": nn.Tanh, "ReLU": nn.ReLU, "GeLU": nn.GELU}
            if activation not in choices:
                raise NotImplementedError(f"activation {activation}")
            self.activation = choices[activation]()
            # END TODO
        self.linears = nn.ModuleList()
        # TODO 4
        sizes = [embed_dim] + list(hidden_dims) + [num_classes]
        for i in range(len(sizes) - 1):
            self.linears.append(nn.Linear(sizes[i], sizes[i + 1]))
        # END TODO
        self.loss = nn.CrossEntropyLoss()

    def forward(self, inp):
        # TODO 5
        x = inp
        for layer in self.linears[:-1]:
            x = self.activation(layer(x))
        logits = self.linears[-1](x)
        # END TODO
        return logits


def accuracy(logits, labels):
    assert logits.shape[0] == labels.shape[0]
    # TODO 6
    predictions = torch.argmax(logits, dim=1)
    return (predictions == labels).float()
    # END TODO


def evaluate(model, dataloader):
    model.eval()
    losses, accs = [], []
    with torch.no_grad():
        for inputs, labels in dataloader:
            logits = model(inputs)
            losses.append(model.loss(logits, labels).item())
            accs.append(accuracy(logits, labels).mean().item())
    return float(np.mean(losses)), float(np.mean(accs))


def train(model, optimizer, train_dataloader, dev_dataloader, num_epochs, save_path=None):
    train_losses, train_accs, dev_losses, dev_accs = [], [], [], []
    best_dev_acc = -1
    for epoch in range(num_epochs):
        model.train()
        epoch_losses, epoch_accs = [], []
        for inputs, labels in train_dataloader:
            optimizer.zero_grad()
            logits = model(inputs)
            loss = model.loss(logits, labels)
            loss.backward()
            optimizer.step()
            epoch_losses.append(loss.item())
            epoch_accs.append(accuracy(logits, labels).mean().item())
        dev_loss, dev_acc = evaluate(model, dev_dataloader)
        train_losses.append(float(np.mean(epoch_losses)))
        train_accs.append(float(np.mean(epoch_accs)))
        dev_losses.append(dev_loss)
        dev_accs.append(dev_acc)
        print(f"epoch {epoch}: train loss {train_losses[-1]:.4f} dev acc {dev_acc:.4f}")
        if dev_acc > best_dev_acc:
            best_dev_acc = dev_acc
            if save_path is not None:
                torch.save(model.state_dict(), save_path)
    return train_losses, train_accs, dev_losses, dev_accs


def visualize_epochs(epoch_train_losses, epoch_dev_losses, save_fig_path):
    plt.figure()
    plt.plot(epoch_train_losses, label="train loss")
    plt.plot(epoch_dev_losses, label="dev loss")
    plt.xlabel("epoch")
    plt.legend()
    plt.savefig(save_fig_path)
    plt.close()


def visualize_configs(all_config_epoch_stats, config_names, metric_name, save_fig_path):
    plt.figure()
    for stats, name in zip(all_config_epoch_stats, config_names):
        plt.plot(stats, label=name)
    plt.xlabel("epoch")
    plt.ylabel(metric_name)
    plt.legend()
    plt.savefig(save_fig_path)
    plt.close()


def run_mlp(config, embeddings, dev_dataset, train_dataset, test_dataset):
    model = SentimentClassifier(embeddings.vector_size, config.num_classes, config.hidden_dims,
                                config.activation)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    train_dataloader = create_dataloader(train_dataset, config.batch_size)
    dev_dataloader = create_dataloader(dev_dataset, config.batch_size, shuffle=False)
    test_dataloader = create_dataloader(test_dataset, config.batch_size, shuffle=False)
    train_losses, train_accs, dev_losses, dev_accs = train(
        model, optimizer, train_dataloader, dev_dataloader, config.num_epochs, config.save_path)
    model.load_state_dict(torch.load(config.save_path))
    test_loss, test_acc = evaluate(model, test_dataloader)
    return train_losses, train_accs, dev_losses, dev_accs, test_loss, test_acc
