# Shell functions the VM payloads share (busybox sh): case markers, a hub on port 8080 and its REST API.
# scripts/vm-test copies this file into every payload as /payload/hub-lib.sh; a payload's run.sh sources it.
PORT=8080
API=http://127.0.0.1:$PORT/api/v1

pass() { echo "VMTEST CASE $1 PASS"; }
fail() { name=$1; shift; echo "VMTEST CASE $name FAIL $*"; }
oneline() { tr '\n' ' ' | cut -c1-300; }

launch_hub() { # NAME [MORE_HUB_FIELDS]: runs storehub on /tmp/NAME (the caller wrote devices/), an admin TOKEN,
  # waits for /healthz
  mkdir -p /tmp/$1/devices
  echo "{\"hub\":\"vm\",\"listen\":{\"port\":$PORT},\"devices\":\"devices\"${2:+,$2}}" >/tmp/$1/hub.json
  TOKEN=$(storehub token create --role admin --state /tmp/$1/state)
  storehub run --config /tmp/$1/hub.json --state /tmp/$1/state >/tmp/$1/out.log 2>/tmp/$1/err.log &
  HUB_PID=$!
  i=0
  until timeout 5 wget -q -O /dev/null http://127.0.0.1:$PORT/healthz 2>/dev/null; do
    if ! kill -0 "$HUB_PID" 2>/dev/null; then
      wait "$HUB_PID"; echo "hub exited with status $? before answering: $(oneline </tmp/$1/err.log)"; return 1
    fi
    i=$((i + 1))
    if [ $i -gt 150 ]; then
      echo "hub did not answer /healthz: $(timeout 5 wget -O - http://127.0.0.1:$PORT/healthz 2>&1 | oneline); $(oneline </tmp/$1/err.log)"
      return 1
    fi
    sleep 0.2
  done
}

get() { timeout 15 wget -q -O - --header "Authorization: Bearer $TOKEN" "$API/$1" 2>/dev/null; }

last_sequence() { timeout 15 wget -q -O - http://127.0.0.1:$PORT/healthz | sed -n 's/.*"lastSequence":\([0-9]*\).*/\1/p'; }

halt_hub() { # SIGTERM, and SIGKILL if it has not stopped within 15 s (a hang is reported, not waited out);
  # HUB_EXIT is its exit status
  kill "$HUB_PID" 2>/dev/null
  i=0
  while kill -0 "$HUB_PID" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 75 ]; then echo "storehub did not stop on SIGTERM"; kill -9 "$HUB_PID"; break; fi
    sleep 0.2
  done
  wait "$HUB_PID" 2>/dev/null
  HUB_EXIT=$?
}
