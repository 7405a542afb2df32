#!/usr/bin/env bash
# Sourced by scripts/test.sh: make a PostgreSQL and a Redis server available to the distributed
# tests, and export TEST_POSTGRES_URL and TEST_REDIS_URL.
#
# If servers already answer on 127.0.0.1 (5432 and 6379, or TEST_POSTGRES_URL/TEST_REDIS_URL as
# given), they are used: every test makes its own database and its own key prefix. Otherwise
# private instances are started in .test-services/ on other ports (installing Debian's
# postgresql and redis-server packages first if they are missing) and stopped when the tests
# end. Nothing here is skipped: without both servers the tests fail.

_qr_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_qr_dir="$_qr_root/.test-services"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

_qr_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "test-services: need root for: $*" >&2; return 1; fi
}

_qr_postgres_up() {
    "$_qr_root/.venv/bin/python" - "$TEST_POSTGRES_URL" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PY
}

_qr_redis_up() {
    "$_qr_root/.venv/bin/python" - "$TEST_REDIS_URL" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
PY
}

_qr_start_postgres() {
    local bindir
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$bindir" ]; then
        echo "test-services: installing postgresql (apt-get)" >&2
        _qr_as_root apt-get update -qq && _qr_as_root apt-get install -y -qq postgresql >/dev/null
        bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    fi
    local data="$_qr_dir/pg" port=55432 run_as=()
    mkdir -p "$_qr_dir"
    if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root
        chown postgres "$_qr_dir" 2>/dev/null || true
        run_as=(runuser -u postgres --)
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        "${run_as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -l "$_qr_dir/pg.log" -w \
        -o "-p $port -k $_qr_dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    export TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
    _QR_STOP+=("${run_as[*]} $bindir/pg_ctl -D $data -m fast stop")
}

_qr_start_redis() {
    if ! command -v redis-server >/dev/null; then
        echo "test-services: installing redis-server (apt-get)" >&2
        _qr_as_root apt-get update -qq && _qr_as_root apt-get install -y -qq redis-server >/dev/null
    fi
    local port=56379
    mkdir -p "$_qr_dir"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
        --dir "$_qr_dir" --logfile "$_qr_dir/redis.log" --pidfile "$_qr_dir/redis.pid"
    export TEST_REDIS_URL="redis://127.0.0.1:$port/0"
    _QR_STOP+=("kill \$(cat $_qr_dir/redis.pid)")
}

_qr_postgres_binaries() {  # a test restarts a PostgreSQL of its own (tests/support/private_postgres.py)
    if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
        echo "test-services: installing postgresql's binaries (apt-get)" >&2
        _qr_as_root apt-get update -qq && _qr_as_root apt-get install -y -qq postgresql >/dev/null
    fi
}

_QR_STOP=()
_qr_postgres_binaries
_qr_postgres_up || { echo "test-services: no PostgreSQL at $TEST_POSTGRES_URL; starting one" >&2; _qr_start_postgres; }
_qr_redis_up || { echo "test-services: no Redis at $TEST_REDIS_URL; starting one" >&2; _qr_start_redis; }
_qr_postgres_up || { echo "test-services: PostgreSQL is not reachable at $TEST_POSTGRES_URL" >&2; exit 1; }
_qr_redis_up || { echo "test-services: Redis is not reachable at $TEST_REDIS_URL" >&2; exit 1; }

qr_stop_test_services() {
    local command
    for command in "${_QR_STOP[@]}"; do eval "$command" >/dev/null 2>&1 || true; done
}
