#!/bin/sh
# Camera tests inside the VM (busybox sh): storehub captures vivid's loopback through V4L2 mmap streaming.
#   yuyv-scans        frames written to vivid's output come back on /dev/video0; storehub publishes exactly
#                     the codes they hold (YUYV, luma picked out)
#   grey-scans        the same with the GREY format (luma plane used in place)
#   unplug-offline    unbinding vivid while streaming: storehub reports offline with a reason, no crash
#   replug-resumes    binding it again: storehub is online again and scans resume
#   devices-lists     `storehub devices --json` names vivid with its formats, sizes and controls
#   controls-applied  the descriptor's camera.controls are set on the device (read back with v4l2-ctl)
#   stall-restarts    a stream that delivers no frame (vivid drops every buffer) is restarted: degraded with
#                     the reason, restarts counted, online again and scanning once frames flow, and the
#                     stall kept as lastError
#   control-refused   a control the camera lacks: degraded with the control named, scanning anyway
#   datamatrix-gs1    a kiosk configured for datamatrix reads the GS1 DataMatrix on a box held to the camera
#                     (zxing-cpp, libZXing in the VM); the scan event carries GTIN, expiry, batch and serial
#   mirror-yuyv       a mirror on vivid in YUYV (used in place): native landmarks find the portrait's face (its
#                     try-on results name the native locator) and the stream shows the shade on the lips
#   mirror-nv12       the same with NV12
# vivid is loaded with a single S-Video input (vm-modules.conf), so after a re-bind the hub can reopen
# /dev/video0 by itself and only the loop control and the output side need setting up again.
. /payload/camera-lib.sh

# --- devices-lists
if storehub devices --json >/tmp/devices.json 2>/tmp/devices.err \
  && grep -q '"driver" : "vivid"' /tmp/devices.json && grep -q '"fourcc" : "YUYV"' /tmp/devices.json \
  && grep -q '"path" : "/dev/video0"' /tmp/devices.json && grep -q '"name" : "brightness"' /tmp/devices.json; then
  pass devices-lists
else
  fail devices-lists "$(oneline </tmp/devices.err) $(head -c 300 /tmp/devices.json | oneline)"
fi

# --- yuyv-scans, then unplug and replug on the same hub
if setup_capture YUYV && setup_output YUYV yuyv && start_hub yuyv YUYV; then
  if why=$(wait_for_codes 0 60); then pass yuyv-scans; else fail yuyv-scans "$why"; fi

  echo "unbinding vivid"
  timeout 20 sh -c 'echo vivid.0 >/sys/bus/platform/drivers/vivid/unbind' || echo "unbind failed or hung"
  kill "$OUT_PID" 2>/dev/null; wait "$OUT_PID" 2>/dev/null
  if why=$(wait_for_state offline 20); then
    reason=$(get devices | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
    if kill -0 "$HUB_PID" 2>/dev/null && [ -n "$reason" ]; then
      echo "offline reason: $reason"
      pass unplug-offline
    else
      fail unplug-offline "hub alive: $(kill -0 "$HUB_PID" 2>/dev/null && echo yes || echo no), reason '$reason'"
    fi
  else
    fail unplug-offline "$why"
  fi

  before=$(last_sequence)
  echo "re-binding vivid after sequence $before"
  timeout 20 sh -c 'echo vivid.0 >/sys/bus/platform/drivers/vivid/bind' || echo "bind failed or hung"
  i=0; until [ -c /dev/video1 ] || [ $i -gt 50 ]; do i=$((i + 1)); sleep 0.1; done
  echo "bound: $(ls /dev | grep video | tr '\n' ' ')"
  setup_output YUYV yuyv
  echo "output streaming again"
  if why=$(wait_for_state online 30); then
    v4l2-ctl -d0 -c loop_video=1 >/dev/null 2>&1
    if why=$(wait_for_codes "${before:-0}" 60); then pass replug-resumes; else fail replug-resumes "$why"; fi
  else
    fail replug-resumes "$why"
  fi
  stop_hub
else
  fail yuyv-scans "set-up failed"
fi

# --- grey-scans, with controls from the descriptor; then a stall
if setup_capture GREY && setup_output GREY grey \
  && start_hub grey GREY '"stallSeconds":1,"controls":{"brightness":140,"contrast":120}'; then
  if why=$(wait_for_codes 0 60); then pass grey-scans; else fail grey-scans "$why $(oneline </tmp/grey/err.log)"; fi

  brightness=$(v4l2-ctl -d0 -C brightness 2>&1 | sed -n 's/^brightness: //p')
  contrast=$(v4l2-ctl -d0 -C contrast 2>&1 | sed -n 's/^contrast: //p')
  state=$(device_state)
  if [ "$brightness" = 140 ] && [ "$contrast" = 120 ] && [ "$state" = online ]; then
    pass controls-applied
  else
    fail controls-applied "brightness '$brightness', contrast '$contrast', state '$state'"
  fi

  # vivid completes no buffer while this control is 100: the stream stalls without the device going away.
  restarts_before=$(device_field restarts)
  if v4l2-ctl -d0 -c percentage_of_dropped_buffers=100 >/tmp/drop.log 2>&1; then
    if why=$(wait_for_state degraded 20); then
      reason=$(device_field reason)
      echo "stalled: $reason"
      sleep 1
      restarts=$(device_field restarts)
      v4l2-ctl -d0 -c percentage_of_dropped_buffers=0
      before=$(last_sequence)
      if [ "${restarts:-0}" -le "${restarts_before:-0}" ]; then
        fail stall-restarts "restarts stayed at '$restarts' (before '$restarts_before')"
      elif ! echo "$reason" | grep -q "restarted"; then
        fail stall-restarts "reason '$reason' does not say the stream was restarted"
      elif ! why=$(wait_for_state online 30); then
        fail stall-restarts "$why"
      elif ! why=$(wait_for_codes "${before:-0}" 60); then
        fail stall-restarts "no scans after the stall: $why"
      elif ! device_field lastError | grep -q "no frame"; then
        fail stall-restarts "lastError '$(device_field lastError)' does not keep the stall after recovery"
      else
        pass stall-restarts
      fi
    else
      v4l2-ctl -d0 -c percentage_of_dropped_buffers=0
      fail stall-restarts "$why"
    fi
  else
    fail stall-restarts "cannot set vivid's dropped-buffers control: $(oneline </tmp/drop.log)"
  fi
  stop_hub
else
  fail grey-scans "set-up failed"
fi

# --- control-refused: a control this camera does not have: degraded, says which, and scans anyway
if setup_output GREY grey && start_hub refused GREY '"controls":{"focus_absolute":5}'; then
  if why=$(wait_for_state degraded 30); then
    reason=$(device_field reason)
    if ! echo "$reason" | grep -q "focus_absolute"; then
      fail control-refused "reason '$reason' does not name the control"
    elif ! why=$(wait_for_codes 0 60); then
      fail control-refused "no scans while degraded: $why"
    else
      echo "degraded: $reason"
      pass control-refused
    fi
  else
    fail control-refused "$why"
  fi
  stop_hub
else
  fail control-refused "set-up failed"
fi
# --- datamatrix-gs1: a box with a GS1 DataMatrix held up; the scan's gs1 elements are the box's
if setup_capture GREY && setup_output GREY dmgrey && start_hub dm GREY "" 1 '"datamatrix"'; then
  end=$(($(date +%s) + 60))
  while :; do
    scans_after 0 >/tmp/dm-scans.json
    missing=""
    while read -r ai value; do
      grep -qF "{\"ai\":\"$ai\",\"value\":\"$value\"}" /tmp/dm-scans.json || missing="$missing $ai=$value"
    done </payload/dm-expected.txt
    [ -z "$missing" ] && break
    [ "$(date +%s)" -ge "$end" ] && break
    sleep 1
  done
  if [ -n "$missing" ]; then
    fail datamatrix-gs1 "missing:$missing; scans: $(head -c 300 /tmp/dm-scans.json | oneline) $(oneline </tmp/dm/err.log)"
  elif ! grep -q '"symbology":"datamatrix"' /tmp/dm-scans.json; then
    fail datamatrix-gs1 "not a datamatrix scan: $(head -c 300 /tmp/dm-scans.json | oneline)"
  else
    pass datamatrix-gs1
  fi
  stop_hub
else
  fail datamatrix-gs1 "set-up failed"
fi
# --- mirror-yuyv, mirror-nv12: a mirror on the portrait written into vivid's output
lip_check() { # STREAM_FILE: each lip box moved toward the shade (its distance to it at most 60 % of before)
  boxes=$(sed -n 's/^BOX \([0-9,]*\) .*/--box \1/p' /payload/mirror-lips.txt | tr '\n' ' ')
  # shellcheck disable=SC2086
  storehub pixels "$1" $boxes >/tmp/pixels.json 2>/tmp/pixels.err || { echo "pixels: $(oneline </tmp/pixels.err)"; return 1; }
  echo "lips in the stream: $(cat /tmp/pixels.json)"
  awk -v json="$(cat /tmp/pixels.json)" '
    $1 == "SHADE" { s[1] = $2; s[2] = $3; s[3] = $4 }
    $1 == "BOX" { n++; b[n, 1] = $3; b[n, 2] = $4; b[n, 3] = $5 }
    END {
      m = split(json, parts, "\"r\":"); bad = (n == 0)
      for (i = 1; i <= n; i++) {
        if (i + 1 > m) { bad = 1; continue }
        text = substr(parts[i + 1], 1, index(parts[i + 1], "}") - 1)
        gsub(/[^0-9,]/, "", text); split(text, a, ",")
        # Squared RGB distances (busybox awk has no math library): 0.36 is 60 % squared.
        before = 0; after = 0
        for (c = 1; c <= 3; c++) { before += (b[i, c] - s[c]) * (b[i, c] - s[c]); after += (a[c] - s[c]) * (a[c] - s[c]) }
        printf "box %d: squared distance to the shade %d before, %d in the stream\n", i, before, after
        if (after > 0.36 * before) bad = 1
      }
      exit bad
    }' /payload/mirror-lips.txt
}

mirror_case() { # NAME FORMAT FRAMES_SUFFIX
  sku=$(sed -n 's/^SKU //p' /payload/mirror-lips.txt)
  if ! setup_capture "$2" || ! setup_output "$2" "$3"; then fail "$1" "vivid set-up for $2 failed"; return; fi
  mkdir -p "/tmp/$1/devices"
  echo "{\"id\":\"mirror-vivid\",\"kind\":\"mirror\",\"camera\":{\"type\":\"v4l2\",\"path\":\"/dev/video0\",\
\"width\":720,\"height\":576,\"fps\":25,\"format\":\"$2\"},\"mirror\":{\"defaultShade\":\"$sku\",\
\"cycleShadesSeconds\":2,\"streamFps\":5}}" >"/tmp/$1/devices/mirror.json"
  if ! launch_hub "$1" '"shades":"/payload/shades.json","models":"/payload/models"'; then
    fail "$1" "hub did not start"; stop_hub; return
  fi
  # The one-shade catalog cycles to the same shade: each cycle is a try-on result naming the locator in use.
  end=$(($(date +%s) + 240))
  until get "events?topic=tryon.result.%3E&limit=100" | grep -q '"locator":"native"'; do
    if [ "$(date +%s)" -ge "$end" ]; then
      fail "$1" "no try-on result from the native locator: $(get 'events?topic=tryon.result.%3E&limit=3' | oneline) $(oneline <"/tmp/$1/err.log")"
      stop_hub; return
    fi
    sleep 2
  done
  # A frame takes seconds under emulation: record the stream (a new ticket each time) until it holds a JPEG.
  for attempt in 1 2 3 4; do
    url=$(timeout 15 wget -q -O - --post-data='' --header "Authorization: Bearer $TOKEN" "$API/mirrors/mirror-vivid/ticket" \
      | sed -n 's/.*"url":"\([^"]*\)".*/\1/p')
    rm -f /tmp/stream.bin
    timeout 20 wget -q -O /tmp/stream.bin "http://127.0.0.1:$PORT$url" 2>/dev/null
    storehub pixels /tmp/stream.bin >/dev/null 2>&1 && break
    echo "$1: no whole frame in the stream yet (attempt $attempt)"
  done
  echo "$1: $(wc -c </tmp/stream.bin) bytes of stream; budget $(get devices | sed -n 's/.*\("frameBudget":{[^}]*}[^}]*}\).*/\1/p')"
  if why=$(lip_check /tmp/stream.bin); then echo "$why"; pass "$1"; else fail "$1" "$(echo "$why" | oneline)"; fi
  stop_hub
}

mirror_case mirror-yuyv YUYV mirror-yuyv
mirror_case mirror-nv12 NV12 mirror-nv12
exit 0
