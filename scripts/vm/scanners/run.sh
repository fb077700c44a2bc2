#!/bin/sh
# Keyboard-wedge scanner tests inside the VM (busybox sh): a uinput keyboard (storehub-testkit keyboard) types
# barcodes the way a USB HID scanner does; storehub reads it through evdev, grabbed, with libxkbcommon.
#   reader-sees-keys      without storehub, a second reader of the event device sees the typed keys (the
#                         reader used below works)
#   de-scans              layout de: typed codes with characters that differ from us (y/z, @ # - / :) reach
#                         the bus exactly, found by vendor:product (scanner.match)
#   grab-exclusive        while storehub holds the grab, another reader of the device sees no key at all,
#                         and the scan still arrives
#   partial-dropped       keys without Enter followed by a pause are dropped and counted, the next scan arrives
#   unplug-offline        destroying the uinput device gives offline with a reason; the hub keeps running
#   replug-resumes        creating it again gives online, and scans resume
#   us-scans              layout us by path (/dev/input/eventN): the same texts arrive exactly
#   hid-latency           last key written to the scan event's time (printed, never judged)
#   devices-lists         `storehub devices --json` lists the keyboard with its vendor:product and keys
set -f      # the codes hold ? characters: no file name expansion
trap '' PIPE  # a keyboard that died must fail a case, not kill this script on the next command
. /payload/hub-lib.sh
VENDOR=0c2e
PRODUCT=0b61
# Characters that sit on different keys in us and de: y z Y Z @ # - / : ; _ ( ) = ? ' "
CODES="4006381333931 PICKUP:zy-42/ZY@#1 yZ:/#@-_=?;()x https://shop.example/p?id=7&q=zy"

keyboard_start() { # LAYOUT: a testkit keyboard reading commands from a FIFO on fd 3
  rm -f /tmp/kbd.fifo /tmp/kbd.out
  mkfifo /tmp/kbd.fifo
  storehub-testkit keyboard --layout "$1" --vendor $VENDOR --product $PRODUCT </tmp/kbd.fifo >/tmp/kbd.out 2>&1 &
  KBD_PID=$!
  exec 3>/tmp/kbd.fifo
}

keyboard() { # COMMAND...: sends a command and waits for its answer line (nth answer = nth command)
  echo "$*" >&3
  KBD_N=$((KBD_N + 1))
  i=0
  until [ "$(grep -c -E '^(created|typed|destroyed)' /tmp/kbd.out 2>/dev/null)" -ge "$KBD_N" ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$KBD_PID" 2>/dev/null; then
      echo "keyboard did not answer '$*': $(oneline </tmp/kbd.out)"; return 1
    fi
    sleep 0.1
  done
  tail -n 1 /tmp/kbd.out
}

keyboard_stop() {
  echo quit >&3
  exec 3>&-
  wait "$KBD_PID" 2>/dev/null
  KBD_N=0
}

start_hub() { # NAME SCANNER-JSON
  mkdir -p /tmp/$1/devices
  echo "{\"id\":\"scanner-till\",\"kind\":\"scanner\",\"name\":\"Till handheld\",\"scanner\":$2,\
\"decoder\":{\"duplicateWindowSeconds\":0}}" >/tmp/$1/devices/scanner-till.json
  HUB_NAME=$1
  launch_hub "$1"
}

field() { get devices | sed -n "s/.*\"$1\":\"\{0,1\}\([^\",]*\).*/\1/p"; }
wait_for_state() { # STATE SECONDS
  end=$(($(date +%s) + $2))
  until [ "$(field state)" = "$1" ]; do
    [ "$(date +%s)" -ge "$end" ] && { echo "state is '$(field state)', not $1: $(get devices | oneline)"; return 1; }
    sleep 0.3
  done
}

wait_for_texts() { # SEQUENCE SECONDS TEXT...: each text is the exact text of a scan after SEQUENCE
  after=$1; seconds=$2; shift 2
  end=$(($(date +%s) + seconds))
  while :; do
    get "events?topic=scan.%3E&limit=1000&after=$after" >/tmp/scans.json
    missing=""
    for text in "$@"; do grep -qF "\"text\":\"$text\"" /tmp/scans.json || missing="$missing $text"; done
    [ -z "$missing" ] && return 0
    [ "$(date +%s)" -ge "$end" ] && { echo "missing:$missing; got $(grep -o '"text":"[^"]*"' /tmp/scans.json | oneline)"; return 1; }
    sleep 0.5
  done
}

stop_hub() {
  halt_hub
  echo "storehub exited with $HUB_EXIT"
}

# Types each code and waits for it. When the hub reports lost key events (the VM starved it and the
# kernel's buffer overflowed: a dropped scan, counted in errors, never a wrong one), the code is typed
# again, as a clerk would scan again; a code that is missing without such a report fails the case.
type_codes() { # SEQUENCE: codes must arrive after it
  # shellcheck disable=SC2086 # CODES are words
  for code in $CODES; do
    attempt=0
    while :; do
      attempt=$((attempt + 1))
      errors=$(field errors)
      keyboard type "$code" >/dev/null || return 1
      why=$(wait_for_texts "$1" 60 "$code") && break
      if [ "$(field errors)" != "$errors" ] && field lastProblem | grep -q "key events lost" && [ $attempt -lt 3 ]; then
        echo "typed $code again after lost key events" >&2
        continue
      fi
      echo "$why"; return 1
    done
  done
}

KBD_N=0
keyboard_start de
EVENT=$(keyboard create | sed -n 's/^created //p')
echo "uinput keyboard at $EVENT"
if [ -z "$EVENT" ]; then
  echo "the uinput keyboard did not start: $(oneline </tmp/kbd.out)"
  for name in reader-sees-keys devices-lists de-scans us-scans; do fail $name "no uinput keyboard"; done
  exit 0
fi

# --- devices-lists
if storehub devices --json >/tmp/devices.json 2>/tmp/devices.err \
  && tr -d ' \n' </tmp/devices.json | grep -q "\"hasKeys\":true,\"name\":\"StoreHubtestscanner\",\"path\":\"$EVENT\"" \
  && grep -q "\"vendorProduct\" : \"$VENDOR:$PRODUCT\"" /tmp/devices.json; then
  pass devices-lists
else
  fail devices-lists "$(oneline </tmp/devices.err) $(tr -d ' \n' </tmp/devices.json | cut -c1-600)"
fi

# --- reader-sees-keys: nobody holds the grab yet
reader_start() { # OUT: a second reader of $EVENT for 4 s; returns once it has the device open
  storehub-testkit read --path "$EVENT" --seconds 4 >"$1" 2>&1 &
  READ_PID=$!
  i=0
  until grep -q '^reading' "$1" 2>/dev/null || [ $i -gt 100 ]; do i=$((i + 1)); sleep 0.1; done
}
reader_start /tmp/read0.out
keyboard type "abc" >/dev/null
wait "$READ_PID"
count=$(sed -n 's/^events //p' /tmp/read0.out)
if [ "${count:-0}" -gt 0 ]; then pass reader-sees-keys; else fail reader-sees-keys "$(oneline </tmp/read0.out)"; fi

# --- de-scans, found by vendor:product
if start_hub de "{\"type\":\"hid\",\"match\":\"$VENDOR:$PRODUCT\",\"layout\":\"de\",\"terminator\":\"enter\",\
\"interKeyGapMs\":5000,\"maxLength\":64}" && wait_for_state online 30; then
  # shellcheck disable=SC2086
  if why=$(type_codes 0) && why=$(wait_for_texts 0 30 $CODES); then pass de-scans; else fail de-scans "$why"; fi

  # --- grab-exclusive
  before=$(last_sequence)
  reader_start /tmp/read1.out
  keyboard type "GRAB-zy@1" >/dev/null
  wait "$READ_PID"
  count=$(sed -n 's/^events //p' /tmp/read1.out)
  if [ "$count" = 0 ] && why=$(wait_for_texts "$before" 20 "GRAB-zy@1"); then
    pass grab-exclusive
  else
    fail grab-exclusive "second reader saw '${count}' key events ($(oneline </tmp/read1.out)) ${why:-}"
  fi

  # --- partial-dropped: keys, a pause longer than interKeyGapMs, then a whole scan
  before=$(last_sequence)
  dropped=$(field scansDropped)
  keyboard partial "12345" >/dev/null
  end=$(($(date +%s) + 40))
  until [ "$(field scansDropped)" = $((dropped + 1)) ] || [ "$(date +%s)" -ge "$end" ]; do sleep 0.3; done
  keyboard type "AFTER-PARTIAL" >/dev/null
  problem=$(field lastProblem)
  if [ "$(field scansDropped)" = $((dropped + 1)) ] && why=$(wait_for_texts "$before" 20 "AFTER-PARTIAL"); then
    echo "last problem: $problem"
    if get "events?topic=scan.%3E&limit=1000&after=$before" | grep -q '"text":"12345'; then
      fail partial-dropped "the partial input was published"
    else
      pass partial-dropped
    fi
  else
    fail partial-dropped "scansDropped $(field scansDropped) (was $dropped), problem '$problem' ${why:-}"
  fi

  # --- hid-latency: last key written (testkit clock) to the scan event's time (hub clock, same VM)
  before=$(last_sequence)
  : >/tmp/latency.txt
  n=0
  while [ $n -lt 20 ]; do
    n=$((n + 1))
    keyboard type "LAT-$n" | sed -n 's/.*last at //p' >>/tmp/latency.txt
    wait_for_texts "$before" 20 "LAT-$n" >/dev/null || break
  done
  get "events?topic=scan.%3E&limit=1000&after=$before" | grep -o '"time":"[^"]*"' | sed 's/"time":"//; s/"//' \
    >/tmp/event-times.txt
  echo "hid-latency: $(awk '
    NR == FNR { typed[NR] = $1; next }
    { split($1, t, "T"); split(t[2], c, ":"); sec = c[1] * 3600 + c[2] * 60 + substr(c[3], 1, 6)
      day = typed[FNR] - (typed[FNR] % 86400); ms[FNR] = (day + sec - typed[FNR]) * 1000 }
    END { n = FNR; for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (ms[j] < ms[i]) { x = ms[i]; ms[i] = ms[j]; ms[j] = x }
          if (n > 0) printf "%d scans, last key to event time p50 %.1f ms, max %.1f ms", n, ms[int((n + 1) / 2)], ms[n] }
  ' /tmp/latency.txt /tmp/event-times.txt)"
  pass hid-latency

  # --- unplug-offline
  keyboard destroy >/dev/null
  if why=$(wait_for_state offline 20); then
    reason=$(field reason)
    if kill -0 "$HUB_PID" 2>/dev/null && [ -n "$reason" ]; then
      echo "offline reason: $reason"
      pass unplug-offline
    else
      fail unplug-offline "hub alive: $(kill -0 "$HUB_PID" 2>/dev/null && echo yes || echo no), reason '$reason'"
    fi
  else
    fail unplug-offline "$why"
  fi

  # --- replug-resumes
  before=$(last_sequence)
  EVENT=$(keyboard create | sed -n 's/^created //p')
  echo "uinput keyboard again at $EVENT"
  if why=$(wait_for_state online 40) && keyboard type "REPLUG-zy#" >/dev/null \
    && why=$(wait_for_texts "$before" 20 "REPLUG-zy#"); then
    pass replug-resumes
  else
    fail replug-resumes "$why $(oneline </tmp/de/err.log)"
  fi
  stop_hub
else
  fail de-scans "set-up failed: $(oneline </tmp/de/err.log)"
fi
keyboard_stop

# --- us-scans, by path
keyboard_start us
EVENT=$(keyboard create | sed -n 's/^created //p')
if start_hub us "{\"type\":\"hid\",\"path\":\"$EVENT\",\"layout\":\"us\",\"interKeyGapMs\":5000,\"maxLength\":64}" \
  && wait_for_state online 30; then
  # shellcheck disable=SC2086
  if why=$(type_codes 0) && why=$(wait_for_texts 0 30 $CODES); then pass us-scans; else fail us-scans "$why"; fi
  stop_hub
else
  fail us-scans "set-up failed: $(oneline </tmp/us/err.log)"
fi
keyboard_stop
exit 0
