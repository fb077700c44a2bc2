#!/bin/sh
# vm-test smoke payload (busybox sh, inside the VM): proves what later VM tests rely on.
#   storehub-version  storehub --version runs (static Swift stdlib + copied C libraries)
#   vivid-loaded      /dev/video0 is vivid
#   vivid-loopback    raw YUYV frames streamed into /dev/video1 come back on /dev/video0,
#                     byte for byte, in sequence (at least two different input frames seen)
#   uinput            /dev/uinput exists
# frames.yuyv and frames.env are generated on the host by host/prepare (host/gen_frames.py).
. ./frames.env

pass() { echo "VMTEST CASE $1 PASS"; }
fail() { name=$1; shift; echo "VMTEST CASE $name FAIL $*"; }
oneline() { tr '\n' ' ' | cut -c1-200; }

# --- storehub-version
if out=$(timeout 30 storehub --version 2>&1); then
  echo "storehub --version: $out"
  if echo "$out" | grep -Eq '[0-9]+\.[0-9]+'; then pass storehub-version; else fail storehub-version "no version in: $(echo "$out" | oneline)"; fi
else
  fail storehub-version "exit status $?: $(echo "$out" | oneline)"
fi

# --- vivid-loaded
if [ ! -c /dev/video0 ]; then
  fail vivid-loaded "no /dev/video0 ($(ls /dev | grep video | oneline))"
elif ! info=$(v4l2-ctl -d0 --info 2>&1); then
  fail vivid-loaded "v4l2-ctl -d0 --info: $(echo "$info" | oneline)"
elif ! echo "$info" | grep -q 'Driver name *: vivid'; then
  fail vivid-loaded "/dev/video0 is not vivid: $(echo "$info" | oneline)"
else
  pass vivid-loaded
fi

# --- vivid-loopback
frame_bytes=$((WIDTH * HEIGHT * 2))
row_bytes=$((WIDTH * 2))
count=5
loopback() {
  fmt="width=$WIDTH,height=$HEIGHT,pixelformat=YUYV,field=none"
  for cmd in "-d0 -i 2" "-d1 -o 0" "-d0 -s pal" "-d1 -s pal" "-d0 --set-fmt-video=$fmt" \
             "-d1 --set-fmt-video-out=$fmt" "-d0 -c loop_video=1" "-d0 -c osd_text_mode=2"; do
    # shellcheck disable=SC2086 # words
    out=$(v4l2-ctl $cmd 2>&1) || { echo "v4l2-ctl $cmd: $(echo "$out" | oneline)"; return 1; }
  done
  v4l2-ctl -d0 --get-fmt-video | grep -q "Width/Height *: $WIDTH/$HEIGHT" \
    || { echo "capture format not ${WIDTH}x$HEIGHT: $(v4l2-ctl -d0 --get-fmt-video | oneline)"; return 1; }

  echo "capture $(v4l2-ctl -d0 --get-fmt-video | grep -E 'Pixel Format|Field' | oneline)"
  echo "output  $(v4l2-ctl -d1 --get-fmt-video-out | grep -E 'Pixel Format|Field' | oneline)"
  rm -f /tmp/cap.raw
  v4l2-ctl -d1 --stream-out-mmap --stream-from=/payload/frames.yuyv --stream-loop \
    >/tmp/stream-out.log 2>&1 &
  out_pid=$!
  # Capture once the output side is streaming (v4l2-ctl prints '>' per frame it queues).
  waited=0
  until grep -q '>>' /tmp/stream-out.log 2>/dev/null; do
    if [ $waited -ge 150 ] || ! kill -0 "$out_pid" 2>/dev/null; then
      echo "output streaming did not start: $(oneline </tmp/stream-out.log)"
      kill "$out_pid" 2>/dev/null
      return 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  timeout 30 v4l2-ctl -d0 --stream-mmap --stream-count=$count --stream-to=/tmp/cap.raw \
    >/tmp/stream-cap.log 2>&1
  cap_status=$?
  kill "$out_pid" 2>/dev/null
  wait "$out_pid" 2>/dev/null
  [ $cap_status -eq 0 ] || { echo "capture failed ($cap_status): $(oneline </tmp/stream-cap.log)"; return 1; }
  size=$(wc -c </tmp/cap.raw)
  [ "$size" -eq $((frame_bytes * count)) ] || { echo "captured $size bytes, want $((frame_bytes * count))"; return 1; }

  # Per captured frame: luma means in the marks gen_frames.py drew, and the chroma deviation.
  counters=""
  bad=""
  i=0
  while [ $i -lt $count ]; do
    stats=$( {
        dd if=/tmp/cap.raw bs=$row_bytes skip=$((i * HEIGHT + ROW_A)) count=1 2>/dev/null
        dd if=/tmp/cap.raw bs=$row_bytes skip=$((i * HEIGHT + ROW_B)) count=1 2>/dev/null
      } | od -An -tu1 -v | awk -v rb=$row_bytes -v l0="$LEVEL0" -v ls="$LEVEL_STEP" -v nf="$FRAMES" \
        -v mid_want="$EXPECT_MID" -v right_want="$EXPECT_RIGHT" -v white_want="$EXPECT_WHITE" \
        -v block_x="$BLOCK_X" -v mid_x="$MID_X" -v white_x="$WHITE_X" -v right_x="$RIGHT_X" '
        function abs(v) { return v < 0 ? -v : v }
        function ymean(row, x0, x1,   s, x) { s = 0; for (x = x0; x < x1; x++) s += b[row * rb + 2 * x]; return s / (x1 - x0) }
        { for (i = 1; i <= NF; i++) b[n++] = $i }
        END {
          if (n != 2 * rb) { printf "BAD read %d bytes\n", n; exit }
          cdev = 0
          for (i = 1; i < n; i += 2) if (abs(b[i] - 128) > cdev) cdev = abs(b[i] - 128)
          split(block_x, bx, " "); split(mid_x, mx, " "); split(white_x, wx, " "); split(right_x, rx, " ")
          blk = ymean(0, bx[1], bx[2]); mid = ymean(0, mx[1], mx[2])
          white = ymean(1, wx[1], wx[2]); right = ymean(1, rx[1], rx[2])
          k = int((blk - l0) / ls + 0.5)
          ok = k >= 0 && k < nf && abs(blk - (l0 + k * ls)) <= 8 && abs(mid - mid_want) <= 8 \
            && abs(white - white_want) <= 8 && abs(right - right_want) <= 8 && cdev <= 8
          printf "%s %d block=%.1f mid=%.1f white=%.1f right=%.1f chroma-dev=%d\n", ok ? "OK" : "BAD", k, blk, mid, white, right, cdev
        }')
    echo "captured frame $i: $stats"
    case "$stats" in
      OK*) k=${stats#OK }; counters="$counters ${k%% *}" ;;
      *) bad="$bad frame$i[$stats]" ;;
    esac
    i=$((i + 1))
  done
  [ -z "$bad" ] || { echo "frames unlike the input:$bad"; return 1; }
  distinct=$(for k in $counters; do echo "$k"; done | sort -u | wc -l)
  [ "$distinct" -ge 2 ] || { echo "all $count frames show the same input frame (no motion)"; return 1; }
  # The loop is a plain copy: each captured frame equals the input frame its counter names.
  i=0
  for k in $counters; do
    dd if=/payload/frames.yuyv bs=$frame_bytes skip=$k count=1 of=/tmp/want.raw 2>/dev/null
    dd if=/tmp/cap.raw bs=$frame_bytes skip=$i count=1 of=/tmp/got.raw 2>/dev/null
    differ=$(cmp -l /tmp/want.raw /tmp/got.raw 2>/dev/null | wc -l)
    [ "$differ" -eq 0 ] || { echo "captured frame $i differs from input frame $k in $differ bytes"; return 1; }
    i=$((i + 1))
  done
  echo "all $count captured frames equal their input frames byte for byte"
  return 0
}
if msg=$(loopback); then
  echo "$msg"
  pass vivid-loopback
else
  echo "$msg"
  fail vivid-loopback "$(echo "$msg" | tail -n1)"
fi

# --- uinput
if [ -c /dev/uinput ]; then pass uinput; else fail uinput "no /dev/uinput"; fi
