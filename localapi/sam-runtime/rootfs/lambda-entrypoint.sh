#!/bin/sh
# ENTRYPOINT of the stand-in image, as in Amazon's: the command is the handler. sam local does not
# use it (it starts its own emulator, /var/rapid/aws-lambda-rie, which runs /var/runtime/bootstrap).
if [ $# -ne 1 ]; then
	echo "entrypoint requires the handler name to be the first argument" >&2
	exit 142
fi
export _HANDLER="$1"
if [ -n "${AWS_LAMBDA_RUNTIME_API:-}" ]; then
	exec /var/runtime/bootstrap
fi
for rie in /usr/local/bin/aws-lambda-rie /var/rapid/aws-lambda-rie; do
	[ -x "$rie" ] && exec "$rie" /var/runtime/bootstrap
done
echo "no AWS_LAMBDA_RUNTIME_API and no runtime interface emulator in this stand-in image (sam local adds one)" >&2
exit 1
