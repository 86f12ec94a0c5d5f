#!/usr/bin/env bash
# `make sam-local`: the functions in SAM CLI's Lambda containers, against the local AWS.
#
# 1. Docker's engine (infra/sam/engine.sh start: installs docker.io, starts dockerd if none answers)
# 2. the Lambda image public.ecr.aws/lambda/python:3.13-<arch> (infra/sam/build-image.sh)
# 3. sam build for this machine's architecture (Architecture=x86_64 or arm64)
# 4. the local AWS: `python -m infra.local` with moto on the address the containers reach the host
#    by (host.docker.internal:5000, as infra/sam/env-vars.json says)
# 5. sam local start-api on 127.0.0.1:$SAM_API_PORT (default 3001), in the foreground
#
# Ctrl-C stops what steps 4 and 5 started (sam removes its containers). A dockerd started in step 1 keeps running (the next
# start is quicker); `make sam-local-stop` stops it, and never an engine that was already running.
set -euo pipefail
cd "$(dirname "$0")/../.."

SAM=${SAM:-.venv-sam/bin/sam}
PYTHON=${PYTHON:-.venv/bin/python}
SAM_API_PORT=${SAM_API_PORT:-3001}
LOCAL_API_PORT=${LOCAL_API_PORT:-3000}
MOTO_PORT=5000 # the port infra/sam/env-vars.json names

case "$(uname -m)" in
  x86_64 | amd64) ARCH=x86_64 ;;
  arm64 | aarch64) ARCH=arm64 ;;
  *) echo "error: no Lambda architecture for $(uname -m)" >&2; exit 1 ;;
esac

infra/sam/engine.sh start
infra/sam/build-image.sh "$ARCH"
PATH="$(dirname "$(infra/tools/find-python)"):$PATH" \
  "$SAM" build --template template.yaml --parameter-overrides "Architecture=$ARCH"

# Linux: containers reach the host at the bridge's own address (host-gateway); Docker Desktop
# (macOS) forwards host.docker.internal to the host's loopback.
if [ "$(uname -s)" = Linux ]; then
  MOTO_HOST=$(infra/sam/engine.sh bridge)
else
  MOTO_HOST=127.0.0.1
fi

stack_pid=""
stop_stack() {
  [ -n "$stack_pid" ] || return 0
  kill -TERM "$stack_pid" 2>/dev/null || return 0
  local deadline=$((SECONDS + 15))
  while kill -0 "$stack_pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "warning: the local stack did not stop within 15 s of SIGTERM; killing it" >&2
      kill -KILL "$stack_pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  wait "$stack_pid" 2>/dev/null || true
}
trap stop_stack EXIT
# Ctrl-C reaches sam (in the foreground), which removes its containers and exits; then the EXIT trap.
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p .local
"$PYTHON" -m infra.local --moto-host "$MOTO_HOST" --moto-port "$MOTO_PORT" --api-port "$LOCAL_API_PORT" \
  >.local/sam-local-stack.log 2>&1 &
stack_pid=$!
deadline=$((SECONDS + 60))
until grep -q "local stack up" .local/sam-local-stack.log; do
  if ! kill -0 "$stack_pid" 2>/dev/null; then
    cat .local/sam-local-stack.log >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "error: the local stack did not start within 60 s; see .local/sam-local-stack.log" >&2
    exit 1
  fi
  sleep 0.2
done
echo "local AWS: moto on http://$MOTO_HOST:$MOTO_PORT (the functions: http://host.docker.internal:$MOTO_PORT);" \
  "the local stack on http://127.0.0.1:$LOCAL_API_PORT emails what is stored (.local/outbox/); log .local/sam-local-stack.log"
echo "sam local start-api on http://127.0.0.1:$SAM_API_PORT/callback-requests (Ctrl-C stops it)"

"$SAM" local start-api --host 127.0.0.1 --port "$SAM_API_PORT" \
  --parameter-overrides "Architecture=$ARCH" --env-vars infra/sam/env-vars.json \
  --add-host host.docker.internal:host-gateway --skip-pull-image --region us-east-1 --warm-containers LAZY
