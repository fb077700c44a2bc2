# Shell functions the camera payloads share (busybox sh): vivid loopback set-up, a hub on /dev/video0, and
# its REST API. Sourced by run.sh; expects frames.yuyv, frames.grey and expected.txt in /payload.
PORT=8080
API=http://127.0.0.1:$PORT/api/v1

pass() { echo "VMTEST CASE $1 PASS"; }
fail() { name=$1; shift; echo "VMTEST CASE $name FAIL $*"; }
oneline() { tr '\n' ' ' | cut -c1-300; }

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

start_hub() { # NAME FORMAT [MORE_CAMERA_FIELDS] [DUPLICATE_WINDOW_SECONDS]
  mkdir -p /tmp/$1/devices
  echo "{\"hub\":\"vm\",\"listen\":{\"port\":$PORT},\"devices\":\"devices\"}" >/tmp/$1/hub.json
  echo "{\"id\":\"kiosk-vivid\",\"kind\":\"kiosk\",\"camera\":{\"type\":\"v4l2\",\"path\":\"/dev/video0\",\
\"width\":720,\"height\":576,\"fps\":25,\"format\":\"$2\"${3:+,$3}},\"decoder\":{\"symbologies\":[\"qr\",\"ean13\"],\
\"duplicateWindowSeconds\":${4:-1}}}" >/tmp/$1/devices/kiosk-vivid.json
  TOKEN=$(storehub token create --role admin --state /tmp/$1/state)
  storehub run --config /tmp/$1/hub.json --state /tmp/$1/state >/tmp/$1/out.log 2>/tmp/$1/err.log &
  HUB_PID=$!
  i=0
  until wget -q -O /dev/null http://127.0.0.1:$PORT/healthz 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 150 ] && { echo "hub did not start: $(oneline </tmp/$1/err.log)"; return 1; }
    sleep 0.2
  done
}

get() { wget -q -O - --header "Authorization: Bearer $TOKEN" "$API/$1" 2>/dev/null; }

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

last_sequence() { wget -q -O - http://127.0.0.1:$PORT/healthz | sed -n 's/.*"lastSequence":\([0-9]*\).*/\1/p'; }

stop_hub() { # SIGTERM, and SIGKILL if it has not stopped within 15 s (a hang is reported, not waited out)
  kill "$HUB_PID" 2>/dev/null
  i=0
  while kill -0 "$HUB_PID" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 75 ]; then echo "storehub did not stop on SIGTERM"; kill -9 "$HUB_PID"; break; fi
    sleep 0.2
  done
  wait "$HUB_PID" 2>/dev/null
  kill "$OUT_PID" 2>/dev/null; wait "$OUT_PID" 2>/dev/null
}

