#!/usr/bin/env bash
# Start the action server and the Rasa server, print how to chat, stop both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
mkdir -p state/logs
# Rasa's HTTP API is protected by a token; one is made per machine and kept out of git.
if [ -z "${RASA_AUTH_TOKEN:-}" ]; then
  [ -s state/rasa_auth_token ] || $BIN/python -c 'import secrets; print(secrets.token_urlsafe(24))' > state/rasa_auth_token
  RASA_AUTH_TOKEN=$(cat state/rasa_auth_token)
fi
export RASA_AUTH_TOKEN

for port in "$RASA_PORT" "$ACTIONS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use (is the assistant already running?)" >&2
    exit 1
  fi
done

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

$BIN/rasa run actions --actions actions --port "$ACTIONS_PORT" >state/logs/actions.log 2>&1 &
pids+=($!)
$BIN/rasa run --model models/current.tar.gz --enable-api --auth-token "$RASA_AUTH_TOKEN" \
  --cors '*' --port "$RASA_PORT" --endpoints endpoints.yml --credentials credentials.yml \
  >state/logs/rasa.log 2>&1 &
pids+=($!)

echo "==> starting (logs in state/logs/) ..."
for _ in $(seq 1 180); do
  if curl -fsS "http://127.0.0.1:$RASA_PORT/status?token=$RASA_AUTH_TOKEN" 2>/dev/null | grep -q '"model_file"'; then
    break
  fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "error: a process exited early, see state/logs/" >&2; exit 1; }
  done
  sleep 1
done

cat <<INFO

  Assistant ready.
  Rasa server      http://localhost:$RASA_PORT   (REST: /webhooks/rest/webhook, socket.io: /socket.io)
  Action server    http://localhost:$ACTIONS_PORT
  Try it:
    curl -s localhost:$RASA_PORT/webhooks/rest/webhook -H 'Content-Type: application/json' \\
      -d '{"sender": "me", "message": "USDT提币一直没到账"}'

  Ctrl-C stops everything.
INFO
wait -n "${pids[@]}"
