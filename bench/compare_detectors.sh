#!/usr/bin/env bash
# Every detector trained on the same Shapes data for the same wall-clock budget, then timed per image.
#   bash bench/compare_detectors.sh [MINUTES=5] [WORK=/tmp/pixelbox-compare]
# Run it on a quiet machine: the budget is turned into a number of steps from each detector's measured time per
# step (runs of K and 2K steps on the same data, whose difference cancels start-up and validation), so that
# every detector trains for MINUTES of 2 cores with the detection demo's settings (batch 16, AdamW 0.01 cosine,
# flips, scale 0.75-1.25, colour jitter, no mosaic), validating on the 800 validation images after each epoch
# (not counted in the budget). Input side: the demo's 128 where the model takes it, else its fixed side (yolov1
# 112, ssd300 300). Latency: bench `detector` on the trained checkpoint (batch 1, 2 threads, whole predict path
# and forward alone) at the trained side and at the model's native side (yolo 640, overfeat 64, ssdlite 320);
# torchvision's SSD300 / SSDlite from bench/python/detector_latency.py in the same run.
# Phases (calibrate all, train all, time all) keep their results in WORK and are skipped when present, so an
# interrupted comparison continues where it stopped. Writes bench/results/detectors.json.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-5}
work=${2:-/tmp/pixelbox-compare}
budget=$((60 * minutes))
# name:trained input side:calibration steps K:native input side (where latency is also timed)
models=(yolo:128:40:640 overfeat:128:20:64 yolov1:112:40:112 ssdlite320-mobilenet-v3-large:128:40:320 ssd300-vgg16:300:2:300)
mkdir -p "$work"
dotnet build -c Release src/PixelBox.Cli -v q -nologo >/dev/null
dotnet build -c Release bench/PixelBox.Bench -v q -nologo >/dev/null
cli="dotnet src/PixelBox.Cli/bin/Release/net10.0/PixelBox.Cli.dll"
data="$work/shapes-128px-4000-seed2015"
[[ -f $data/instances.json ]] || $cli data shapes --out "$data" --count 4000 --size 128 --seed 2015 >/dev/null
# the calibration runs validate on 16 images only
calibration="$work/calibration-data"
if [[ ! -f $calibration/val.txt ]]; then
  mkdir -p "$calibration"
  for item in images masks instances.json classes.txt train.txt; do ln -sfn "$data/$item" "$calibration/$item"; done
  head -n 16 "$data/val.txt" > "$calibration/val.txt"
fi
common=(--format shapes --batch-size 16 --lr 0.01 --warmup 100 --mosaic 0 --close-mosaic 0 --min-scale 0.75 --max-scale 1.25 --seed 1 --threads 2)

wall_seconds() {  # wall seconds of a command, output discarded
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

for spec in "${models[@]}"; do
  IFS=: read -r model size k native <<<"$spec"
  [[ -f $work/steps-$model.txt ]] && continue
  rm -rf "$work/cal-$model-0" "$work/cal-$model-1" "$work/cal-$model-2"
  # an untimed run first: the first process to read the data pays for the page cache (seen: 20 steps timed at 13 s
  # cold and 20 more at 1 s, which made the difference meaningless)
  $cli train det --data "$calibration" --model "$model" --image-size "$size" --iterations 1 --out "$work/cal-$model-0" "${common[@]}" >/dev/null
  one=$(wall_seconds $cli train det --data "$calibration" --model "$model" --image-size "$size" --iterations "$k" --out "$work/cal-$model-1" "${common[@]}")
  two=$(wall_seconds $cli train det --data "$calibration" --model "$model" --image-size "$size" --iterations $((2 * k)) --out "$work/cal-$model-2" "${common[@]}")
  if ! python3 -c "import sys; sys.exit(0 if $two - $one > 0.1 * $one else 1)"; then
    echo "$model: $k steps took $one s and $((2 * k)) steps $two s; the difference is noise (a busy machine?), not a time per step" >&2
    exit 1
  fi
  python3 -c "t = ($two - $one) / $k; print(t, max(1, int($budget / t)), '$(cut -d' ' -f1-3 /proc/loadavg)')" > "$work/steps-$model.txt"
  echo "$model at $size: $(cat "$work/steps-$model.txt") (seconds per step, steps, load)"
done

for spec in "${models[@]}"; do
  IFS=: read -r model size k native <<<"$spec"
  [[ -f $work/run-$model.done ]] && continue
  rm -rf "$work/run-$model"
  read -r _ steps _ <"$work/steps-$model.txt"
  seconds=$(wall_seconds $cli train det --data "$data" --model "$model" --image-size "$size" --iterations "$steps" --out "$work/run-$model" "${common[@]}")
  echo "$seconds $(cut -d' ' -f1-3 /proc/loadavg)" > "$work/run-$model.done"
  echo "$model trained: $steps steps, $seconds s with validation"
done

for spec in "${models[@]}"; do
  IFS=: read -r model size k native <<<"$spec"
  [[ -f $work/latency-$model.json ]] && continue
  dotnet bench/PixelBox.Bench/bin/Release/net10.0/PixelBox.Bench.dll detector --checkpoint "$work/run-$model/last.ckpt" --model "$model" \
    --sizes "$size$([[ $native != "$size" ]] && echo ",$native")" --runs 9 --threads 2 --out "$work/latency-$model.json" >/dev/null
done
[[ -f $work/torchvision.json ]] || /usr/bin/python3 bench/python/detector_latency.py > "$work/torchvision.json" || echo null > "$work/torchvision.json"

python3 - "$work" "$minutes" "${models[@]}" <<'PY'
import json, os, sys
work, minutes = sys.argv[1], int(sys.argv[2])
rows = []
for spec in sys.argv[3:]:
    model, size, _, native = spec.split(":")
    seconds_per_step, steps, calibration_load = open(os.path.join(work, f"steps-{model}.txt")).read().split(maxsplit=2)
    run_seconds, run_load = open(os.path.join(work, f"run-{model}.done")).read().split(maxsplit=1)
    lines = [json.loads(l) for l in open(os.path.join(work, f"run-{model}", "metrics.jsonl"))]
    last = lines[-1]["metrics"]
    latency = json.load(open(os.path.join(work, f"latency-{model}.json")))
    timing = latency["results"][0]
    at_native = next(r for r in latency["results"] if r["input_size"] == int(native))
    rows.append({
        "model": model, "input_size": int(size),
        "seconds_per_step": round(float(seconds_per_step), 4), "steps": int(steps), "calibration_load": calibration_load.strip(),
        "epochs_validated": len(lines), "run_wall_seconds_with_validation": round(float(run_seconds), 1), "run_load": run_load.strip(),
        "ap": last["ap"], "ap50": last["ap50"], "ap75": last["ap75"],
        "ap_small": last["ap_small"], "ap_medium": last["ap_medium"], "ap_large": last["ap_large"],
        "latency_ms_median_wall": timing["whole_path_ms_median_wall"], "latency_ms_cpu_per_image": timing["whole_path_ms_cpu_per_image"],
        "forward_ms_median_wall": timing["forward_ms_median_wall"], "latency_load": latency["load_average"],
        "native_input_size": int(native), "native_latency_ms_median_wall": at_native["whole_path_ms_median_wall"],
        "native_forward_ms_median_wall": at_native["forward_ms_median_wall"],
    })
report = {
    "benchmark": "detectors on Shapes, same wall-clock training budget (bench/compare_detectors.sh)",
    "budget": f"{minutes} minutes of training steps on 2 cores per detector (validation not counted)",
    "data": "4,000 Shapes images 128x128 (seed 2015; 3,200 train, 800 validation), the detection demo's data",
    "results": rows,
    "torchvision_reference": json.load(open(os.path.join(work, "torchvision.json"))),
}
out = os.path.join("bench", "results", "detectors.json")
with open(out + ".tmp", "w") as f:
    f.write(json.dumps(report, indent=2) + "\n")
os.replace(out + ".tmp", out)
print(json.dumps(report, indent=2))
PY
