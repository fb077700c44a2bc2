#!/bin/sh
# Camera benchmark inside the VM (busybox sh); figures on lines that start with BENCH.
#   capture-GREY, capture-YUYV  `storehub bench-capture`: CPU and copies per frame, and the age of a frame when
#                               the pipeline gets it; beside it `v4l2-ctl --stream-mmap` over the same frames,
#                               the kernel tools' own capture loop, as the baseline
#   bus-latency                 a hub decoding vivid's loopback with no duplicate window, and `storehub tail`
#                               on its bus: V4L2 buffer timestamp (frameTime) to the event's arrival, p50/p99
#                               over 100 scans (the motion gate decodes only frames that changed: each test
#                               picture is held for 6 frames)
#   decode-GREY                 the same capture with zbar decoding each frame: decode time per frame under
#                               emulation, the bulk of the bus latency here
# Cases pass when their figures were measured; the figures themselves are not judged here.
# vivid stamps a buffer with the nominal end of its frame period by default, which lies a period after the
# buffer is handed out; the benchmark switches it to start of exposure so that buffer ages mean something.
. /payload/camera-lib.sh
FRAMES=250
soe() { v4l2-ctl -d0 -c timestamp_source=1 >/dev/null 2>&1 || echo "cannot set vivid's timestamp source"; }


for format in GREY YUYV; do
  lower=$(echo $format | tr A-Z a-z)
  if setup_capture $format && setup_output $format $lower && soe; then
    if timeout 120 storehub bench-capture --path /dev/video0 --width 720 --height 576 --format $format \
      --frames $FRAMES >/tmp/capture.json 2>/tmp/capture.err; then
      echo "BENCH capture $(cat /tmp/capture.json)"
      time -p timeout 120 v4l2-ctl -d0 --stream-mmap --stream-count=$FRAMES >/dev/null 2>/tmp/v4l2ctl.time
      cpu=$(awk '/^(user|sys) / { t += $2 } END { print t }' /tmp/v4l2ctl.time)
      echo "BENCH baseline v4l2-ctl $format frames=$FRAMES cpuMicrosecondsPerFrame=$(awk -v c="$cpu" -v n=$FRAMES 'BEGIN { printf "%d", c * 1e6 / n }')"
      pass capture-$format
    else
      fail capture-$format "$(oneline </tmp/capture.err)"
    fi
    kill "$OUT_PID" 2>/dev/null; wait "$OUT_PID" 2>/dev/null
  else
    fail capture-$format "set-up failed"
  fi
done

if setup_capture GREY && setup_output GREY grey && soe; then
  if timeout 300 storehub bench-capture --path /dev/video0 --width 720 --height 576 --format GREY --decode \
    --frames 100 >/tmp/decode.json 2>/tmp/decode.err; then
    echo "BENCH decode $(cat /tmp/decode.json)"
    pass decode-GREY
  else
    fail decode-GREY "$(oneline </tmp/decode.err)"
  fi
  kill "$OUT_PID" 2>/dev/null; wait "$OUT_PID" 2>/dev/null
else
  fail decode-GREY "set-up failed"
fi

if setup_capture GREY && setup_output GREY grey && soe && start_hub latency GREY '' 0 \
  && wait_for_state online 30 >/dev/null; then
  STOREHUB_TOKEN=$TOKEN timeout 180 storehub tail 'scan.>' --url ws://127.0.0.1:$PORT/api/v1/bus --count 100 \
    --receive-time >/tmp/tail.txt 2>/tmp/tail.err
  sed -n 's/^\([0-9.]*\) .*"frameTime":"[0-9-]*T\([0-9]*\):\([0-9]*\):\([0-9.]*\)Z".*/\1 \2 \3 \4/p' /tmp/tail.txt \
    | awk '{ r = $1 - int($1 / 86400) * 86400; f = $2 * 3600 + $3 * 60 + $4; d = (r - f) * 1000
             if (d < -43200000) d += 86400000; printf "%.1f\n", d }' | sort -n >/tmp/latency.txt
  n=$(wc -l </tmp/latency.txt)
  if [ "$n" -ge 50 ]; then
    p50=$(sed -n "$(( (n * 50 + 99) / 100 ))p" /tmp/latency.txt)
    p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" /tmp/latency.txt)
    echo "BENCH bus-latency frames-to-bus events=$n p50Ms=$p50 p99Ms=$p99 maxMs=$(tail -n 1 /tmp/latency.txt)"
    pass bus-latency
  else
    fail bus-latency "only $n scan events: $(oneline </tmp/tail.err)"
  fi
  stop_hub
else
  fail bus-latency "set-up failed"
fi
exit 0
