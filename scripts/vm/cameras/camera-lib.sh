# Shell functions the camera payloads share (busybox sh): vivid loopback set-up, a hub on /dev/video0, and
# its REST API. Sourced by run.sh; expects frames.yuyv, frames.grey and expected.txt in /payload.
. /payload/hub-lib.sh

setup_output() { # FORMAT: the output side and the loop control
  fmt="width=720,height=576,pixelformat=$1,field=none"
  for cmd in "-d1 -o 0" "-d1 -s pal" "-d1 --set-fmt-video-out=$fmt"; do
    # shellcheck disable=SC2086
    v4l2-ctl $cmd >/dev/null 2>&1 || { echo "v4l2-ctl $cmd failed"; return 1; }
  done
  v4l2-ctl -d1 --stream-out-mmap --stream-from=/payload/frames.$2 --stream-loop >/tmp/out.log 2>&1 &
  OUT_PID=$!
}

setup_capture() { # FORMAT
  for cmd in "-d0 -i 0" "-d0 -s pal" "-d0 --set-fmt-video=width=720,height=576,pixelformat=$1,field=none" \
             "-d0 -c loop_video=1"; do
    # shellcheck disable=SC2086
    v4l2-ctl $cmd >/dev/null 2>&1 || { echo "v4l2-ctl $cmd failed"; return 1; }
  done
}

start_hub() { # NAME FORMAT [MORE_CAMERA_FIELDS] [DUPLICATE_WINDOW_SECONDS] [SYMBOLOGIES (JSON strings)]
  mkdir -p /tmp/$1/devices
  echo "{\"id\":\"kiosk-vivid\",\"kind\":\"kiosk\",\"camera\":{\"type\":\"v4l2\",\"path\":\"/dev/video0\",\
\"width\":720,\"height\":576,\"fps\":25,\"format\":\"$2\"${3:+,$3}},\"decoder\":{\"symbologies\":[${5:-\"qr\",\"ean13\"}],\
\"duplicateWindowSeconds\":${4:-1}}}" >/tmp/$1/devices/kiosk-vivid.json
  launch_hub "$1"
}

scans_after() { # SEQUENCE: scan events after it
  get "events?topic=scan.%3E&limit=1000&after=$1"
}

wait_for_codes() { # SEQUENCE SECONDS: every expected payload scanned after SEQUENCE
  end=$(($(date +%s) + $2))
  while :; do
    scans_after "$1" >/tmp/scans.json
    missing=""
    while IFS= read -r code; do
      grep -qF "\"text\":\"$code\"" /tmp/scans.json || missing="$missing $code"
    done </payload/expected.txt
    [ -z "$missing" ] && return 0
    [ "$(date +%s)" -ge "$end" ] && { echo "missing:$missing"; return 1; }
    sleep 1
  done
}

device_state() { get devices | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }

device_field() { # NAME: a string or number field of the device's status
  status=$(get devices)
  value=$(echo "$status" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p")
  [ -n "$value" ] || value=$(echo "$status" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p")
  echo "$value"
}

wait_for_state() { # STATE SECONDS
  end=$(($(date +%s) + $2))
  until [ "$(device_state)" = "$1" ]; do
    [ "$(date +%s)" -ge "$end" ] && { echo "state is '$(device_state)', not $1: $(get devices | oneline)"; return 1; }
    sleep 0.5
  done
}

stop_hub() { # the hub, then the vivid output loop
  halt_hub
  kill "$OUT_PID" 2>/dev/null; wait "$OUT_PID" 2>/dev/null
}

