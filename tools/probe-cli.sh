#!/usr/bin/env bash
# Probes the built CLI with bad and unusual input, as a new user might type it, and checks the error contract:
# exit 2 with ONE stderr line starting "error: " (or exit 0 for the cases marked ok), never a stack trace, never a
# hang (each case has a time limit), and input files unchanged (hashed before and after).
#
#   dotnet build -c Release && tools/probe-cli.sh                  # uses src/PixelBox.Cli/bin/Release/net10.0
#   PIXELBOX="pixelbox" tools/probe-cli.sh                         # or any command line, e.g. the installed tool
#
# Prints one line per case (PASS/FAIL, exit code, the error line) and a summary; exits 1 if any case failed.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cli=${PIXELBOX:-"dotnet $repo/src/PixelBox.Cli/bin/Release/net10.0/PixelBox.Cli.dll"}
limit=${PROBE_TIMEOUT:-30}
work=$(mktemp -d /tmp/pixelbox-probe.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PIXELBOX_LOG_DIR="$work/logs"
cd "$work"

echo "probe: $cli (time limit ${limit}s per case) in $work"
$cli data shapes --out in/d --count 6 --size 40 --seed 1 >/dev/null || { echo "cannot make the dataset"; exit 1; }
$cli train seg --data in/d --model unet-same --width 16 --depth 3 --out in/run --epochs 1 --batch-size 2 --threads 1 >/dev/null \
  || { echo "cannot train the probe model"; exit 1; }
mkdir -p in/gt in/pred in/imgs in/empty
cp in/d/masks/000001.png in/gt/a.png; cp in/d/masks/000002.png in/pred/a.png
cp in/d/images/000001.png in/imgs/b.png; cp in/d/images/000002.png in/imgs/b_overlay.png
printf '{"images":[{"id":1,"width":10,"height":10}],"annotations":[{"id":1,"image_id":1,"category_id":1,"bbox":[1,1,4,4],"area":16,"iscrowd":0}],"categories":[{"id":1,"name":"a"}]}' > in/gt.json
printf '[{"image_id":1,"category_id":1,"bbox":[1,1,4,4],"score":0.9}]' > in/dt.json
printf '[{"image_id":1,"category_id":1,"bbox":[1,1,4,4],"score":0.9}][]' > in/dt-two-arrays.json
: > in/empty.bin
printf 'garbage\0\1\2' > in/garbage.bin
printf 'keep me' > in/afile
head -c 1048576 /dev/zero > in/zeros.json
mkfifo fifo
hash_inputs() { find in -type f -print0 | sort -z | xargs -0 sha256sum; }

pass=0 fail=0
# probe EXPECT ARGS...: EXPECT is "error" (exit 2, one "error: " line), "usage" (exit 2: an unknown command or option,
# answered with System.CommandLine's message and the help) or "ok" (exit 0).
probe() {
  local expect=$1; shift
  local before; before=$(hash_inputs)
  timeout --signal=KILL "$limit" $cli "$@" >"$work/out.txt" 2>"$work/err.txt" </dev/null
  local code=$? lines first verdict=PASS why=""
  lines=$(grep -c '' "$work/err.txt"); first=$(head -n 1 "$work/err.txt")
  if [[ $code == 137 ]]; then verdict=FAIL why="hang (killed after ${limit}s)"
  elif grep -qE '^\s+at |Exception:' "$work/err.txt" "$work/out.txt"; then verdict=FAIL why="stack trace"
  elif [[ $expect == error && ( $code != 2 || $lines != 1 || $first != error:* ) ]]; then verdict=FAIL why="expected exit 2 and one error line"
  elif [[ $expect == usage && $code != 2 ]]; then verdict=FAIL why="expected exit 2 and the help"
  elif [[ $expect == ok && $code != 0 ]]; then verdict=FAIL why="expected exit 0"
  elif [[ $(hash_inputs) != "$before" ]]; then verdict=FAIL why="an input file changed"
  fi
  [[ $verdict == PASS ]] && pass=$((pass + 1)) || fail=$((fail + 1))
  printf '%s exit=%-3s %s | %s %s\n' "$verdict" "$code" "$*" "${first:0:160}" "$why"
}

# Option values, every command.
for v in 0 -5 x 2147483648 1e3; do probe error models --num-classes "$v"; done
for v in -5 100000 x; do probe error train seg --data in/d --model unet-same --out o/r --crop "$v"; done
for v in -5 0 x; do probe error train seg --data in/d --model unet-same --out o/r --iterations "$v"; done
for o in --epochs --batch-size --workers --threads --warmup; do probe error train seg --data in/d --model unet-same --out o/r "$o" -1; done
for o in --lr --min-scale --max-scale --poly-power; do probe error train seg --data in/d --model unet-same --out o/r "$o" 0; done
probe error train seg --data in/d --model unet-same --out o/r --width 100000
probe error train seg --data in/d --model unet-same --out o/r --depth 20
probe error train seg --data in/d --model unet-same --out o/r --width 1024 --depth 5
probe usage train seg --data in/d --model unet-same --out o/r --num-classes 2147483647
probe usage train sge --data in/d
probe usage bogus
probe error train seg --data in/d --model unet-same --out o/r --optimizer adam
probe error train seg --data in/d --model unet-same --out o/r --schedule 7
probe error train seg --data in/d --model unet-same --out o/r --min-scale 3 --max-scale 2 --crop 32
probe error train seg --data in/d --model unet-same --out o/r --class-weights 0,0,0,0,0
probe error train seg --data in/d --model unet-same --out o/r --epochs 1
probe error train seg --data in/d --model unet --out o/r --epochs 1
probe error train seg --data in/d --model unet-same --out o/r --crop 20
probe error train seg --out in/run --resume --lr 0.1
probe error train seg --out in/run --resume --epochs 0
probe ok    train seg --out in/run --resume --threads 1
probe error eval seg --gt in/gt --pred in/pred --num-classes 5 --ignore-index 300
probe error eval seg --gt in/gt --pred in/pred --num-classes 300
probe error eval seg --gt in/gt --pred in/pred --num-classes 5 --ignore-index 2
probe error eval coco --gt in/gt.json --dt in/dt.json --max-dets 0
probe error eval coco --gt in/gt.json --dt in/dt.json --iou-type keypoints
probe error data shapes --out o/s --count x
probe error data shapes --out o/s --size 100000
probe error demo --threads 0
probe error predict seg --model in/run/best.ckpt --input in/imgs --out o/p --threads -1
# Inputs: missing, folders, FIFOs, empty, garbage, zeros, two arrays.
for f in in/missing in/empty in/empty.bin in/garbage.bin in/zeros.json fifo in/dt-two-arrays.json; do
  probe error eval coco --gt in/gt.json --dt "$f"
  probe error eval coco --gt "$f" --dt in/dt.json
done
for f in in/missing in/empty in/empty.bin in/garbage.bin fifo in/gt.json; do
  probe error predict seg --model "$f" --input in/imgs/b.png --out o/p
  probe error predict seg --model in/run/best.ckpt --input "$f" --out o/p
done
for f in in/missing in/afile in/empty fifo; do
  probe error eval seg --gt "$f" --pred in/pred --num-classes 5
  probe error train seg --data "$f" --model unet-same --out o/r
done
# Outputs: folders, under files, FIFOs, devices, inputs, each other.
for f in in in/afile/x fifo /dev/null in/gt/a.png in/pred/a.png; do
  probe error eval seg --gt in/gt --pred in/pred --num-classes 5 --json "$f"
  probe error eval seg --gt in/gt --pred in/pred --num-classes 5 --plot "$f"
done
probe error eval seg --gt in/gt --pred in/pred --num-classes 5 --json o/x --plot o/x
for f in in/gt.json in/dt.json in in/afile/x fifo /dev/null; do probe error eval coco --gt in/gt.json --dt in/dt.json --json "$f"; done
probe error eval coco --gt in/gt.json --dt in/dt.json --plots in/afile
probe error predict seg --model in/run/best.ckpt --input in/imgs --out in/imgs
probe error predict seg --model in/run/best.ckpt --input in/imgs --out o/p
probe error predict seg --model in/run/best.ckpt --input in/imgs/b.png --out in/imgs
probe error predict seg --model in/run/best.ckpt --input in/imgs/b.png --out in/afile
probe error train seg --data in/d --model unet-same --out in/d/images/run --crop 32
probe error train seg --data in/d --model unet-same --out in/afile/run --crop 32
probe error data shapes --out in/afile
probe error data shapes --out in/d
probe error demo --quick --out in/afile/demo
# Usage errors and help.
probe ok --help
probe ok train seg --help
probe ok models
if [[ -f "$work/logs/"* ]] 2>/dev/null; then echo "internal-error logs were written: $(ls "$work/logs")"; fi
echo "probe: $pass passed, $fail failed"
[[ $fail == 0 ]]
