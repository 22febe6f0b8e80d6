"""PyTorch reference definitions of the zoo models that torchvision does not have, for PixelBox's parity tests.

Own code. Runs with Debian's python3-torch 1.13 / python3-torchvision 0.14 and newer. Module and parameter
names are the ones PixelBox's C# models use (see each class); PixelBox must reproduce these models' logits
from their state dicts (tests/PixelBox.Tests/Models/ZooParityTests.cs).

* SegNet: the shared ref_models.SegNet (Caffe segnet layout), re-exported.
* DeepLabV3+ (Chen et al., ECCV 2018) on a torchvision ResNet: names of VainF/DeepLabV3Plus-Pytorch
  (classifier.project / .aspp / .classifier), with the paper's two 3x3 decoder convolutions.
* PSPNet (Zhao et al., CVPR 2017): torchvision ResNet (dilated, output stride 8) + hszhao/semseg's PPM, cls, aux.
* HRNetV2 (Wang et al., TPAMI 2020): the layout and names of the official HRNet-Semantic-Segmentation
  seg_hrnet.py (MODEL.ALIGN_CORNERS = True, its default configuration), W18 and W48.
Every model's forward returns the logits at the input size.
"""
from __future__ import annotations

import os
import sys
from collections import OrderedDict
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import resnet50, resnet101
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.resnet import BasicBlock, Bottleneck
from torchvision.models.segmentation.deeplabv3 import ASPP


def _shared_ref_models():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get("PIXELBOX_SHARED") or os.path.join(here, *[".."] * 5, "shared")
    sys.path.insert(0, os.path.join(os.path.abspath(shared), "fixtures", "torchvision"))
    import ref_models  # noqa: E402
    return ref_models


def segnet(num_classes: int = 21) -> nn.Module:
    return _shared_ref_models().SegNet(num_classes)


def _resnet(depth: int, output_stride: int, return_layers: dict) -> nn.Module:
    dilation = {8: [False, True, True], 16: [False, False, True]}[output_stride]
    builder = resnet50 if depth == 50 else resnet101
    return IntermediateLayerGetter(builder(weights=None, replace_stride_with_dilation=dilation), return_layers=return_layers)


# ------------------------------------------------------------------ DeepLabV3+


class DeepLabV3PlusHead(nn.Module):
    def __init__(self, in_channels: int, low_channels: int, num_classes: int, rates: Sequence[int]):
        super().__init__()
        self.project = nn.Sequential(nn.Conv2d(low_channels, 48, 1, bias=False), nn.BatchNorm2d(48), nn.ReLU(inplace=True))
        self.aspp = ASPP(in_channels, list(rates), 256)
        self.aspp.project[3].p = 0.1
        self.classifier = nn.Sequential(
            nn.Conv2d(304, 256, 3, padding=1, bias=False), nn.BatchNorm2d(256), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1, bias=False), nn.BatchNorm2d(256), nn.ReLU(inplace=True),
            nn.Conv2d(256, num_classes, 1))

    def forward(self, features):
        low = self.project(features["low_level"])
        high = self.aspp(features["out"])
        high = F.interpolate(high, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.classifier(torch.cat([low, high], dim=1))


class DeepLabV3Plus(nn.Module):
    def __init__(self, num_classes: int = 21, depth: int = 50, output_stride: int = 16):
        super().__init__()
        self.backbone = _resnet(depth, output_stride, {"layer1": "low_level", "layer4": "out"})
        rates = [6, 12, 18] if output_stride == 16 else [12, 24, 36]
        self.classifier = DeepLabV3PlusHead(2048, 256, num_classes, rates)

    def forward(self, x):
        y = self.classifier(self.backbone(x))
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)


# ------------------------------------------------------------------ PSPNet


class PPM(nn.Module):
    def __init__(self, in_dim: int, reduction_dim: int, bins: Sequence[int]):
        super().__init__()
        self.features = nn.ModuleList([
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(in_dim, reduction_dim, 1, bias=False),
                          nn.BatchNorm2d(reduction_dim), nn.ReLU(inplace=True))
            for b in bins])

    def forward(self, x):
        out = [x]
        for f in self.features:
            out.append(F.interpolate(f(x), x.shape[-2:], mode="bilinear", align_corners=True))
        return torch.cat(out, 1)


def _psp_classifier(in_dim: int, mid: int, num_classes: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_dim, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                         nn.Dropout2d(p=dropout), nn.Conv2d(mid, num_classes, 1))


class PSPNet(nn.Module):
    def __init__(self, num_classes: int = 21, depth: int = 50, aux: bool = False, bins=(1, 2, 3, 6), dropout: float = 0.1):
        super().__init__()
        returns = {"layer3": "aux", "layer4": "out"} if aux else {"layer4": "out"}
        self.backbone = _resnet(depth, 8, returns)
        self.ppm = PPM(2048, 2048 // len(bins), bins)
        self.cls = _psp_classifier(4096, 512, num_classes, dropout)
        self.aux = _psp_classifier(1024, 256, num_classes, dropout) if aux else None

    def forward(self, x):
        features = self.backbone(x)
        y = self.cls(self.ppm(features["out"]))
        out = OrderedDict(out=F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=True))
        if self.aux is not None:
            out["aux"] = F.interpolate(self.aux(features["aux"]), size=x.shape[-2:], mode="bilinear", align_corners=True)
        return out


# ------------------------------------------------------------------ HRNetV2

ALIGN_CORNERS = True


class HighResolutionModule(nn.Module):
    def __init__(self, in_channels: List[int], blocks: List[int], channels: List[int]):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList()
        for b in range(n):
            down = None
            if in_channels[b] != channels[b]:
                down = nn.Sequential(nn.Conv2d(in_channels[b], channels[b], 1, bias=False), nn.BatchNorm2d(channels[b]))
            layers = [BasicBlock(in_channels[b], channels[b], 1, down)]
            layers += [BasicBlock(channels[b], channels[b]) for _ in range(1, blocks[b])]
            self.branches.append(nn.Sequential(*layers))
        self.fuse_layers = nn.ModuleList()
        for i in range(n):
            row: List[Optional[nn.Module]] = []
            for j in range(n):
                if j > i:
                    row.append(nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, bias=False), nn.BatchNorm2d(channels[i])))
                elif j == i:
                    row.append(None)
                else:
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out = channels[i] if last else channels[j]
                        step = [nn.Conv2d(channels[j], out, 3, 2, 1, bias=False), nn.BatchNorm2d(out)]
                        if not last:
                            step.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*step))
                    row.append(nn.Sequential(*steps))
            self.fuse_layers.append(nn.ModuleList(row))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        x = [branch(t) for branch, t in zip(self.branches, x)]
        fused = []
        for i in range(len(self.fuse_layers)):
            y = x[0] if i == 0 else self.fuse_layers[i][0](x[0])
            for j in range(1, len(x)):
                if i == j:
                    y = y + x[j]
                elif j > i:
                    y = y + F.interpolate(self.fuse_layers[i][j](x[j]), size=x[i].shape[-2:], mode="bilinear",
                                          align_corners=ALIGN_CORNERS)
                else:
                    y = y + self.fuse_layers[i][j](x[j])
            fused.append(self.relu(y))
        return fused


def _conv_bn_relu(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def _transition(previous: List[int], current: List[int]) -> nn.ModuleList:
    layers: List[Optional[nn.Module]] = []
    for i, c in enumerate(current):
        if i < len(previous):
            layers.append(_conv_bn_relu(previous[i], c, 1) if c != previous[i] else None)
        else:
            layers.append(nn.Sequential(*[
                _conv_bn_relu(previous[-1], c if j == i - len(previous) else previous[-1], 2)
                for j in range(i + 1 - len(previous))]))
    return nn.ModuleList(layers)


class HRNetV2(nn.Module):
    def __init__(self, width: int = 18, num_classes: int = 19):
        super().__init__()
        c = width
        stages = [(1, [4, 4], [c, 2 * c]), (4, [4, 4, 4], [c, 2 * c, 4 * c]), (3, [4, 4, 4, 4], [c, 2 * c, 4 * c, 8 * c])]
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        down = nn.Sequential(nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256))
        self.layer1 = nn.Sequential(Bottleneck(64, 64, 1, down), *[Bottleneck(256, 64) for _ in range(3)])
        previous = [256]
        for s, (modules, blocks, channels) in enumerate(stages, start=2):
            setattr(self, f"transition{s - 1}", _transition(previous, channels))
            setattr(self, f"stage{s}", nn.Sequential(*[HighResolutionModule(channels, blocks, channels) for _ in range(modules)]))
            previous = channels
        total = sum(previous)
        self.last_layer = nn.Sequential(nn.Conv2d(total, total, 1), nn.BatchNorm2d(total), nn.ReLU(inplace=True),
                                        nn.Conv2d(total, num_classes, 1))

    @staticmethod
    def _enter(transition: nn.ModuleList, streams):
        out = []
        for i, layer in enumerate(transition):
            source = streams[i] if i < len(streams) else streams[-1]
            out.append(layer(source) if layer is not None else source)
        return out

    def forward(self, x):
        size = x.shape[-2:]
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.bn2(self.conv2(h)))
        h = self.layer1(h)
        streams = self.stage2(self._enter(self.transition1, [h]))
        streams = self.stage3(self._enter(self.transition2, streams))
        streams = self.stage4(self._enter(self.transition3, streams))
        h0 = streams[0]
        up = [h0] + [F.interpolate(s, size=h0.shape[-2:], mode="bilinear", align_corners=ALIGN_CORNERS) for s in streams[1:]]
        y = self.last_layer(torch.cat(up, 1))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=ALIGN_CORNERS)


if __name__ == "__main__":
    def count(m):
        return sum(p.numel() for p in m.parameters())
    for name, ctor in [("segnet c21", lambda: segnet(21)), ("deeplabv3plus-resnet50 c21", lambda: DeepLabV3Plus(21, 50)),
                       ("deeplabv3plus-resnet101 c21", lambda: DeepLabV3Plus(21, 101)),
                       ("pspnet-resnet50 c21", lambda: PSPNet(21, 50)), ("pspnet-resnet50 c21 aux", lambda: PSPNet(21, 50, aux=True)),
                       ("pspnet-resnet101 c21", lambda: PSPNet(21, 101)),
                       ("hrnetv2-w18 c19", lambda: HRNetV2(18, 19)), ("hrnetv2-w48 c19", lambda: HRNetV2(48, 19)),
                       ("hrnetv2-w18 c21", lambda: HRNetV2(18, 21)), ("hrnetv2-w48 c21", lambda: HRNetV2(48, 21))]:
        print(name, count(ctor()))
