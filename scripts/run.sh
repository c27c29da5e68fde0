#!/usr/bin/env bash
# Start the handoff service, the action server and the Rasa server; print the widget and
# console URLs and a demo agent's token; stop everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
HANDOFF_PORT=${HANDOFF_PORT:-8000}
HOST=${PUBLIC_HOST:-localhost}
# Tokens, databases and logs are this user's alone.
umask 077
mkdir -p state/logs
# Also what an older checkout left readable.
chmod -R go-rwx state

# Secrets are made once per machine and kept out of git (state/ is ignored).
secret() {
  [ -s "state/$1" ] || $BIN/python -c 'import secrets; print(secrets.token_urlsafe(24))' > "state/$1"
  cat "state/$1"
}
export RASA_AUTH_TOKEN=${RASA_AUTH_TOKEN:-$(secret rasa_auth_token)}
export HANDOFF_BOT_TOKEN=${HANDOFF_BOT_TOKEN:-$(secret handoff_bot_token)}
export CHAT_SESSION_SECRET=${CHAT_SESSION_SECRET:-$(secret chat_session_secret)}
export HANDOFF_URL=${HANDOFF_URL:-http://127.0.0.1:$HANDOFF_PORT}
export HANDOFF_HOST=${HANDOFF_HOST:-127.0.0.1}
export HANDOFF_PORT RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}
export PUBLIC_RASA_URL=${PUBLIC_RASA_URL:-http://$HOST:$RASA_PORT}
# The widget is served by the handoff service: only that origin may open the chat.
export CHAT_ALLOWED_ORIGINS=${CHAT_ALLOWED_ORIGINS:-http://$HOST:$HANDOFF_PORT http://127.0.0.1:$HANDOFF_PORT}
# Rasa (addons.server) and the action server (rasa_sdk reads SANIC_HOST) stay on the loopback.
export RASA_HOST=${RASA_HOST:-127.0.0.1} SANIC_HOST=${ACTIONS_HOST:-127.0.0.1}
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

for port in "$RASA_PORT" "$ACTIONS_PORT" "$HANDOFF_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use (is the assistant already running?)" >&2
    exit 1
  fi
done

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

$BIN/python -m handoff_service db upgrade >state/logs/handoff.log 2>&1
# A demo agent, created once; its token is printed below.
if [ ! -s state/demo_agent_token ]; then
  $BIN/python -m handoff_service agent add demo 2>>state/logs/handoff.log | tail -n 1 > state/demo_agent_token
fi

$BIN/python -m handoff_service serve >>state/logs/handoff.log 2>&1 &
pids+=($!)
$BIN/rasa run actions --actions actions --port "$ACTIONS_PORT" >state/logs/actions.log 2>&1 &
pids+=($!)
# The auth token, interface and CORS origins reach Rasa through the environment (see
# addons/server.py), so the token never shows in `ps`.
$BIN/python -m addons.server run --model models/current.tar.gz --enable-api \
  --port "$RASA_PORT" --endpoints endpoints.yml --credentials credentials.yml \
  >state/logs/rasa.log 2>&1 &
pids+=($!)

echo "==> starting (logs in state/logs/) ..."
ready=""
for _ in $(seq 1 240); do
  # The URL goes to curl on its standard input: a token in its arguments would show in `ps`.
  if printf 'url = "http://127.0.0.1:%s/status?token=%s"\n' "$RASA_PORT" "$RASA_AUTH_TOKEN" \
       | curl -fsS -K - 2>/dev/null | grep -q '"model_file"' \
     && curl -fsS "http://127.0.0.1:$HANDOFF_PORT/api/health" >/dev/null 2>&1 \
     && curl -fsS "http://127.0.0.1:$ACTIONS_PORT/health" >/dev/null 2>&1; then
    ready=yes; break
  fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "error: a process exited early, see state/logs/" >&2; exit 1; }
  done
  sleep 1
done
[ -n "$ready" ] || { echo "error: not ready after 4 minutes, see state/logs/" >&2; exit 1; }

cat <<INFO

  The assistant is running.

  Chat widget (users)     http://$HOST:$HANDOFF_PORT/widget/
  Agent console (agents)  http://$HOST:$HANDOFF_PORT/console/
    demo agent token:     $(cat state/demo_agent_token)
    more agents:          .venv/bin/handoff-service agent add NAME

  Rasa server             http://$HOST:$RASA_PORT   (REST /webhooks/rest/webhook, socket.io /socket.io)
  Action server           http://$HOST:$ACTIONS_PORT
  Handoff service API     http://$HOST:$HANDOFF_PORT/api/health

  Ctrl-C stops everything.
INFO
wait -n "${pids[@]}"
