#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on their default ports (the machine starts them;
# this starts them again if they stopped) — the integration tests need both.
set -uo pipefail
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! pg_up && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis_up && command -v redis-server >/dev/null; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
for _ in $(seq 1 30); do pg_up && redis_up && break; sleep 1; done
pg_up && echo "postgres: up" || echo "postgres: NOT reachable on 127.0.0.1:5432"
redis_up && echo "redis: up" || echo "redis: NOT reachable on 127.0.0.1:6379"
