#!/usr/bin/env bash
# Make sure the PostgreSQL, Redis and RabbitMQ servers the tests use are installed and running on
# 127.0.0.1, and that nginx, promtool and kubectl (make deploy-check) are installed.
# Idempotent: does nothing when both already answer.
set -euo pipefail

PG_PORT=5432
REDIS_PORT=6379
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -h 127.0.0.1 -p "$PG_PORT" -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "installing PostgreSQL"
  apt_install postgresql postgresql-client
fi
if ! pg_up; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests connect as postgres over TCP without a password, as on the development machines.
  if ! grep -q "stockdash-ci" "$hba"; then
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust # stockdash-ci\nhost all all ::1/128 trust # stockdash-ci' "$hba"
  fi
  echo "starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL did not start on 127.0.0.1:$PG_PORT" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null

if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing Redis"
  apt_install redis-server
fi
if ! redis_up; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
redis_up || { echo "Redis did not start on 127.0.0.1:$REDIS_PORT" >&2; exit 1; }

# RabbitMQ: the queue tests and the scale-out suite use it as a real broker.
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "installing RabbitMQ"
  apt_install rabbitmq-server
fi
if ! rabbit_up; then
  echo "starting RabbitMQ"
  $SUDO rabbitmq-server -detached || true
  for _ in $(seq 1 60); do rabbit_up && break; sleep 1; done
fi
rabbit_up || { echo "RabbitMQ did not start on 127.0.0.1:5672" >&2; exit 1; }

# nginx (Debian's, run unprivileged by the tests) balances the API instances in tests/scale.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx"
  apt_install nginx-light
fi
# make deploy-check: promtool (Debian's prometheus package; its service is not started) and
# kubectl (for `kubectl kustomize`; from the Kubernetes apt repository these machines carry).
if ! command -v promtool >/dev/null 2>&1; then
  echo "installing promtool (Debian prometheus)"
  apt_install prometheus
fi
if ! command -v kubectl >/dev/null 2>&1; then
  echo "installing kubectl"
  apt_install kubectl
fi
echo "PostgreSQL, Redis and RabbitMQ are up; nginx, promtool and kubectl are installed."
