"""The networks of bench_models.py, written once for both frameworks (tinygrad_cnn.nn and torch.nn share
the layer names), and the multiply-add count of a forward pass.

``nn`` is the layer namespace of either framework: ``build_model(tinygrad_cnn.nn, "resnet18")`` and
``build_model(torch.nn, "resnet18")`` give the same architecture with the same state_dict keys and shapes.
The large models follow torchvision's layouts (and its state_dict names), with each framework's default
layer initialisation (torchvision re-initialises convs and BN afterwards; that is left out).
"""
import functools

SMALL = ("seed", "mid", "lenet")  # 1x28x28 inputs, 10 classes
LARGE = ("resnet18", "mobilenetv2")  # 3x224x224 inputs, 1000 classes
BUILD_ONLY = ("vgg11_bn",)  # only in the --build measurement
MODELS = SMALL + LARGE
ALL = MODELS + BUILD_ONLY


def layers(nn, name):
    """The small reference architectures (an nn.Sequential of these layers)."""
    if name == "seed":
        return [nn.Conv2d(1, 8, 3, bias=False), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1352, 10)]
    if name == "mid":
        return [nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(1568, 128), nn.ReLU(), nn.Linear(128, 10)]
    if name == "lenet":
        return [nn.Conv2d(1, 32, 5), nn.ReLU(), nn.Conv2d(32, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(), nn.Linear(576, 10)]
    raise ValueError(name)


def input_shape(name):
    """(channels, height, width) of one input image, and the number of classes."""
    return ((1, 28, 28), 10) if name in SMALL else ((3, 224, 224), 1000)


def build_model(nn, name):
    """A freshly initialised model of either framework."""
    if name in SMALL:
        return nn.Sequential(*layers(nn, name))
    classes = _classes(nn)
    if name not in classes:
        raise ValueError(name)
    return classes[name]()


def conv_bn(nn, cin, cout, kernel, stride=1, groups=1):
    """torchvision's Conv2dNormActivation: conv (no bias), BatchNorm2d, ReLU6."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


def _classes(nn):
    """The model classes of framework ``nn``: Module subclasses made once per framework by the factories below
    (their base class is that framework's nn.Module, the rest of the code is shared)."""
    return {"resnet18": _resnet_classes(nn)[1], "mobilenetv2": _mobilenet_classes(nn)[1], "vgg11_bn": _vgg_class(nn)}


@functools.cache
def _resnet_classes(nn):

    class BasicBlock(nn.Module):
        """ResNet's two 3x3 convs with an identity (or 1x1 conv + BN) shortcut."""

        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class ResNet18(nn.Module):
        """torchvision.models.resnet18: 7x7/2 stem, max pool, BasicBlocks 64-128-256-512 (2 each), 1000 classes."""

        def __init__(self, num_classes=1000):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, cout in enumerate((64, 128, 256, 512)):
                stride = 1 if i == 0 else 2
                setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
                cin = cout
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.flatten(self.avgpool(x)))

    return BasicBlock, ResNet18


@functools.cache
def _mobilenet_classes(nn):
    class InvertedResidual(nn.Module):
        """MobileNetV2's block: 1x1 expansion (if t > 1), depthwise 3x3, 1x1 linear projection; residual add
        when the stride is 1 and the channels stay."""

        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = round(cin * expand)
            self.use_res_connect = stride == 1 and cin == cout
            mods = [conv_bn(nn, cin, hidden, 1)] if expand != 1 else []
            mods += [conv_bn(nn, hidden, hidden, 3, stride, groups=hidden),  # depthwise
                     nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]  # linear bottleneck: no ReLU6
            self.conv = nn.Sequential(*mods)

        def forward(self, x):
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    class MobileNetV2(nn.Module):
        """torchvision.models.mobilenet_v2 (width 1.0): 32-channel stem, 17 inverted residuals, 1280-channel head,
        dropout 0.2 and a 1000-class linear layer."""

        settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                    (6, 320, 1, 1))  # expansion t, channels c, repeats n, first stride s

        def __init__(self, num_classes=1000):
            super().__init__()
            mods, cin = [conv_bn(nn, 3, 32, 3, 2)], 32
            for t, c, n, s in self.settings:
                for i in range(n):
                    mods.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                    cin = c
            mods.append(conv_bn(nn, cin, 1280, 1))
            self.features = nn.Sequential(*mods)
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.flatten = nn.Flatten()
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x):
            return self.classifier(self.flatten(self.pool(self.features(x))))

    return InvertedResidual, MobileNetV2


@functools.cache
def _vgg_class(nn):
    class VGG11BN(nn.Module):
        """torchvision.models.vgg11_bn: 3x3 convs (with bias) + BN + ReLU, max pools, 7x7 average pool, three
        linear layers (25088 -> 4096 -> 4096 -> 1000) with ReLU and dropout 0.5."""

        cfg = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")

        def __init__(self, num_classes=1000):
            super().__init__()
            feats, cin = [], 3
            for v in self.cfg:
                if v == "M":
                    feats.append(nn.MaxPool2d(2, 2))
                else:
                    feats += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                    cin = v
            self.features = nn.Sequential(*feats)
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.flatten = nn.Flatten()
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(0.5),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(4096, num_classes))

        def forward(self, x):
            return self.classifier(self.flatten(self.avgpool(self.features(x))))

    return VGG11BN


def num_params(model):
    return sum(p.numel() for p in model.parameters())


def forward_census(model, x, conv_type, linear_type):
    """One forward of ``model`` on ``x`` with hooks: the multiply-adds x 2 of its convs and linear layers,
    those of the first of them (whose input gradient a training step does not need), and the bytes of every
    leaf module's output (what a training step holds at least, besides the parameters and their grads)."""
    flops, first, act_bytes, handles = [0], [], [0], []

    def hook(module, args, out):
        if isinstance(module, conv_type):
            kh, kw = module.kernel_size
            f = 2 * out.numel() * (module.in_channels // module.groups) * kh * kw
        elif isinstance(module, linear_type):
            f = 2 * out.numel() * module.in_features
        else:
            f = None
        if f is not None:
            flops[0] += f
            if not first:
                first.append(f)
        act_bytes[0] += out.numel() * 4  # float32

    for m in model.modules():
        if not list(m.children()):
            handles.append(m.register_forward_hook(hook))
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    fwd = flops[0]
    return {"forward_flops": fwd, "train_flops": 3 * fwd - (first[0] if first else 0), "activation_bytes": act_bytes[0]}
