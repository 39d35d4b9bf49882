#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for tests:
#   scripts/pg_cluster.sh start DIR   -> initdb + pg_ctl start in DIR; prints the URL
#                                        postgresql://USER@127.0.0.1:PORT/critmin (trust auth, loopback only)
#   scripts/pg_cluster.sh stop DIR
# PostgreSQL refuses to run as root; as root the cluster runs as the `postgres` user (Debian's).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
bin=""
for b in /usr/lib/postgresql/*/bin; do [ -x "$b/pg_ctl" ] && bin=$b; done
if [ -z "$bin" ]; then bin=$(dirname "$(command -v pg_ctl)"); fi
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
user=$( [ "$(id -u)" = 0 ] && echo postgres || id -un )
case $cmd in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as "$bin/initdb" -D "$dir/data" -A trust -U "$user" -E UTF8 --no-sync >"$dir/initdb.log" 2>&1
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    as "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" critmin
    echo "$port" > "$dir/port"
    echo "postgresql://$user@127.0.0.1:$port/critmin"
    ;;
  stop)
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
