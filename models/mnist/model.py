"""The two MNIST classifiers: ``SeedCNN`` (the seeds' network) and ``MnistCNN`` (the default)."""
from tinygrad_cnn import nn


class SeedCNN(nn.Module):
    """The seeds' network: Conv2d(1, 8, 3, bias=False) -> MaxPool2d(2) -> Flatten -> Linear(1352, 10).

    No activation between the layers, exactly as in the seeds (the softmax is applied by the loss
    and by ``predict``). 10,098 parameters.
    """

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.conv(x))))


def _conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class MnistCNN(nn.Module):
    """The default model (chosen by measured accuracy within the training-time budget, see models/README.md)::

        conv 3x3 1->C1 (pad 1) - BN - ReLU - maxpool 2        28x28 -> 14x14
        conv 3x3 C1->C2 (pad 1) - BN - ReLU - maxpool 2       14x14 -> 7x7
        conv 3x3 C2->C3 (pad 1) - BN - ReLU - maxpool 2       7x7 -> 3x3
        flatten - dropout - linear C3*3*3 -> 10

    One stage per entry of ``channels`` (each halves the side, rounding down); ``channels=(32, 64)``
    is the two-stage net shipped before. Convolutions have no bias (the BatchNorm that follows has one).
    """

    def __init__(self, channels=(32, 64, 128), dropout=0.1):
        super().__init__()
        layers, cin, side = [], 1, 28
        for cout in channels:
            layers += [*_conv_bn_relu(cin, cout), nn.MaxPool2d(2)]
            cin, side = cout, side // 2
        self.features = nn.Sequential(*layers)
        self.flatten = nn.Flatten()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(cin * side * side, 10)

    def forward(self, x):
        return self.fc(self.dropout(self.flatten(self.features(x))))


MODELS = {"cnn": MnistCNN, "seed": SeedCNN}
