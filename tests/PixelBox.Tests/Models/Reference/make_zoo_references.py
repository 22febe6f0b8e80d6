"""Reference logits of the model zoo for PixelBox's parity tests, written into a temporary folder by the tests.

Own code, in the style of shared/fixtures/torchvision/make_torch_fixtures.py (whose calibrate_bn and
write_safetensors it reuses). Run by tests/PixelBox.Tests/Models/PythonReferences.cs with Debian's
python3-torch 1.13 / python3-torchvision 0.14 (/usr/bin/python3):

    /usr/bin/python3 make_zoo_references.py --out DIR --shared SHARED --cases a,b,c [--height 181 --width 243]

For each model case: torch.manual_seed(0), build, calibrate_bn (BatchNorm weight ~U(0.75,1.25), bias ~U(-0.1,0.1),
running statistics of 2 train-mode passes over 4 random 64x64 images) so that every layer matters, then
  CASE.pth           torch.save(model.state_dict())  (zip format)
  CASE.safetensors   the same tensors (write_safetensors)
  CASE_io.safetensors  input [1,3,H,W] (torch.randn, seed 1234), out = logits at the input size, aux when present
  CASE.json          parameters, state entries, output statistics
ImageNet cases (for backbone import) write torchvision classifiers' state dicts: resnet50.pth,
mobilenet_v3_large.safetensors, vgg16_bn.safetensors (its classifier.* shrunk: they are ignored by name);
the 'checkpoints' case saves a small state dict the ways people do (plain, nested under "state_dict", with
DataParallel's "module." prefix, legacy pre-1.6 format, float16).

--image-input (for `pixelbox import` + `predict seg --save-logits`): the input is a random RGB image saved as
CASE.png (uint8, seed 1234) and normalised with ImageNet's statistics, as PixelBox normalises it.

Detection cases (ssd300-vgg16, ssdlite320-mobilenet-v3-large; torchvision num_classes = 4 + 1 background) write
CASE.pth, CASE.safetensors, CASE.png (a random RGB image of the native input size, so no resizing) and
CASE_det.json (torchvision's boxes, scores, labels for it). BatchNorm is calibrated and the head's last
convolutions re-drawn so that on this image the class logits have a standard deviation of about 1.5 and the
box codes of about 1: with torchvision's init every class scores about 1 / classes (SSDlite) or SSD300's
unnormalised VGG features saturate the softmax (the detections would be ties), and the box codes would throw
most boxes out of the image (clipped to zero area).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision
from torchvision.models import segmentation as S

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
NUM_CLASSES = 5
DETECTION_CLASSES = 4  # PixelBox's count; torchvision's num_classes adds the background
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def torchvision_case(builder, aux=False):
    return lambda: getattr(S, builder)(num_classes=NUM_CLASSES, aux_loss=aux, weights=None, weights_backbone=None)


def lraspp():
    return S.lraspp_mobilenet_v3_large(num_classes=NUM_CLASSES, weights=None, weights_backbone=None)


def model_cases(zoo):
    return {
        "fcn-resnet50": torchvision_case("fcn_resnet50"),
        "fcn-resnet101": torchvision_case("fcn_resnet101"),
        "deeplabv3-resnet50-aux": torchvision_case("deeplabv3_resnet50", aux=True),
        "deeplabv3-resnet101": torchvision_case("deeplabv3_resnet101"),
        "deeplabv3-mobilenet-v3-large": torchvision_case("deeplabv3_mobilenet_v3_large"),
        "lraspp-mobilenet-v3-large": lraspp,
        "segnet": lambda: zoo.segnet(NUM_CLASSES),
        "deeplabv3plus-resnet50": lambda: zoo.DeepLabV3Plus(NUM_CLASSES, 50, 16),
        "pspnet-resnet50-aux": lambda: zoo.PSPNet(NUM_CLASSES, 50, aux=True),
        "hrnetv2-w18": lambda: zoo.HRNetV2(18, NUM_CLASSES),
        "hrnetv2-w48": lambda: zoo.HRNetV2(48, NUM_CLASSES),
    }


def detection_cases():
    from torchvision.models import detection as D
    k = DETECTION_CLASSES + 1
    return {
        "ssd300-vgg16": (lambda: D.ssd300_vgg16(num_classes=k, weights=None, weights_backbone=None), 300),
        "ssdlite320-mobilenet-v3-large": (lambda: D.ssdlite320_mobilenet_v3_large(num_classes=k, weights=None, weights_backbone=None), 320),
    }


def random_image(height, width):
    """A random RGB image, uint8 [H, W, 3] (seed 1234)."""
    return torch.randint(0, 256, (height, width, 3), generator=torch.Generator().manual_seed(1234), dtype=torch.uint8)


def write_png(path, pixels):
    from PIL import Image
    Image.fromarray(pixels.numpy()).save(path)


def redraw_heads(model, image, seed, settings):
    """Re-draws the last convolutions of SSD heads so that their outputs have a standard deviation of about
    target_std on `image`: weights ~ N(0, target_std / sqrt(fan_in) / input rms), biases ~ N(0, bias_std).
    settings: [(head, target_std, bias_std)]; the input rms of every convolution comes from one forward pass."""
    layers = [(m[-1] if isinstance(m, nn.Sequential) else m, target, bias)
              for head, target, bias in settings for m in head.module_list]
    rms = {}
    hooks = [c.register_forward_hook(lambda mod, inp, out: rms.__setitem__(mod, float(inp[0].pow(2).mean().sqrt())))
             for c, _, _ in layers]
    with torch.no_grad():
        model([image])
    for h in hooks:
        h.remove()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for c, target, bias in layers:
            fan_in = c.weight[0].numel()
            c.weight.copy_(torch.randn(c.weight.shape, generator=g) * (target / fan_in ** 0.5 / max(rms[c], 1e-6)))
            c.bias.copy_(torch.randn(c.bias.shape, generator=g) * bias)


def write_detection_case(out_dir, name, build, size, fx):
    torch.manual_seed(0)
    model = build().eval()
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        fx.calibrate_bn(model, seed=77, batches=2, batch_size=2, size=size)
    pixels = random_image(size, size)
    write_png(os.path.join(out_dir, name + ".png"), pixels)
    image = pixels.permute(2, 0, 1).float() / 255
    redraw_heads(model, image, seed=5, settings=[(model.head.classification_head, 1.5, 1.0), (model.head.regression_head, 1.0, 0.5)])
    with torch.no_grad():
        det = model([image])[0]
    sd = model.state_dict()
    torch.save(sd, os.path.join(out_dir, name + ".pth"))
    fx.write_safetensors(os.path.join(out_dir, name + ".safetensors"), OrderedDict(sd), {"model": name})
    info = {"case": name, "torch": torch.__version__, "torchvision": torchvision.__version__, "num_classes": DETECTION_CLASSES,
            "image": [size, size], "detections": len(det["scores"]),
            "boxes": det["boxes"].tolist(), "scores": det["scores"].tolist(), "labels": det["labels"].tolist()}
    with open(os.path.join(out_dir, name + "_det.json"), "w") as f:
        json.dump(info, f)
    return {k: v for k, v in info.items() if k not in ("boxes", "scores", "labels")}


def stats(t):
    t = t.double()
    return {"absmax": float(t.abs().max()), "std": float(t.std()), "pixel_std": float(t.std(dim=(-2, -1)).mean())}


def write_model_case(out_dir, name, build, shape, fx, image_input=False):
    torch.manual_seed(0)
    model = build().eval()
    fx.calibrate_bn(model, seed=77, batches=2, batch_size=4, size=64)
    sd = model.state_dict()
    if image_input:
        pixels = random_image(shape[2], shape[3])
        write_png(os.path.join(out_dir, name + ".png"), pixels)
        mean, std = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)
        x = ((pixels.permute(2, 0, 1).float() / 255 - mean) / std).unsqueeze(0)
    else:
        x = torch.randn(*shape, generator=torch.Generator().manual_seed(1234))
    with torch.no_grad():
        y = model(x)
    io = OrderedDict(input=x)
    if isinstance(y, dict):
        io["out"] = y["out"]
        if "aux" in y:
            io["aux"] = y["aux"]
    else:
        io["out"] = y
    torch.save(sd, os.path.join(out_dir, name + ".pth"))
    fx.write_safetensors(os.path.join(out_dir, name + ".safetensors"), OrderedDict(sd), {"model": name})
    fx.write_safetensors(os.path.join(out_dir, name + "_io.safetensors"), io, {"model": name})
    info = {"case": name, "torch": torch.__version__, "torchvision": torchvision.__version__,
            "parameters": sum(p.numel() for p in model.parameters()), "state_entries": len(sd),
            "input_shape": list(x.shape), "outputs": {k: {"shape": list(v.shape), **stats(v)} for k, v in io.items() if k != "input"}}
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def write_imagenet_cases(out_dir, fx):
    torch.manual_seed(0)
    resnet = torchvision.models.resnet50(weights=None)
    torch.save(resnet.state_dict(), os.path.join(out_dir, "resnet50.pth"))
    mobilenet = torchvision.models.mobilenet_v3_large(weights=None)
    fx.write_safetensors(os.path.join(out_dir, "mobilenet_v3_large.safetensors"), OrderedDict(mobilenet.state_dict()))
    vgg = torchvision.models.vgg16_bn(weights=None)
    sd = OrderedDict((k, v) for k, v in vgg.state_dict().items() if k.startswith("features."))
    for k, v in vgg.state_dict().items():  # the 0.5 GB classifier, shrunk: ignored by name on import
        if k.startswith("classifier."):
            sd[k] = torch.zeros([2] * v.dim())
    fx.write_safetensors(os.path.join(out_dir, "vgg16_bn.safetensors"), sd)
    return {"case": "imagenet", "files": ["resnet50.pth", "mobilenet_v3_large.safetensors", "vgg16_bn.safetensors"]}


def write_checkpoint_cases(out_dir):
    """Ways people save state dicts, for the loader: a small Sequential(Conv2d(3, 4, 3), BatchNorm2d(4))."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model[1].running_mean.uniform_(-1, 1)
    model[1].num_batches_tracked.fill_(7)
    sd = model.state_dict()
    torch.save(sd, os.path.join(out_dir, "plain.pth"))
    torch.save({"state_dict": sd, "epoch": 3, "arch": "tiny"}, os.path.join(out_dir, "nested.pth"))
    torch.save(OrderedDict(("module." + k, v) for k, v in sd.items()), os.path.join(out_dir, "dataparallel.pth"))
    torch.save(sd, os.path.join(out_dir, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()), os.path.join(out_dir, "half.pth"))
    return {"case": "checkpoints", "files": ["plain.pth", "nested.pth", "dataparallel.pth", "legacy.pth", "half.pth"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--shared", default=os.environ.get("PIXELBOX_SHARED") or os.path.join(HERE, *[".."] * 5, "shared"))
    ap.add_argument("--cases", required=True, help="comma-separated case names, 'imagenet' or 'checkpoints'")
    ap.add_argument("--height", type=int, default=181)
    ap.add_argument("--width", type=int, default=243)
    ap.add_argument("--image-input", action="store_true", help="segmentation input: a random RGB image (CASE.png), ImageNet-normalised")
    args = ap.parse_args()
    os.environ["PIXELBOX_SHARED"] = os.path.abspath(args.shared)
    sys.path.insert(0, os.path.join(os.path.abspath(args.shared), "fixtures", "torchvision"))
    sys.path.insert(0, HERE)
    import make_torch_fixtures as fx  # noqa: E402
    import zoo_reference_models as zoo  # noqa: E402

    torch.set_num_threads(2)
    os.makedirs(args.out, exist_ok=True)
    cases = model_cases(zoo)
    detectors = detection_cases()
    for name in args.cases.split(","):
        if name == "imagenet":
            info = write_imagenet_cases(args.out, fx)
        elif name == "checkpoints":
            info = write_checkpoint_cases(args.out)
        elif name in cases:
            info = write_model_case(args.out, name, cases[name], (1, 3, args.height, args.width), fx, args.image_input)
        elif name in detectors:
            info = write_detection_case(args.out, name, *detectors[name], fx)
        else:
            raise SystemExit(f"unknown case {name!r} (known: imagenet, checkpoints, {', '.join(list(cases) + list(detectors))})")
        print(json.dumps(info), flush=True)


if __name__ == "__main__":
    main()
