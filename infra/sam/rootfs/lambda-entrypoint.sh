#!/bin/sh
# The image's entry point, as in AWS's images (`docker run <image> <handler>`). SAM CLI does not
# use it: it starts its own emulator (/var/rapid/aws-lambda-rie), which runs /var/runtime/bootstrap.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ] && [ -x /usr/local/bin/aws-lambda-rie ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap
fi
exec /var/runtime/bootstrap
