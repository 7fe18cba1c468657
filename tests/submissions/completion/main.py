# A student's completion of the homework's main.py, in the shape of the course skeleton (see
# mlp.py beside it): the structures sweep is given, the other two are blanks 7 and 8.
import gensim.downloader as api
from easydict import EasyDict

from mlp import create_tensor_dataset, load_data_mlp, run_mlp, visualize_configs, visualize_epochs

EMBEDDING_TYPE = "glove-twitter-50"


def explore_mlp_structures(dev_data, train_data, test_data, embeddings):
    dev_dataset = create_tensor_dataset(dev_data, embeddings)
    train_dataset = create_tensor_dataset(train_data, embeddings)
    test_dataset = create_tensor_dataset(test_data, embeddings)
    configs = [([], 0.025, "None"), ([512], 0.02, "512"), ([512, 512], 0.01, "512_512"),
               ([512, 512, 512], 0.001, "512_512_512")]
    all_accs, all_losses, names = [], [], []
    for hidden_dims, lr, name in configs:
        config = EasyDict({"batch_size": 64, "lr": lr, "num_epochs": 20,
                           "hidden_dims": hidden_dims, "save_path": f"model_hidden_{name}.pth",
                           "embeddings": EMBEDDING_TYPE, "num_classes": 2,
                           "activation": "Sigmoid"})
        train_losses, _, dev_losses, dev_accs, _, _ = run_mlp(config, embeddings, dev_dataset,
                                                               train_dataset, test_dataset)
        visualize_epochs(train_losses, dev_losses, f"mlp_structure_{name}_loss.png")
        all_accs.append(dev_accs)
        all_losses.append(dev_losses)
        names.append(name)
    visualize_configs(all_accs, names, "Accuracy", "./all_mlp_structures_acc.png")
    visualize_configs(all_losses, names, "Loss", "./all_mlp_structures_loss.png")


def explore_mlp_activations(dev_data, train_data, test_data, embeddings):
    dev_dataset = create_tensor_dataset(dev_data, embeddings)
    train_dataset = create_tensor_dataset(train_data, embeddings)
    test_dataset = create_tensor_dataset(test_data, embeddings)
    batch_size = 128
    num_epochs = 20
    lr = 0.02
    num_classes = 2
    hidden_dims = [512]
    activations = ["Sigmoid", "Tanh", "ReLU", "GeLU"]
    # TODO 7
    all_accs, all_losses = [], []
    for activation in activations:
        config = EasyDict({"batch_size": batch_size, "lr": lr, "num_epochs": num_epochs,
                           "hidden_dims": hidden_dims, "num_classes": num_classes,
                           "activation": activation, "embeddings": EMBEDDING_TYPE,
                           "save_path": f"model_activation_{activation}.pth"})
        _, _, dev_losses, dev_accs, _, _ = run_mlp(config, embeddings, dev_dataset,
                                                   train_dataset, test_dataset)
        all_accs.append(dev_accs)
        all_losses.append(dev_losses)
    visualize_configs(all_accs, activations, "Accuracy", "./all_mlp_activations_acc.png")
    visualize_configs(all_losses, activations, "Loss", "./all_mlp_activations_loss.png")
    # END TODO


def explore_mlp_learning_rates(dev_data, train_data, test_data, embeddings):
    dev_dataset = create_tensor_dataset(dev_data, embeddings)
    train_dataset = create_tensor_dataset(train_data, embeddings)
    test_dataset = create_tensor_dataset(test_data, embeddings)
    batch_size = 64
    num_epochs = 20
    hidden_dims = [512]
    activation = "Sigmoid"
    lrs = [0.02]
    # TODO 8
    lrs = [0.1, 0.02, 0.005, 0.001]
    all_accs, all_losses = [], []
    for lr in lrs:
        config = EasyDict({"batch_size": batch_size, "lr": lr, "num_epochs": num_epochs,
                           "hidden_dims": hidden_dims, "num_classes": 2,
                           "activation": activation, "embeddings": EMBEDDING_TYPE,
                           "save_path": f"model_lr_{lr}.pth"})
        _, _, dev_losses, dev_accs, _, _ = run_mlp(config, embeddings, dev_dataset,
                                                   train_dataset, test_dataset)
        all_accs.append(dev_accs)
        all_losses.append(dev_losses)
    names = [f"lr {lr}" for lr in lrs]
    visualize_configs(all_accs, names, "Accuracy", "./all_mlp_lrs_acc.png")
    visualize_configs(all_losses, names, "Loss", "./all_mlp_lrs_loss.png")
    # END TODO


if __name__ == "__main__":
    dev_data, train_data, test_data = load_data_mlp()
    embeddings = api.load(EMBEDDING_TYPE)
    explore_mlp_structures(dev_data, train_data, test_data, embeddings)
    explore_mlp_activations(dev_data, train_data, test_data, embeddings)
    explore_mlp_learning_rates(dev_data, train_data, test_data, embeddings)
