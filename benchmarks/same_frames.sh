#!/usr/bin/env bash
# Do two installs of vidgen give the same frames? Every job (interpolate classical and learned, deblur,
# enhance) on the sample and the shared footage clips, run by each install with the same weights, compared
# by ffmpeg's framemd5 of the decoded frames. Deblur and enhance run on 40-frame stream-copied excerpts of
# the footage (the whole 720p clip takes long on 2 cores).
#
#   bash benchmarks/same_frames.sh /tmp/venv_before/bin/python .venv/bin/python WEIGHTS_DIR [OUT_DIR]
#
# WEIGHTS_DIR holds the deblur.safetensors and enhance_x2.safetensors both runs use.
set -eu
A=$1; B=$2; W=$3; OUT=${4:-$(mktemp -d)}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FOOTAGE=${VIDGEN_FOOTAGE:-$ROOT/../shared/footage}
FF=$($B -c "from vidgen.io.ffmpeg import ffmpeg_exe; print(ffmpeg_exe())")
mkdir -p "$OUT/excerpts"
CLIPS="$ROOT/samples/bunny_320x180.mp4 $FOOTAGE/bigbuckbunny.mp4 $FOOTAGE/bikes.mp4 $FOOTAGE/carphone_pristine.mp4"
for c in $CLIPS; do
  n=$(basename "$c" .mp4); r=$c
  if [ "$n" != bunny_320x180 ]; then
    r=$OUT/excerpts/$n.mp4
    [ -f "$r" ] || $FF -v error -y -i "$c" -map 0 -c copy -frames:v 40 "$r"
  fi
  for t in a b; do
    P=$A; [ $t = b ] && P=$B
    run() { [ -f "$OUT/${t}_${n}_$1.mkv" ] || (cd /tmp && $P -m vidgen "${@:2}" -o "$OUT/${t}_${n}_$1.mkv" --codec ffv1 -q); }
    run i interpolate "$c"
    run l interpolate "$c" --model learned
    run d deblur "$r" --weights "$W/deblur.safetensors"
    run e enhance "$r" --weights "$W/enhance_x2.safetensors"
  done
done
for f in "$OUT"/a_*.mkv; do
  g=${f/\/a_/\/b_}
  x=$($FF -v error -i "$f" -map 0:v -f framemd5 - | grep -v '^#' | md5sum | cut -c1-12)
  y=$($FF -v error -i "$g" -map 0:v -f framemd5 - | grep -v '^#' | md5sum | cut -c1-12)
  echo "$(basename "$f" .mkv | cut -c3-) $x $y $([ "$x" = "$y" ] && echo SAME || echo DIFFERENT)"
done
