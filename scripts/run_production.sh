#!/usr/bin/env bash
# The production topology on this machine, without containers: nginx in front of
# $REPLICAS Rasa servers, action servers and handoff services, on the local PostgreSQL
# and Redis, under supervisord. Prints the public URLs; Ctrl-C stops everything.
# The same topology as deploy/ (containers) and tests/production (devtools/topology.py).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
REPLICAS=${REPLICAS:-2}
PUBLIC_PORT=${PUBLIC_PORT:-8080}
HOST=${PUBLIC_HOST:-127.0.0.1}
STATE=${STATE_DIR:-state/production}
POSTGRES=${POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432}
export TRACKER_STORE_URL=${TRACKER_STORE_URL:-$POSTGRES/wallet_support_tracker}
export HANDOFF_DATABASE_URL=${HANDOFF_DATABASE_URL:-$POSTGRES/wallet_support_handoff}
export OUTBOX_URL=${OUTBOX_URL:-$POSTGRES/wallet_support_outbox}
umask 077
mkdir -p "$STATE/logs"
chmod -R go-rwx "$STATE"

secret() {
  [ -s "$STATE/$1" ] || $BIN/python -c 'import secrets; print(secrets.token_urlsafe(32))' > "$STATE/$1"
  cat "$STATE/$1"
}
export RASA_AUTH_TOKEN=${RASA_AUTH_TOKEN:-$(secret rasa_auth_token)}
export HANDOFF_BOT_TOKEN=${HANDOFF_BOT_TOKEN:-$(secret handoff_bot_token)}
export CHAT_SESSION_SECRET=${CHAT_SESSION_SECRET:-$(secret chat_session_secret)}
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

if [ -s "$STATE/supervisord.pid" ]; then
  case $(ps -p "$(cat "$STATE/supervisord.pid")" -o command= 2>/dev/null || true) in
    *supervisord*)
      echo "error: the production topology is already running with $STATE/" >&2; exit 1 ;;
  esac
fi

# The shared services must be there before anything starts: a replica on its own
# state would split the conversations.
$BIN/python - <<'PY'
import os, sys
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

try:
    redis.Redis.from_url(os.environ.get("TOPOLOGY_REDIS_URL", "redis://127.0.0.1:6379")).ping()
except redis.RedisError as error:
    sys.exit(f"error: Redis is not reachable ({error})")
for variable in ("TRACKER_STORE_URL", "HANDOFF_DATABASE_URL", "OUTBOX_URL"):
    url = make_url(os.environ[variable])
    if url.get_backend_name() != "postgresql":
        sys.exit(f"error: {variable} must be a PostgreSQL URL in the production topology")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            ).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
                print(f"==> created the database {url.database}")
    except sa.exc.OperationalError as error:
        sys.exit(f"error: PostgreSQL is not reachable for {variable} ({error.orig})")
    finally:
        admin.dispose()
PY

# Ports of every replica (devtools.topology.Ports.fixed) must be free.
ports=$($BIN/python -c "
from devtools.topology import Ports
p = Ports.fixed($REPLICAS, $PUBLIC_PORT)
print(*[p.public, p.rasa_internal, p.actions_internal, *p.rasa, *p.actions, *p.handoff])")
for port in $ports; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: port $port is already in use (is make run or another topology running?)" >&2
    exit 1
  fi
done

echo "==> migrating once, before any replica starts"
$BIN/python -m handoff_service db upgrade >>"$STATE/logs/migrate.log" 2>&1 \
  || { echo "error: the migration failed, see $STATE/logs/migrate.log" >&2; exit 1; }
$BIN/python -m addons.tracker_store >>"$STATE/logs/migrate.log" 2>&1 \
  || { echo "error: the tracker tables could not be made, see $STATE/logs/migrate.log" >&2; exit 1; }
if [ ! -s "$STATE/demo_agent_token" ]; then
  $BIN/python -m handoff_service agent add demo --role admin 2>>"$STATE/logs/migrate.log" \
    | tail -n 1 > "$STATE/demo_agent_token"
fi
# The default canned replies: adds the missing ones, never overwrites an edited one.
$BIN/python -m handoff_service canned import handoff_service/canned_replies.yml \
  >>"$STATE/logs/migrate.log" 2>&1 \
  || echo "warning: the default canned replies were not imported, see $STATE/logs/migrate.log" >&2

$BIN/python -m devtools.topology write --state-dir "$STATE" --replicas "$REPLICAS" \
  --public-port "$PUBLIC_PORT" --public-host "$HOST" \
  --tracker-store-url "$TRACKER_STORE_URL" --handoff-database-url "$HANDOFF_DATABASE_URL" \
  --outbox-url "$OUTBOX_URL"
# Every process gets the topology's environment (the same as the tests').
eval "$($BIN/python -c "
import shlex
from pathlib import Path
from devtools.topology import Ports, Topology
t = Topology(state_dir=Path('$STATE'), ports=Ports.fixed($REPLICAS, $PUBLIC_PORT),
             tracker_store_url='', handoff_database_url='', public_host='$HOST')
skip = {'TRACKER_STORE_URL', 'HANDOFF_DATABASE_URL', 'OUTBOX_URL'}
for name, value in t.environment({}).items():
    if name not in skip:
        print(f'export {name}={shlex.quote(value)}')
")"

sup_pid=""
stop() {
  trap - EXIT INT TERM
  if [ -n "$sup_pid" ]; then
    kill -TERM "$sup_pid" 2>/dev/null || true
    wait "$sup_pid" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

CONF=$STATE/supervisord.conf
$BIN/supervisord -c "$CONF" &
sup_pid=$!
echo "==> starting nginx and $REPLICAS replicas of each process (logs in $STATE/logs/) ..."
ready=""
for _ in $(seq 1 300); do
  up=0
  for i in $(seq 0 $((REPLICAS - 1))); do
    curl -fsS "http://127.0.0.1:$((8000 + i))/api/health" >/dev/null 2>&1 && up=$((up + 1))
    curl -fsS "http://127.0.0.1:$((5055 + i))/health" >/dev/null 2>&1 && up=$((up + 1))
    printf 'url = "http://127.0.0.1:%s/status?token=%s"\n' "$((5005 + i))" "$RASA_AUTH_TOKEN" \
      | curl -fsS -K - 2>/dev/null | grep -q '"model_file"' && up=$((up + 1))
  done
  if [ "$up" = $((3 * REPLICAS)) ] \
     && curl -fsS "http://$HOST:$PUBLIC_PORT/api/health" >/dev/null 2>&1; then
    ready=yes; break
  fi
  kill -0 "$sup_pid" 2>/dev/null \
    || { echo "error: supervisord exited, see $STATE/logs/supervisord.log" >&2; exit 1; }
  case $($BIN/supervisorctl -c "$CONF" status 2>/dev/null || true) in
    *FATAL*) echo "error: a process keeps failing to start, see $STATE/logs/" >&2; exit 1 ;;
  esac
  sleep 1
done
[ -n "$ready" ] || { echo "error: not ready after 5 minutes, see $STATE/logs/" >&2; exit 1; }

cat <<INFO

  The production topology is running: nginx in front of $REPLICAS replicas of each process,
  on PostgreSQL (${TRACKER_STORE_URL%%/wallet*}) and Redis.

  Chat widget (users)     http://$HOST:$PUBLIC_PORT/widget/
  Agent console (agents)  http://$HOST:$PUBLIC_PORT/console/
    demo agent token:     $(cat "$STATE/demo_agent_token")

  Replicas (loopback)     Rasa :5005.., actions :5055.., handoff :8000..
  Status                  .venv/bin/supervisorctl -c $CONF status

  A replica that crashes is restarted; the others serve meanwhile. Ctrl-C stops everything.
INFO
wait "$sup_pid"
