#!/usr/bin/env bash
# Start the handoff service, the action server and the Rasa server under supervisord (which
# restarts any of them that crashes); print the widget and console URLs and a demo agent's
# token; stop everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
HANDOFF_PORT=${HANDOFF_PORT:-8000}
HOST=${PUBLIC_HOST:-localhost}
# Tokens, databases, logs and supervisord's socket; the tests use a folder of their own.
STATE=${STATE_DIR:-state}
# Tokens, databases and logs are this user's alone.
umask 077
mkdir -p "$STATE/logs"
# Also what an older checkout left readable.
chmod -R go-rwx "$STATE"

# Secrets are made once per machine and kept out of git (state/ is ignored).
secret() {
  [ -s "$STATE/$1" ] || $BIN/python -c 'import secrets; print(secrets.token_urlsafe(24))' > "$STATE/$1"
  cat "$STATE/$1"
}
export RASA_AUTH_TOKEN=${RASA_AUTH_TOKEN:-$(secret rasa_auth_token)}
export HANDOFF_BOT_TOKEN=${HANDOFF_BOT_TOKEN:-$(secret handoff_bot_token)}
export CHAT_SESSION_SECRET=${CHAT_SESSION_SECRET:-$(secret chat_session_secret)}
export HANDOFF_URL=${HANDOFF_URL:-http://127.0.0.1:$HANDOFF_PORT}
export HANDOFF_HOST=${HANDOFF_HOST:-127.0.0.1}
export HANDOFF_PORT RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}
export PUBLIC_RASA_URL=${PUBLIC_RASA_URL:-http://$HOST:$RASA_PORT}
# The chat link in e-mails to users (written to $STATE/mail/ unless SMTP_HOST is set).
export CHAT_PUBLIC_URL=${CHAT_PUBLIC_URL:-http://$HOST:$HANDOFF_PORT/widget/}
# The widget is served by the handoff service: only that origin may open the chat.
export CHAT_ALLOWED_ORIGINS=${CHAT_ALLOWED_ORIGINS:-http://$HOST:$HANDOFF_PORT http://127.0.0.1:$HANDOFF_PORT}
# Rasa (addons.server) and the action server (rasa_sdk reads SANIC_HOST) stay on the loopback.
export RASA_HOST=${RASA_HOST:-127.0.0.1} SANIC_HOST=${ACTIONS_HOST:-127.0.0.1}
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1
# The databases live in the state folder (the programs' own defaults when it is state/).
export TRACKER_STORE_URL=${TRACKER_STORE_URL:-sqlite:///$STATE/tracker.db}
export HANDOFF_DATABASE_URL=${HANDOFF_DATABASE_URL:-sqlite:///$STATE/handoff.db}
export OUTBOX_PATH=${OUTBOX_PATH:-$STATE/outbox.db} HANDOFF_STATE_DIR=${HANDOFF_STATE_DIR:-$STATE}

# supervisord removes its pid file when it stops; one left by a killed one names another program.
if [ -s "$STATE/supervisord.pid" ]; then
  case $(ps -p "$(cat "$STATE/supervisord.pid")" -o command= 2>/dev/null || true) in
    *supervisord*)
      echo "error: the assistant is already running with $STATE/ (see $STATE/supervisord.pid)" >&2
      exit 1 ;;
  esac
fi
for port in "$RASA_PORT" "$ACTIONS_PORT" "$HANDOFF_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use (is the assistant already running?)" >&2
    exit 1
  fi
done

sup_pid=""
stop() {
  trap - EXIT INT TERM
  # supervisord stops every program's whole process group before it exits.
  if [ -n "$sup_pid" ]; then
    kill -TERM "$sup_pid" 2>/dev/null || true
    wait "$sup_pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

$BIN/python -m handoff_service db upgrade >"$STATE/logs/handoff.log" 2>&1
# A demo agent, created once (an admin, so the console shows every feature); its token is
# printed below.
if [ ! -s "$STATE/demo_agent_token" ]; then
  $BIN/python -m handoff_service agent add demo --role admin 2>>"$STATE/logs/handoff.log" \
    | tail -n 1 > "$STATE/demo_agent_token"
fi
# The default canned replies: adds the missing ones, never overwrites an edited one.
$BIN/python -m handoff_service canned import handoff_service/canned_replies.yml \
  >>"$STATE/logs/handoff.log" 2>&1 \
  || echo "warning: the default canned replies were not imported, see $STATE/logs/handoff.log" >&2
: >"$STATE/logs/actions.log"
: >"$STATE/logs/rasa.log"

# endpoints.yml names the default action server port; Rasa must call the one in use.
ENDPOINTS=endpoints.yml
if [ "$ACTIONS_PORT" != 5055 ]; then
  ENDPOINTS=$STATE/endpoints.yml
  sed "s#//localhost:5055/#//127.0.0.1:$ACTIONS_PORT/#" endpoints.yml >"$ENDPOINTS"
fi

# The command lines are written down once, in devtools/processes.py (the tests use them too).
# The auth token, interface and CORS origins reach Rasa through the environment (see
# addons/server.py), so no token shows in `ps` or in the configuration file.
CONF=$STATE/supervisord.conf
$BIN/python -m devtools.processes supervisor-config --state-dir "$STATE" \
  --rasa-port "$RASA_PORT" --actions-port "$ACTIONS_PORT" --model models/current.tar.gz \
  --endpoints "$ENDPOINTS" --credentials credentials.yml --output "$CONF"
# In the foreground of its own (nodaemon), as this script's child; its notices of restarts
# go to this script's output.
$BIN/supervisord -c "$CONF" &
sup_pid=$!

echo "==> starting under supervisord (logs in $STATE/logs/) ..."
ready=""
for _ in $(seq 1 240); do
  # The URL goes to curl on its standard input: a token in its arguments would show in `ps`.
  status=$($BIN/supervisorctl -c "$CONF" status 2>/dev/null || true)
  case $status in
    *FATAL*) echo "error: a process keeps failing to start, see $STATE/logs/" >&2; exit 1 ;;
  esac
  # Serving, and past supervisord's start period: a crash from now on is reported as a
  # restart (one during the start period is only a slow start to supervisord).
  if printf 'url = "http://127.0.0.1:%s/status?token=%s"\n' "$RASA_PORT" "$RASA_AUTH_TOKEN" \
       | curl -fsS -K - 2>/dev/null | grep -q '"model_file"' \
     && curl -fsS "http://127.0.0.1:$HANDOFF_PORT/api/health" >/dev/null 2>&1 \
     && curl -fsS "http://127.0.0.1:$ACTIONS_PORT/health" >/dev/null 2>&1 \
     && [ -n "$status" ] && ! printf '%s\n' "$status" | grep -qv RUNNING; then
    ready=yes; break
  fi
  kill -0 "$sup_pid" 2>/dev/null \
    || { echo "error: supervisord exited, see $STATE/logs/supervisord.log" >&2; exit 1; }
  sleep 1
done
[ -n "$ready" ] || { echo "error: not ready after 4 minutes, see $STATE/logs/" >&2; exit 1; }

cat <<INFO

  The assistant is running.

  Chat widget (users)     http://$HOST:$HANDOFF_PORT/widget/
  Agent console (agents)  http://$HOST:$HANDOFF_PORT/console/
    demo agent token:     $(cat "$STATE/demo_agent_token")
    more agents:          .venv/bin/handoff-service agent add NAME

  Rasa server             http://$HOST:$RASA_PORT   (REST /webhooks/rest/webhook, socket.io /socket.io)
  Action server           http://$HOST:$ACTIONS_PORT
  Handoff service API     http://$HOST:$HANDOFF_PORT/api/health
  E-mails to users        ${SMTP_HOST:+via $SMTP_HOST}${SMTP_HOST:-written to ${MAIL_OUTBOX_DIR:-$STATE/mail}/ (no SMTP_HOST set)}

  A component that crashes is restarted (supervisord). Ctrl-C stops everything.
INFO
# supervisord restarts a program that exits; this waits until it is told to stop.
wait "$sup_pid"
