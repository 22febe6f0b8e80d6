"""Reference values for PixelBox.Boxes from Python torch/torchvision (Debian python3-torch 1.13, python3-torchvision 0.14).

Run by the tests (tests/PixelBox.Tests/Boxes/BoxReference.cs) into a temporary folder:
    /usr/bin/python3 make_box_references.py OUT.json
Deterministic (seeded). Sections:
  nms, batched_nms         torchvision.ops.nms / batched_nms: ties, zero-area, inverted, NaN and infinite boxes, NaN
                           scores, thresholds 0 / 1 / negative, up to 5,000 boxes (both batched_nms code paths)
  iou                      box_iou, generalized/distance/complete_box_iou (pairwise) and the three *_loss functions
                           (values for every reduction, gradients of the summed loss)
  ops                      box_convert, box_area, clip_boxes_to_image, remove_small_boxes
  coder                    BoxCoder encode_single / decode_single (weights (1,1,1,1) and SSD's (10,10,5,5), clip hit)
  anchors, default_boxes   AnchorGenerator and DefaultBoxGenerator (SSD300: 8,732 boxes; an estimated-scales config)
  matcher                  Matcher (with and without low-quality matches) and SSDMatcher on IoU matrices with ties
  hard_negatives           the hard negative mining lines of torchvision's SSD.compute_loss
  soft_nms                 a transcription of the Soft-NMS authors' cpu_soft_nms (Cython, float32) with areas
                           (x2 - x1) * (y2 - y1), in numpy float32 scalars: a port, labelled as such
  tal                      a transcription of ultralytics' TaskAlignedAssigner (topk 10, alpha 0.5, beta 6) and its
                           bbox_iou(CIoU) in torch: a port, labelled as such
"""
import json
import math
import sys

import numpy as np
import torch
import torchvision
from torchvision.ops import boxes as box_ops
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator, DefaultBoxGenerator
from torchvision.models.detection.image_list import ImageList


def f32(t):
    return t.detach().float().tolist()


def uniform_boxes(n, g, w=640.0, h=480.0, smin=4.0, smax=256.0):
    cx = torch.rand(n, generator=g, dtype=torch.float64) * w
    cy = torch.rand(n, generator=g, dtype=torch.float64) * h
    bw = torch.exp(math.log(smin) + (math.log(smax) - math.log(smin)) * torch.rand(n, generator=g, dtype=torch.float64))
    bh = torch.exp(math.log(smin) + (math.log(smax) - math.log(smin)) * torch.rand(n, generator=g, dtype=torch.float64))
    return torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1).float()


def clustered_boxes(n, g, objects=8):
    base = uniform_boxes(objects, g, smin=24, smax=200).double()
    k = torch.randint(0, objects, (n,), generator=g)
    b = base[k]
    wh = torch.cat([b[:, 2:] - b[:, :2]] * 2, 1)
    b = b + (torch.rand(n, 4, generator=g, dtype=torch.float64) - 0.5) * 0.3 * wh
    return torch.stack([torch.minimum(b[:, 0], b[:, 2]), torch.minimum(b[:, 1], b[:, 3]),
                        torch.maximum(b[:, 0], b[:, 2]), torch.maximum(b[:, 1], b[:, 3])], 1).float()


def nms_cases(g):
    cases = []

    def add(name, b, s, thr):
        cases.append({"name": name, "iou_threshold": thr, "boxes": f32(b), "scores": f32(s),
                      "keep": torchvision.ops.nms(b, s, thr).tolist()})

    for n in (10, 40, 200, 1500, 5000):
        b = clustered_boxes(n, g) if n != 5000 else uniform_boxes(n, g)
        s = torch.rand(n, generator=g)
        for thr in (0.3, 0.5, 0.7):
            add(f"random_{n}_iou{thr}", b, s, thr)
    # ties: scores from a few levels, duplicate boxes
    for n in (30, 300, 3000):
        b = clustered_boxes(n, g)
        b[::7] = b[3]
        s = torch.randint(0, 4, (n,), generator=g).float() / 4
        add(f"ties_{n}", b, s, 0.5)
    add("all_equal", torch.tensor([[0, 0, 10, 10.]] * 5 + [[1, 1, 11, 11.]] * 5), torch.full((10,), 0.5), 0.5)
    # degenerate: zero area, inverted corners, points, thresholds at the edges
    deg = torch.tensor([[10, 10, 10, 20], [10, 10, 10, 20], [0, 0, 5, 5], [0, 0, 5, 5], [5, 5, 0, 0], [5, 5, 0, 0],
                        [3, 3, 3, 3], [3, 3, 3, 3], [0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 5, 10], [2, 2, 8, 8]],
                       dtype=torch.float32)
    ds = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2])
    for thr in (0.0, 0.5, 1.0, -0.1, 0.36):
        add(f"degenerate_iou{thr}", deg, ds, thr)
    big = clustered_boxes(100, g)
    bs = torch.rand(100, generator=g)
    add("clustered_100_iou0", big, bs, 0.0)
    add("clustered_100_iou1", big, bs, 1.0)
    add("clustered_100_iou_negative", big, bs, -0.5)
    # non-finite values
    nb = clustered_boxes(60, g)
    ns = torch.rand(60, generator=g)
    nb[5, 0] = float("nan")
    nb[9, 2] = float("nan")
    nb[13] = float("nan")
    nb[17, 1] = float("inf")
    nb[21, 3] = float("-inf")
    nb[25, 0] = float("-inf")
    ns[30] = float("nan")
    ns[31] = float("nan")
    ns[40] = float("inf")
    add("non_finite_60", nb, ns, 0.5)
    return cases


def batched_cases(g):
    cases = []
    for n, ncls, kind in ((20, 2, "clustered"), (500, 5, "clustered"), (1000, 30, "uniform"),
                          (1001, 30, "uniform"), (3000, 10, "clustered"), (4000, 80, "uniform")):
        b = clustered_boxes(n, g) if kind == "clustered" else uniform_boxes(n, g)
        s = torch.rand(n, generator=g)
        idx = torch.randint(0, ncls, (n,), generator=g) * (7 if ncls == 5 else 1) - (3 if ncls == 2 else 0)
        keep = box_ops.batched_nms(b, s, idx, 0.5)
        cases.append({"name": f"{kind}_{n}_{ncls}cls", "iou_threshold": 0.5, "boxes": f32(b), "scores": f32(s),
                      "idxs": idx.tolist(), "keep": keep.tolist()})
    # negative coordinates and big class ids: the offset trick's rounding, classes that may touch
    b = uniform_boxes(300, g) - 300
    s = torch.rand(300, generator=g)
    idx = torch.randint(0, 4, (300,), generator=g) * 1000003
    cases.append({"name": "negative_coords_big_ids_300", "iou_threshold": 0.5, "boxes": f32(b), "scores": f32(s),
                  "idxs": idx.tolist(), "keep": box_ops.batched_nms(b, s, idx, 0.5).tolist()})
    # ties within classes (<= 1000 boxes: stable everywhere)
    b = clustered_boxes(400, g)
    s = torch.randint(0, 5, (400,), generator=g).float() / 5
    idx = torch.randint(0, 3, (400,), generator=g)
    cases.append({"name": "ties_400_3cls", "iou_threshold": 0.5, "boxes": f32(b), "scores": f32(s),
                  "idxs": idx.tolist(), "keep": box_ops.batched_nms(b, s, idx, 0.5).tolist()})
    return cases


def iou_cases(g):
    out = []
    for name, a, b in (("uniform", uniform_boxes(9, g), uniform_boxes(7, g)),
                       ("clustered", clustered_boxes(12, g), clustered_boxes(10, g)),
                       ("degenerate", torch.tensor([[0, 0, 10, 10], [0, 0, 0, 10], [5, 5, 15, 15], [20, 20, 30, 40.]]),
                        torch.tensor([[0, 0, 10, 10], [10, 10, 20, 20], [100, 100, 110, 120.], [2, 2, 3, 9]]))):
        out.append({"name": name, "boxes1": f32(a), "boxes2": f32(b),
                    "iou": f32(box_ops.box_iou(a, b)), "giou": f32(box_ops.generalized_box_iou(a, b)),
                    "diou": f32(box_ops.distance_box_iou(a, b)), "ciou": f32(box_ops.complete_box_iou(a, b)),
                    "diou_eps1e-3": f32(box_ops.distance_box_iou(a, b, eps=1e-3)),
                    "ciou_eps1e-3": f32(box_ops.complete_box_iou(a, b, eps=1e-3))})
    losses = []
    p = clustered_boxes(16, g)
    t = clustered_boxes(16, g)
    p[3] = t[3]  # identical pair
    p[5] = torch.tensor([900., 900., 950., 990.])  # disjoint pair
    for fn_name, fn in (("giou", torchvision.ops.generalized_box_iou_loss),
                        ("diou", torchvision.ops.distance_box_iou_loss),
                        ("ciou", torchvision.ops.complete_box_iou_loss)):
        for eps in (1e-7, 1e-2):
            rec = {"loss": fn_name, "eps": eps, "boxes1": f32(p), "boxes2": f32(t)}
            for red in ("none", "mean", "sum"):
                rec[red] = f32(fn(p, t, reduction=red, eps=eps))
            x = p.clone().requires_grad_(True)
            fn(x, t, reduction="sum", eps=eps).backward()
            rec["grad_sum"] = f32(x.grad)
            rec["mean_of_empty"] = f32(fn(torch.zeros(0, 4), torch.zeros(0, 4), reduction="mean", eps=eps))
            losses.append(rec)
    return out, losses


def ops_cases(g):
    b = uniform_boxes(20, g) - 50
    out = {"boxes": f32(b), "area": f32(box_ops.box_area(b)),
           "clip_h300_w200": f32(box_ops.clip_boxes_to_image(b, (300, 200))),
           "remove_small_30": box_ops.remove_small_boxes(b, 30.0).tolist(), "convert": {}}
    for src in ("xyxy", "xywh", "cxcywh"):
        for dst in ("xyxy", "xywh", "cxcywh"):
            out["convert"][f"{src}>{dst}"] = f32(box_ops.box_convert(b, src, dst))
    return out


def coder_cases(g):
    out = []
    for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 7.0)):
        coder = det_utils.BoxCoder(weights)
        anchors = uniform_boxes(25, g, smin=8, smax=128)
        gt = clustered_boxes(25, g)
        codes = torch.randn(25, 8, generator=g) * 2
        codes[0, 2] = 80.0  # dw beyond bbox_xform_clip
        codes[1, 7] = 120.0
        out.append({"weights": list(weights), "anchors": f32(anchors), "gt": f32(gt),
                    "encoded": f32(coder.encode_single(gt, anchors)), "codes": f32(codes),
                    "decoded": f32(coder.decode_single(codes, anchors))})
    return out


def anchor_cases():
    out = []
    for sizes, ratios, image, fmaps in ((((32, 64), (128,)), ((0.5, 1.0, 2.0), (1.0,)), (200, 300), [(25, 38), (7, 10)]),
                                        (((16,), (32,), (64,)), ((0.5, 1.0, 2.0),) * 3, (97, 131), [(13, 17), (7, 9), (4, 5)])):
        gen = AnchorGenerator(sizes, ratios)
        images = ImageList(torch.zeros(1, 3, *image), [image])
        feats = [torch.zeros(1, 8, h, w) for h, w in fmaps]
        out.append({"sizes": [list(s) for s in sizes], "aspect_ratios": [list(r) for r in ratios], "image": list(image),
                    "feature_maps": [list(f) for f in fmaps], "anchors": f32(gen(images, feats)[0])})
    return out


def default_box_cases():
    out = []
    configs = (
        ("ssd300", dict(aspect_ratios=[[2], [2, 3], [2, 3], [2, 3], [2], [2]], scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
                        steps=[8, 16, 32, 64, 100, 300]), (300, 300), [38, 19, 10, 5, 3, 1]),
        ("estimated_no_steps_no_clip", dict(aspect_ratios=[[2, 3], [2], [3]], min_ratio=0.2, max_ratio=0.95, clip=False),
         (256, 320), [(32, 40), (16, 20), (8, 10)]),
        ("steps_odd_image", dict(aspect_ratios=[[2], [2, 3]], steps=[7, 13]), (150, 110), [(22, 16), (12, 9)]),
    )
    for name, kw, image, fmaps in configs:
        fmaps = [(f, f) if isinstance(f, int) else f for f in fmaps]
        gen = DefaultBoxGenerator(**kw)
        images = ImageList(torch.zeros(1, 3, *image), [image])
        feats = [torch.zeros(1, 8, h, w) for h, w in fmaps]
        boxes = gen(images, feats)[0]
        out.append({"name": name, "config": kw, "image": list(image), "feature_maps": [list(f) for f in fmaps],
                    "scales": gen.scales, "boxes": f32(boxes), "count": int(boxes.shape[0])})
    return out


def matcher_cases(g):
    out = []
    for m, n in ((4, 30), (7, 50)):
        q = (torch.rand(m, n, generator=g) * 10).round() / 10  # ties on purpose
        q[1, 5] = q[1].max()  # a tie for the best prediction of ground truth 1
        rec = {"quality": f32(q)}
        rec["rpn"] = det_utils.Matcher(0.7, 0.3, allow_low_quality_matches=True)(q).tolist()
        rec["head"] = det_utils.Matcher(0.5, 0.5, allow_low_quality_matches=False)(q).tolist()
        rec["retina"] = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)(q).tolist()
        rec["ssd"] = det_utils.SSDMatcher(0.5)(q).tolist()
        out.append(rec)
    return out


def hard_negative_cases(g):
    out = []
    # (3 x positives stays within the negatives: beyond, torchvision's -inf positives "creep in" in unstable-sort order)
    for b, a, pos in ((2, 50, (3, 0)), (3, 200, (10, 40, 1))):
        cls_loss = torch.rand(b, a, generator=g) * 3
        fg = torch.zeros(b, a, dtype=torch.bool)
        for i, k in enumerate(pos):
            fg[i, torch.randperm(a, generator=g)[:k]] = True
        num_negative = 3 * fg.sum(1, keepdim=True)
        negative_loss = cls_loss.clone()
        negative_loss[fg] = -float("inf")
        values, idx = negative_loss.sort(1, descending=True)
        background = idx.sort(1)[1] < num_negative
        n = max(1, int(fg.sum()))
        out.append({"cls_loss": f32(cls_loss), "foreground": fg.tolist(), "background": background.tolist(),
                    "classification": (cls_loss[fg].sum() + cls_loss[background].sum()).item() / n})
    return out


def soft_nms_port(boxes, scores, method, nt, sigma, threshold):
    """cpu_soft_nms (Bodla et al.) step for step, float32, continuous areas; returns (index, score) survivors."""
    f = np.float32
    rows = [[f(v) for v in b] + [f(s), i] for i, (b, s) in enumerate(zip(boxes, scores))]
    nt, sigma, threshold = f(nt), f(sigma), f(threshold)
    n = len(rows)
    i = 0
    while i < n:
        maxpos, maxscore = i, rows[i][4]
        for pos in range(i + 1, n):
            if maxscore < rows[pos][4]:
                maxscore, maxpos = rows[pos][4], pos
        rows[i], rows[maxpos] = rows[maxpos], rows[i]
        tx1, ty1, tx2, ty2 = rows[i][:4]
        pos = i + 1
        while pos < n:
            x1, y1, x2, y2 = rows[pos][:4]
            area = (x2 - x1) * (y2 - y1)
            iw = (tx2 if tx2 <= x2 else x2) - (tx1 if tx1 >= x1 else x1)
            if iw > 0:
                ih = (ty2 if ty2 <= y2 else y2) - (ty1 if ty1 >= y1 else y1)
                if ih > 0:
                    ua = f((tx2 - tx1) * (ty2 - ty1) + area - iw * ih)
                    ov = f(iw * ih / ua)
                    if method == "linear":
                        weight = f(1) - ov if ov > nt else f(1)
                    elif method == "gaussian":
                        weight = f(np.exp(float(f(-(ov * ov)) / sigma)))
                    else:
                        weight = f(0) if ov > nt else f(1)
                    rows[pos][4] = f(weight * rows[pos][4])
                    if rows[pos][4] < threshold:
                        rows[pos] = rows[n - 1]
                        n -= 1
                        pos -= 1
            pos += 1
        i += 1
    return [[r[5], float(r[4])] for r in rows[:n]]


def soft_nms_cases(g):
    out = []
    for n, kind in ((12, "clustered"), (80, "clustered"), (150, "uniform")):
        b = clustered_boxes(n, g) if kind == "clustered" else uniform_boxes(n, g)
        s = torch.rand(n, generator=g)
        if n == 12:
            s[4] = s[2]  # a tie
        for method, nt, sigma, thr in (("linear", 0.3, 0.5, 0.001), ("gaussian", 0.3, 0.5, 0.001),
                                       ("gaussian", 0.3, 0.1, 0.05), ("hard", 0.5, 0.5, 0.001), ("linear", 0.55, 0.5, 0.2)):
            out.append({"name": f"{kind}_{n}_{method}_{nt}_{sigma}_{thr}", "method": method, "nt": nt, "sigma": sigma,
                        "threshold": thr, "boxes": f32(b), "scores": f32(s),
                        "survivors": soft_nms_port(b.tolist(), s.tolist(), method, nt, sigma, thr)})
    return out


def ultralytics_ciou(box1, box2, eps=1e-7):
    b1_x1, b1_y1, b1_x2, b1_y2 = box1.chunk(4, -1)
    b2_x1, b2_y1, b2_x2, b2_y2 = box2.chunk(4, -1)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp_(0) * (b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)).clamp_(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
    ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
    c2 = cw ** 2 + ch ** 2 + eps
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2) ** 2 + (b2_y1 + b2_y2 - b1_y1 - b1_y2) ** 2) / 4
    v = (4 / math.pi ** 2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    return iou - (rho2 / c2 + v * alpha)


def tal_port(pd_scores, pd_bboxes, anc_points, gt_labels, gt_bboxes, mask_gt, topk=10, nc=4, alpha=0.5, beta=6.0, eps=1e-9):
    """ultralytics TaskAlignedAssigner._forward, transcribed."""
    bs, n_max = pd_scores.shape[0], gt_bboxes.shape[1]
    na = pd_bboxes.shape[-2]
    lt, rb = gt_bboxes.view(-1, 1, 4).chunk(2, 2)
    deltas = torch.cat((anc_points[None] - lt, rb - anc_points[None]), dim=2).view(bs, n_max, na, -1)
    mask_in_gts = deltas.amin(3).gt_(1e-9)
    mask = (mask_in_gts * mask_gt).bool()
    overlaps = torch.zeros([bs, n_max, na], dtype=pd_bboxes.dtype)
    bbox_scores = torch.zeros([bs, n_max, na], dtype=pd_scores.dtype)
    ind = torch.zeros([2, bs, n_max], dtype=torch.long)
    ind[0] = torch.arange(end=bs).view(-1, 1).expand(-1, n_max)
    ind[1] = gt_labels.squeeze(-1)
    bbox_scores[mask] = pd_scores[ind[0], :, ind[1]][mask]
    pd_boxes = pd_bboxes.unsqueeze(1).expand(-1, n_max, -1, -1)[mask]
    gt_boxes = gt_bboxes.unsqueeze(2).expand(-1, -1, na, -1)[mask]
    overlaps[mask] = ultralytics_ciou(gt_boxes, pd_boxes).squeeze(-1).clamp_(0)
    align_metric = bbox_scores.pow(alpha) * overlaps.pow(beta)
    topk_mask = mask_gt.expand(-1, -1, topk).bool()
    topk_metrics, topk_idxs = torch.topk(align_metric, topk, dim=-1, largest=True)
    topk_idxs.masked_fill_(~topk_mask, 0)
    count = torch.zeros(align_metric.shape, dtype=torch.int8)
    ones = torch.ones_like(topk_idxs[:, :, :1], dtype=torch.int8)
    for k in range(topk):
        count.scatter_add_(-1, topk_idxs[:, :, k:k + 1], ones)
    count.masked_fill_(count > 1, 0)
    mask_pos = count.to(align_metric.dtype) * mask_in_gts * mask_gt
    fg_mask = mask_pos.sum(-2)
    if fg_mask.max() > 1:
        mask_multi = (fg_mask.unsqueeze(1) > 1).expand(-1, n_max, -1)
        max_idx = overlaps.argmax(1)
        is_max = torch.zeros(mask_pos.shape, dtype=mask_pos.dtype)
        is_max.scatter_(1, max_idx.unsqueeze(1), 1)
        mask_pos = torch.where(mask_multi, is_max, mask_pos).float()
        fg_mask = mask_pos.sum(-2)
    target_gt_idx = mask_pos.argmax(-2)
    batch_ind = torch.arange(end=bs, dtype=torch.int64)[..., None]
    flat = target_gt_idx + batch_ind * n_max
    target_labels = gt_labels.long().flatten()[flat]
    target_bboxes = gt_bboxes.view(-1, 4)[flat]
    target_labels.clamp_(0)
    target_scores = torch.zeros((bs, na, nc), dtype=torch.int64)
    target_scores.scatter_(2, target_labels.unsqueeze(-1), 1)
    target_scores = torch.where(fg_mask[:, :, None].repeat(1, 1, nc) > 0, target_scores, 0)
    align_metric *= mask_pos
    pos_align = align_metric.amax(dim=-1, keepdim=True)
    pos_overlaps = (overlaps * mask_pos).amax(dim=-1, keepdim=True)
    norm = (align_metric * pos_overlaps / (pos_align + eps)).amax(-2).unsqueeze(-1)
    return target_labels, target_bboxes, target_scores * norm, fg_mask.bool(), target_gt_idx, overlaps


def tal_cases(g):
    # a 2-level grid (strides 8, 16) on a 64x64 image, 2 images, up to 3 ground truths (one padding row)
    pts = []
    for stride, size in ((8, 8), (16, 4)):
        ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
        pts.append(torch.stack([xs, ys], -1).view(-1, 2) * stride)
    anc = torch.cat(pts)
    na = anc.shape[0]
    gt = torch.tensor([[[4, 6, 40, 30], [20, 24, 60, 62], [0, 0, 0, 0]],
                       [[10, 10, 30, 50], [33, 5, 63, 35], [2, 40, 22, 63]]], dtype=torch.float32)
    labels = torch.tensor([[[1], [3], [0]], [[0], [2], [1]]])
    mask_gt = torch.tensor([[[1.], [1.], [0.]], [[1.], [1.], [1.]]])
    scores = torch.rand(2, na, 4, generator=g) * 0.9 + 0.05
    # predicted boxes: around each point, sizes 10-40 px
    wh = torch.rand(2, na, 2, generator=g) * 30 + 10
    off = (torch.rand(2, na, 2, generator=g) - 0.5) * 6
    ctr = anc[None] + off
    pd = torch.cat([ctr - wh / 2, ctr + wh / 2], -1)
    labels_t, boxes_t, scores_t, fg, gt_idx, overlaps = tal_port(scores, pd, anc, labels, gt, mask_gt)
    return {"anchor_points": f32(anc), "pd_scores": f32(scores), "pd_bboxes": f32(pd), "gt_labels": labels.tolist(),
            "gt_bboxes": f32(gt), "mask_gt": f32(mask_gt), "target_labels": labels_t.tolist(),
            "target_bboxes": f32(boxes_t), "target_scores": f32(scores_t), "fg_mask": fg.tolist(),
            "target_gt_idx": gt_idx.tolist(), "ciou_gt0_vs_all_image0": f32(ultralytics_ciou(gt[0, :1].expand(na, 4), pd[0]).squeeze(-1))}


def main():
    g = torch.Generator().manual_seed(20261202)
    torch.manual_seed(0)
    iou, losses = iou_cases(g)
    out = {"torch": torch.__version__, "torchvision": torchvision.__version__,
           "nms": nms_cases(g), "batched_nms": batched_cases(g), "iou": iou, "losses": losses, "ops": ops_cases(g),
           "coder": coder_cases(g), "anchors": anchor_cases(), "default_boxes": default_box_cases(),
           "matcher": matcher_cases(g), "hard_negatives": hard_negative_cases(g), "soft_nms": soft_nms_cases(g),
           "tal": tal_cases(g)}
    with open(sys.argv[1], "w") as f:
        json.dump(finite_json(out), f, allow_nan=False)


def finite_json(v):
    """Non-finite floats as the strings "NaN", "Infinity", "-Infinity" (JSON has no literal for them)."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    if isinstance(v, list):
        return [finite_json(x) for x in v]
    if isinstance(v, dict):
        return {k: finite_json(x) for k, x in v.items()}
    return v


if __name__ == "__main__":
    main()
