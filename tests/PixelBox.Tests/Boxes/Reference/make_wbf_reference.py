"""wbf_reference.json: ensemble_boxes.weighted_boxes_fusion outputs for WeightedBoxesFusionTests.

ensemble_boxes is not packaged by Debian, so this file is generated once and committed (~100 KB):
    /usr/bin/python3 make_wbf_reference.py PATH/TO/Weighted-Boxes-Fusion wbf_reference.json
with a checkout of ZFTurbo/Weighted-Boxes-Fusion (made with commit 96880f3, ensemble_boxes_wbf.py; numpy 1.24).
Boxes are normalised to [0, 1] (ensemble_boxes clips outside that; PixelBox does not) with at most 16 per
class and model, where numpy's argsort is stable (PixelBox breaks score ties the same way).
"""
import importlib.util
import json
import os
import sys

import numpy as np

# the module file alone: the package's __init__ also imports modules that need numba
_spec = importlib.util.spec_from_file_location("ensemble_boxes_wbf", os.path.join(sys.argv[1], "ensemble_boxes", "ensemble_boxes_wbf.py"))
_wbf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_wbf)
weighted_boxes_fusion = _wbf.weighted_boxes_fusion

rng = np.random.default_rng(7)


def model_boxes(objects, n, jitter):
    k = rng.integers(0, len(objects), n)
    b = objects[k] + rng.normal(0, jitter, (n, 4))
    b = np.clip(b, 0.0, 1.0)
    b = np.concatenate([np.minimum(b[:, :2], b[:, 2:]), np.maximum(b[:, :2], b[:, 2:])], 1)
    return b, np.round(rng.uniform(0.05, 1.0, n), 3), rng.integers(0, 2, n)


cases = []
for case in range(6):
    objects = rng.uniform(0.1, 0.6, (4, 2))
    objects = np.concatenate([objects, objects + rng.uniform(0.1, 0.35, (4, 2))], 1)
    models = [model_boxes(objects, int(rng.integers(3, 12)), 0.02 if case % 2 else 0.05) for _ in range(1 + case % 3)]
    if case == 4:  # an exact score tie within a class
        models[0][1][1] = models[0][1][0]
        models[0][2][1] = models[0][2][0]
    weights = [1.0] * len(models) if case < 3 else list(rng.uniform(0.5, 2.0, len(models)).round(2))
    for conf_type in ("avg", "max", "box_and_model_avg", "absent_model_aware_avg"):
        for iou_thr, skip in ((0.55, 0.0), (0.4, 0.2)):
            b, s, l = weighted_boxes_fusion([m[0] for m in models], [m[1] for m in models], [m[2] for m in models],
                                            weights=weights, iou_thr=iou_thr, skip_box_thr=skip, conf_type=conf_type)
            cases.append({"name": f"case{case}_{conf_type}_{iou_thr}_{skip}", "weights": weights, "iou_thr": iou_thr,
                          "skip_box_thr": skip, "conf_type": conf_type,
                          "models": [{"boxes": m[0].tolist(), "scores": m[1].tolist(), "labels": m[2].tolist()} for m in models],
                          "boxes": b.tolist(), "scores": s.tolist(), "labels": l.tolist()})
with open(sys.argv[2], "w") as f:
    json.dump({"producer": "ensemble_boxes.weighted_boxes_fusion (Weighted-Boxes-Fusion 96880f3)", "cases": cases}, f)
