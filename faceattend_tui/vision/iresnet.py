"""IResNet face-recognition backbones (r18 to r100) as trained by insightface's arcface_torch.

Module and parameter names follow that code, so its published state dicts load with strict=True.
Input: a batch of 112x112 RGB faces scaled to (x - 127.5) / 127.5. Output: a 512-d embedding.
"""

from __future__ import annotations

from torch import Tensor, nn

EPS = 1e-5
EMBEDDING = 512
FEATURE_SIDE = 7  # 112 / 2**4
PLANES = (64, 128, 256, 512)

# Blocks per stage for each network name.
LAYERS = {
    "r18": (2, 2, 2, 2),
    "r34": (3, 4, 6, 3),
    "r50": (3, 4, 14, 3),
    "r100": (3, 13, 30, 3),
}


def conv3x3(inputs: int, outputs: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inputs, outputs, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(inputs: int, outputs: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(inputs, outputs, kernel_size=1, stride=stride, bias=False)


class IBasicBlock(nn.Module):
    """Pre-activation style residual block: BN, conv, BN, PReLU, conv (strided), BN, plus shortcut."""

    def __init__(self, inputs: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inputs, eps=EPS)
        self.conv1 = conv3x3(inputs, planes)
        self.bn2 = nn.BatchNorm2d(planes, eps=EPS)
        self.prelu = nn.PReLU(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = nn.BatchNorm2d(planes, eps=EPS)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(x)
        out = self.conv1(out)
        out = self.bn2(out)
        out = self.prelu(out)
        out = self.conv2(out)
        out = self.bn3(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return out + shortcut


class IResNet(nn.Module):
    def __init__(self, layers: tuple[int, int, int, int], dropout: float = 0.0):
        super().__init__()
        self.conv1 = conv3x3(3, PLANES[0])
        self.bn1 = nn.BatchNorm2d(PLANES[0], eps=EPS)
        self.prelu = nn.PReLU(PLANES[0])
        self.layer1 = make_stage(PLANES[0], PLANES[0], layers[0])
        self.layer2 = make_stage(PLANES[0], PLANES[1], layers[1])
        self.layer3 = make_stage(PLANES[1], PLANES[2], layers[2])
        self.layer4 = make_stage(PLANES[2], PLANES[3], layers[3])
        self.bn2 = nn.BatchNorm2d(PLANES[3], eps=EPS)
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(PLANES[3] * FEATURE_SIDE * FEATURE_SIDE, EMBEDDING)
        self.features = nn.BatchNorm1d(EMBEDDING, eps=EPS)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward(self, x: Tensor) -> Tensor:
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.bn2(x)
        x = x.flatten(1)
        x = self.dropout(x)
        x = self.fc(x)
        return self.features(x)


def make_stage(inputs: int, planes: int, blocks: int) -> nn.Sequential:
    """One stage: a strided first block with a 1x1 shortcut, then blocks at the same width."""
    downsample = nn.Sequential(conv1x1(inputs, planes, stride=2), nn.BatchNorm2d(planes, eps=EPS))
    stage = [IBasicBlock(inputs, planes, stride=2, downsample=downsample)]
    stage += [IBasicBlock(planes, planes) for _ in range(1, blocks)]
    return nn.Sequential(*stage)


def build(network: str) -> IResNet:
    """A freshly initialised backbone; raises KeyError for an unknown name."""
    return IResNet(LAYERS[network])
