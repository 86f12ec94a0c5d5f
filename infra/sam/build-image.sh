#!/usr/bin/env bash
# The Lambda image that `sam local` runs the functions in: public.ecr.aws/lambda/python:3.13-<arch>.
#
# AWS's own image is used when it is already here or can be pulled. Otherwise a stand-in is built
# offline (package registries only) and tagged with that exact name, so that `sam local ...
# --skip-pull-image` uses it: Debian trixie (debootstrap) with Debian's python3.13, AWS's runtime
# interface client awslambdaric and boto3 from PyPI in /var/runtime, and a /var/runtime/bootstrap
# that runs the handler as AWS's images do. SAM CLI adds its own emulator (aws-lambda-rie) on top.
#
#   infra/sam/build-image.sh [x86_64|arm64]   default: this machine's architecture
#
# Built once per machine: an existing image of that name is kept (`docker rmi` it to rebuild).
set -euo pipefail
cd "$(dirname "$0")/../.."

case "${1:-$(uname -m)}" in
  x86_64 | amd64) ARCH=x86_64 DEB_ARCH=amd64 WHEEL_PLATFORM=x86_64-manylinux_2_28 ;;
  arm64 | aarch64) ARCH=arm64 DEB_ARCH=arm64 WHEEL_PLATFORM=aarch64-manylinux_2_28 ;;
  *)
    echo "usage: $0 [x86_64|arm64]" >&2
    exit 2
    ;;
esac
IMAGE=public.ecr.aws/lambda/python:3.13-$ARCH
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# boto3 as the tests pin it (pyproject.toml: 1.43.x, for moto): the version in .venv, else the newest 1.43.
BOTO3_SPEC="boto3>=1.43,<1.44"
if [ -x .venv/bin/python ]; then
  BOTO3_SPEC="boto3==$(.venv/bin/python -c 'import boto3; print(boto3.__version__)')"
fi
UV=${UV:-.venv/bin/uv}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "Lambda image: $IMAGE is here"
  exit 0
fi
if timeout 60 docker pull --quiet "$IMAGE" >/dev/null 2>&1; then
  echo "Lambda image: pulled AWS's $IMAGE"
  exit 0
fi

echo "Lambda image: $IMAGE cannot be pulled; building the stand-in (Debian trixie, python3.13, awslambdaric, $BOTO3_SPEC) ..."
started=$SECONDS
if [ "$(id -u)" -ne 0 ]; then
  echo "error: building the stand-in needs root (debootstrap, chroot)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
fi

ROOT=$(mktemp -d /tmp/lambda-python313-rootfs.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT

# Python 3.13 with its whole standard library, CA certificates and time zones, as AWS's images have.
packages=python3.13,ca-certificates,tzdata
if [ "$DEB_ARCH" = "$(dpkg --print-architecture)" ]; then
  debootstrap --variant=minbase --arch="$DEB_ARCH" --include="$packages" trixie "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 ||
    { tail -n 30 "$ROOT.log" >&2; exit 1; }
else
  # Another architecture: the second stage runs under qemu-user-static's binfmt emulation.
  command -v qemu-aarch64-static >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user-static >/dev/null
  debootstrap --foreign --variant=minbase --arch="$DEB_ARCH" --include="$packages" trixie "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 &&
    chroot "$ROOT" /debootstrap/debootstrap --second-stage >>"$ROOT.log" 2>&1 ||
    { tail -n 30 "$ROOT.log" >&2; exit 1; }
fi
rm -f "$ROOT.log"

# The runtime's Python packages where AWS's images keep the runtime: /var/runtime (on PYTHONPATH).
mkdir -p "$ROOT/var/runtime" "$ROOT/var/task" "$ROOT/var/lang/bin" "$ROOT/opt"
"$UV" pip install --quiet --target "$ROOT/var/runtime" --python-version 3.13 --python-platform "$WHEEL_PLATFORM" \
  --only-binary :all: awslambdaric "$BOTO3_SPEC"
rm -rf "$ROOT/var/runtime/bin"
install -m 0755 infra/sam/rootfs/bootstrap "$ROOT/var/runtime/bootstrap"
install -m 0755 infra/sam/rootfs/lambda-entrypoint.sh "$ROOT/lambda-entrypoint.sh"
ln -s /usr/bin/python3.13 "$ROOT/var/lang/bin/python3.13"
ln -s python3.13 "$ROOT/var/lang/bin/python3"
ln -s python3.13 "$ROOT/var/lang/bin/python"
# Bytecode for the runtime's packages, as AWS ships them: boto3's import is part of every cold start.
chroot "$ROOT" /usr/bin/python3.13 -m compileall -q -j 0 /var/runtime >/dev/null

# Small: no documentation, manual pages, translations, apt lists or caches, logs.
rm -rf "$ROOT"/usr/share/{doc,man,info,locale,lintian,linda} "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/* \
  "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/log/* "$ROOT"/tmp/*
mkdir -p "$ROOT/usr/share/doc" "$ROOT/usr/share/man"

# The environment AWS's python3.13 image declares (LANG: Debian's built-in C.UTF-8 locale).
tar -C "$ROOT" --numeric-owner -c . | docker import --platform "linux/$DEB_ARCH" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV TZ=:/etc/localtime' \
  --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin' \
  --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'ENV PYTHONPATH=/var/runtime' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
  - "$IMAGE" >/dev/null

size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
echo "Lambda image: built the stand-in $IMAGE in $((SECONDS - started)) s ($((size / 1000000)) MB)"
