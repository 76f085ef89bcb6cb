#!/usr/bin/env bash
# Continues (or starts) the embedded model's CPU training run for a time budget, at low
# priority. Installs what it needs, makes the data when it is missing (out/train-data), and
# resumes from tools/train/runs/RUN/state.pt. Commit runs/RUN/{state.pt,log.csv,...} after.
# A run folder may hold train.args: that run's schedule and crop arguments (one line), in place
# of the first phase's; and data.args: its data folder, then make_data.py's arguments (one
# line, e.g. "out/train-data-v2 --sources v2 --sequences 1400"), in place of out/train-data.
#   tools/train/continue.sh [HOURS] [RUN]
set -euo pipefail
cd "$(dirname "$0")/../.."
HOURS=${1:-2.5}
RUN=${2:-compact48}
DIR=tools/train/runs/$RUN
DATA=out/train-data
MAKE_DATA=(--sequences 1000)
if [ -f "$DIR/data.args" ]; then read -r DATA MAKE_REST < "$DIR/data.args"; read -r -a MAKE_DATA <<< "$MAKE_REST"; fi
PACKAGES=(plasma-workspace-wallpapers gnome-backgrounds)
case " ${MAKE_DATA[*]} " in *" v2 "*) PACKAGES+=(lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds ukui-wallpapers) ;; esac
tools/setup
python3 -c 'import torch' 2>/dev/null || python3 -m pip install -q "torch==2.13.0+cpu" \
  || python3 -m pip install -q --break-system-packages "torch==2.13.0+cpu"
if [ ! -f "$DATA/sim/.complete" ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  swift build -c release --product spkdeblur
  nice -n 19 python3 tools/train/make_data.py --bin "$(swift build -c release --show-bin-path)/spkdeblur" \
    --out "$DATA" "${MAKE_DATA[@]}"
  touch "$DATA/sim/.complete"
fi
SCHEDULE=(--steps 60000 --batch 8 --crop 128 --lr 4e-4 --lr-min 1e-6)
if [ -f "$DIR/train.args" ]; then read -r -a SCHEDULE < "$DIR/train.args"; fi
# bf16 autocast only where the CPU has bf16 dot products (AVX-512 BF16 or AMX); elsewhere
# PyTorch emulates it, several times slower than fp32.
PRECISION=()
if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then PRECISION=(--bf16); fi
exec nice -n 19 python3 tools/train/train.py --data "$DATA/sim" --eval-data "$DATA/heldout" \
  --config "$DIR/model.json" --state "$DIR" --resume --hours "$HOURS" \
  "${SCHEDULE[@]}" "${PRECISION[@]}" --compile --threads 2 --workers 0 \
  --eval-count 24 --eval-every 1000 --log-every 50 --save-minutes 10 \
  --out "out/$RUN.pth" --export-safetensors "$DIR/weights.safetensors"
