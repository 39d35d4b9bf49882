#!/usr/bin/env bash
# The production set-up of docs/deployment.md on loopback, for a test: nginx (Debian's) with a
# self-signed certificate terminating TLS on 127.0.0.1:TLS_PORT in front of an already running
# `critmin serve` on 127.0.0.1:APP_PORT.
#   scripts/deploy_loopback.sh start DIR TLS_PORT APP_PORT   (writes DIR/cert.pem, DIR/nginx.conf)
#   scripts/deploy_loopback.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
case $cmd in
  start)
    tls=${3:?tls port}; app=${4:?app port}
    mkdir -p "$dir/logs" "$dir/tmp"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1
    here=$(cd "$(dirname "$0")/.." && pwd)
    site=$(sed -e "s|@LISTEN@|127.0.0.1:$tls|" -e "s|@SERVER_NAME@|localhost|" -e "s|@CERT@|$dir/cert.pem|" \
               -e "s|@KEY@|$dir/key.pem|" -e "s|@UPSTREAM@|127.0.0.1:$app|" "$here/deploy/nginx-critmin.conf.template")
    cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log $dir/logs/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
$site
}
CONF
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" -t >/dev/null 2>&1 || "$NGINX" -p "$dir" -c "$dir/nginx.conf" -t
    "$NGINX" -p "$dir" -c "$dir/nginx.conf"
    ;;
  stop)
    if [ -f "$dir/nginx.pid" ]; then "$NGINX" -p "$dir" -c "$dir/nginx.conf" -s stop || true; fi
    ;;
  *) echo "usage: $0 start DIR TLS_PORT APP_PORT | stop DIR" >&2; exit 2 ;;
esac
