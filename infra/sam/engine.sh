#!/usr/bin/env bash
# Docker's engine for `sam local`: started only when none answers, and stopped only if started here.
#
#   infra/sam/engine.sh start   install Debian's docker.io if dockerd is missing, start dockerd if no
#                               engine answers, wait for it (deadline ENGINE_WAIT seconds, default 60)
#   infra/sam/engine.sh stop    stop the dockerd that `start` started (its pid is in .local/dockerd.pid);
#                               an engine that was already running is left alone
#   infra/sam/engine.sh bridge  print the default bridge's own address (where the containers reach
#                               the host: `--add-host host.docker.internal:host-gateway`)
set -euo pipefail
cd "$(dirname "$0")/../.."

STATE_DIR=.local
PID_FILE=$STATE_DIR/dockerd.pid
LOG_FILE=$STATE_DIR/dockerd.log
WAIT_SECONDS=${ENGINE_WAIT:-60}

engine_answers() { docker info >/dev/null 2>&1; }

install_docker() {
  if command -v dockerd >/dev/null 2>&1; then
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: dockerd is not installed; install Docker (Debian: sudo apt-get install docker.io)" >&2
    exit 1
  fi
  echo "installing Debian's docker.io (dockerd) ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

start() {
  if engine_answers; then
    echo "Docker engine: already running (left as it is)"
    return
  fi
  install_docker
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: no Docker engine answers, and starting dockerd needs root" >&2
    exit 1
  fi
  mkdir -p "$STATE_DIR"
  # Only the local unix socket (dockerd's default): nothing listens on the network.
  setsid dockerd --host unix:///var/run/docker.sock >"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + WAIT_SECONDS))
  until engine_answers; do
    if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      rm -f "$PID_FILE"
      echo "error: dockerd exited; its log: $LOG_FILE" >&2
      tail -n 20 "$LOG_FILE" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: dockerd did not answer within ${WAIT_SECONDS} s; its log: $LOG_FILE" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "Docker engine: started dockerd (pid $(cat "$PID_FILE"), log $LOG_FILE); 'make sam-local-stop' stops it"
}

stop() {
  if [ ! -f "$PID_FILE" ]; then
    echo "Docker engine: not started by this checkout; nothing to stop"
    return
  fi
  local pid
  pid=$(cat "$PID_FILE")
  # A stale pid file (a reboot) must not make us signal whatever now has that pid.
  if ! kill -0 "$pid" 2>/dev/null || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
    rm -f "$PID_FILE"
    echo "Docker engine: dockerd $pid is no longer running"
    return
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "error: dockerd $pid did not stop within 30 s" >&2
      exit 1
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  echo "Docker engine: stopped dockerd $pid"
}

bridge() {
  # The bridge interface's own address (docker0, 172.17.0.1 unless dockerd is told otherwise):
  # Docker's IPAM leaves the gateway blank until a container has run.
  local name
  name=$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}')
  ip -4 -o addr show dev "${name:-docker0}" | awk '{split($4, a, "/"); print a[1]; exit}'
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  bridge) bridge ;;
  *)
    echo "usage: $0 start|stop|bridge" >&2
    exit 2
    ;;
esac
