"""A small MNIST CNN written the way PyTorch code is written, runnable under either framework.

    python examples/pytorch_style_mnist.py                       # tinygrad_cnn
    python examples/pytorch_style_mnist.py --framework torch     # the same code on PyTorch

Everything below the import switch is plain PyTorch idiom: an ``nn.Module`` subclass, ``F.relu``,
``F.max_pool2d``, ``torch.flatten``, dropout, ``F.log_softmax`` with ``F.nll_loss``, an optimizer
with a ``StepLR`` schedule, and the usual ``argmax(dim=1, keepdim=True)`` accuracy count. The
MNIST arrays come from the copy shipped in ``data/mnist/`` (read with NumPy, for both frameworks).
"""
import argparse
import os
import sys
import time

import numpy as np

from tinygrad_cnn.data import load_mnist  # the IDX reader: NumPy arrays, whichever framework runs

FRAMEWORK = os.environ.get("MNIST_EXAMPLE_FRAMEWORK", "tinygrad_cnn")
if "--framework" in sys.argv[:-1]:
    FRAMEWORK = sys.argv[sys.argv.index("--framework") + 1]

# ---------------------------------------------------------------------------- the one import switch
if FRAMEWORK == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
else:
    import tinygrad_cnn as torch
    import tinygrad_cnn.nn as nn
    import tinygrad_cnn.nn.functional as F
    import tinygrad_cnn.optim as optim
    from tinygrad_cnn.optim.lr_scheduler import StepLR
# ----------------------------------------------------------------------------------------------------


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(32 * 12 * 12, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))           # 28 -> 26
        x = F.relu(self.conv2(x))           # 26 -> 24
        x = F.max_pool2d(x, 2)              # 24 -> 12
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def batches(images, labels, batch_size, shuffle, rng):
    """(data, target) tensors: images scaled to [0, 1] and normalised with MNIST's mean and std."""
    order = rng.permutation(len(images)) if shuffle else np.arange(len(images))
    for start in range(0, len(images), batch_size):
        idx = order[start:start + batch_size]
        x = (images[idx].astype(np.float32) / 255.0 - 0.1307) / 0.3081
        yield torch.from_numpy(x[:, None]), torch.from_numpy(labels[idx].astype(np.int64))


def train(model, device, loader, optimizer, epoch, log_interval=50):
    """One epoch; returns the loss of every step."""
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % log_interval == 0:
            print(f"Train epoch {epoch} [{batch_idx * len(data)}]\tloss: {loss.item():.6f}")
    return losses


def test(model, device, loader):
    model.eval()
    test_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
            count += data.size(0)
    print(f"Test set: average loss {test_loss / count:.4f}, "
          f"accuracy {correct}/{count} ({100.0 * correct / count:.2f}%)")
    return test_loss / count, correct / count


def load_arrays(limit_train, limit_test):
    """MNIST as NumPy arrays (uint8 images, labels), from the copy in the repository."""
    mnist = load_mnist()
    return (mnist.train_images[:limit_train], mnist.train_labels[:limit_train],
            mnist.test_images[:limit_test], mnist.test_labels[:limit_test])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", default=FRAMEWORK, choices=["tinygrad_cnn", "torch"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--limit", type=int, default=60000, help="train on the first N images")
    parser.add_argument("--test-limit", type=int, default=10000, help="test on the first N test images")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    train_x, train_y, test_x, test_y = load_arrays(args.limit, args.test_limit)
    rng = np.random.default_rng(args.seed)

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        train(model, device, batches(train_x, train_y, args.batch_size, True, rng), optimizer, epoch)
        test(model, device, batches(test_x, test_y, 1000, False, rng))
        scheduler.step()
    print(f"{FRAMEWORK}: {time.perf_counter() - start:.1f} s")
    return model


if __name__ == "__main__":
    main()
