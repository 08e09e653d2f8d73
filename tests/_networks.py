"""Whole CNNs written once as functions of a framework's ``nn`` (and its top-level module ``lib`` for
``flatten`` / ``cat``): ``build(tinygrad_cnn.nn, tinygrad_cnn)`` and ``build(torch.nn, torch)`` give the
same architecture. Used by tests/test_torch_networks.py and tests/test_onnx*.py; imports no framework.

``NETWORKS``: name -> (build, input size) for (N, 3, size, size) inputs.
"""


def resnet(nn, lib):
    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class ResNet(nn.Module):
        def __init__(self, widths=(8, 16, 32, 64), num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            layers, cin = [], widths[0]
            for i, w in enumerate(widths):
                layers.append(nn.Sequential(BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
                cin = w
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(widths[-1], num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(lib.flatten(self.avgpool(x), 1))

    return ResNet()


def mobilenet(nn, lib):
    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = cin * expand
            self.use_res = stride == 1 and cin == cout
            self.conv = nn.Sequential(
                nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
            )

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        def __init__(self):
            super().__init__()
            blocks = [nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True))]
            for cin, cout, stride in [(8, 8, 1), (8, 12, 2), (12, 12, 1), (12, 16, 2)]:
                blocks.append(InvertedResidual(cin, cout, stride, expand=4))
            self.features = nn.Sequential(*blocks)
            self.classifier = nn.Sequential(nn.Dropout(0.0), nn.Linear(16, 10))

        def forward(self, x):
            x = self.features(x)
            return self.classifier(x.mean([2, 3]))

    return MobileNetV2()


def vgg(nn, lib):
    class VGG(nn.Module):
        def __init__(self, cfg=(8, "M", 16, "M", 32, 32, "M")):
            super().__init__()
            layers, cin = [], 3
            for v in cfg:
                if v == "M":
                    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                else:
                    layers += [nn.Conv2d(cin, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                    cin = v
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Linear(32 * 4 * 4, 64), nn.ReLU(True), nn.Dropout(p=0.0),
                                            nn.Linear(64, 10))

        def forward(self, x):
            return self.classifier(lib.flatten(self.features(x), 1))

    return VGG()


def squeezenet(nn, lib):
    class Fire(nn.Module):
        def __init__(self, cin, squeeze, e1, e3):
            super().__init__()
            self.squeeze = nn.Conv2d(cin, squeeze, kernel_size=1)
            self.squeeze_activation = nn.ReLU(inplace=True)
            self.expand1x1 = nn.Conv2d(squeeze, e1, kernel_size=1)
            self.expand3x3 = nn.Conv2d(squeeze, e3, kernel_size=3, padding=1)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            x = self.squeeze_activation(self.squeeze(x))
            return lib.cat([self.act(self.expand1x1(x)), self.act(self.expand3x3(x))], 1)

    class SqueezeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, kernel_size=3, stride=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(16, 4, 8, 8), Fire(16, 4, 8, 8),
                nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
                Fire(16, 8, 16, 16),
            )
            self.classifier = nn.Sequential(nn.Dropout(p=0.0), nn.Conv2d(32, 10, kernel_size=1), nn.ReLU(inplace=True),
                                            nn.AdaptiveAvgPool2d((1, 1)))

        def forward(self, x):
            return lib.flatten(self.classifier(self.features(x)), 1)

    return SqueezeNet()


def unet(nn, lib):
    def double_conv(cin, cout):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc = double_conv(3, 8)
            self.down1 = nn.Sequential(nn.MaxPool2d(2), double_conv(8, 16))
            self.down2 = nn.Sequential(nn.MaxPool2d(2), double_conv(16, 32))
            self.up1 = nn.ConvTranspose2d(32, 16, kernel_size=2, stride=2)
            self.conv1 = double_conv(32, 16)
            self.up2 = nn.ConvTranspose2d(16, 8, kernel_size=2, stride=2)
            self.conv2 = double_conv(16, 8)
            self.outc = nn.Conv2d(8, 10, kernel_size=1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            x3 = self.down2(x2)
            y = self.conv1(lib.cat([x2, self.up1(x3)], dim=1))
            y = self.conv2(lib.cat([x1, self.up2(y)], dim=1))
            return self.outc(y).mean(dim=(2, 3))  # per-image class scores, for a classification loss

    return UNet()


NETWORKS = {"resnet": (resnet, 32), "mobilenet": (mobilenet, 32), "vgg": (vgg, 32), "squeezenet": (squeezenet, 33),
            "unet": (unet, 16)}
