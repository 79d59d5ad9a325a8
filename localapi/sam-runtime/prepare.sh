#!/usr/bin/env bash
# Prepare this host so that `sam local invoke` and `sam local start-api` run here without Docker:
# podman (and its API socket, which SAM speaks to as DOCKER_HOST), qemu for arm64, and a stand-in
# for Amazon's public.ecr.aws/lambda/python:3.13-arm64 built from Debian and PyPI packages.
#
# Idempotent: what is already in place is left alone, and the image is rebuilt only when its
# recipe (this folder's build inputs plus the boto3/botocore pins) changes. Where a Docker engine
# answers, or Amazon's image is already present, it is used and nothing is built.
#
# On failure: exit 1 with one line on stderr saying why (details in .tools/sam-runtime/*.log).
# Environment: SAM_RUNTIME_STATE (default <repo>/.tools/sam-runtime), SAM_RUNTIME_SOCKET (default
# /run/podman/podman.sock), SAM_RUNTIME_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STATE="${SAM_RUNTIME_STATE:-$ROOT/.tools/sam-runtime}"
SOCKET="${SAM_RUNTIME_SOCKET:-/run/podman/podman.sock}"
IMAGE="public.ecr.aws/lambda/python:3.13-arm64"
LABEL="io.samlocal.sam-runtime.recipe"
DROPIN=/etc/containers/containers.conf.d/50-sam-runtime.conf

die() {
	echo "sam-runtime: cannot prepare sam local: $*" >&2
	exit 1
}
say() { echo "sam-runtime: $*"; }

# The API at a DOCKER_HOST-style address: prints the engine's /version JSON, or fails.
engine_version() {
	local host="$1"
	case "$host" in
	unix://*) curl -sf --max-time 5 --unix-socket "${host#unix://}" http://d/version ;;
	tcp://*) curl -sf --max-time 5 "http://${host#tcp://}/version" ;;
	*) return 1 ;;
	esac
}

# Hash of everything that goes into the image: the build script and its helper, the files it
# copies in, this folder's runtime pins and the project's boto3/botocore pins (requirements-dev.txt).
IMAGE_INPUTS=(build-image.sh compile-bytecode.py runtime-requirements.txt rootfs)
recipe_hash() {
	{
		cd "$HERE" && find "${IMAGE_INPUTS[@]}" -type f -print0 | sort -z | xargs -0 stat -c '%a %n' &&
			find "${IMAGE_INPUTS[@]}" -type f -print0 | sort -z | xargs -0 sha256sum
		grep -iE '^(boto3|botocore)==' "$ROOT/requirements-dev.txt"
	} | sha256sum | cut -c1-16
}

command -v curl >/dev/null 2>&1 || [ "$(id -u)" = 0 ] || die "curl is missing and this is not root"

mkdir -p "$STATE" 2>/dev/null || die "cannot create $STATE"

# 1. A real Docker engine (DOCKER_HOST, else the default socket): SAM uses it and pulls Amazon's
#    image itself. A podman socket answering there is not one (podman is prepared below).
if command -v curl >/dev/null 2>&1; then
	for host in ${DOCKER_HOST:-} unix:///var/run/docker.sock; do
		if version="$(engine_version "$host" 2>/dev/null)" && [[ "$version" != *Podman* ]]; then
			[ "$(cat "$STATE/docker-host" 2>/dev/null)" = "$host" ] || echo "$host" >"$STATE/docker-host"
			say "a Docker engine answers at $host: sam local uses it and Amazon's image, nothing to build"
			exit 0
		fi
	done
fi

# 2. This host: root, Debian or Ubuntu.
[ "$(id -u)" = 0 ] || die "needs root (podman rootful, binfmt_misc, apt-get); run as root or use Docker"
# shellcheck disable=SC1091
ids="$(. /etc/os-release 2>/dev/null && echo "${ID:-unknown} ${ID_LIKE:-}")" || ids=unknown
[[ " $ids " == *" debian "* || " $ids " == *" ubuntu "* ]] || die "not a Debian/Ubuntu host (/etc/os-release: ID=${ids%% *})"
arch="$(uname -m)"

exec 9>"$STATE/lock"
flock -w 1800 9 || die "another make sam-runtime holds $STATE/lock"

# 3. Packages, installed only when a command is missing.
# The package of each command (netavark brings aardvark-dns, its DNS for container networks).
missing() {
	local cmd package
	for pair in podman:podman runc:runc netavark:netavark,aardvark-dns conmon:conmon iptables:iptables \
		debootstrap:debootstrap update-binfmts:binfmt-support curl:curl; do
		cmd="${pair%%:*}" package="${pair#*:}"
		command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/lib/podman/$cmd" ] || echo "${package//,/ }"
	done
	[ "$arch" = aarch64 ] || [ -x /usr/bin/qemu-aarch64-static ] || echo qemu-user-static
}
read -r -a need <<<"$(missing | tr '\n' ' ')"
if [ "${#need[@]}" -gt 0 ]; then
	PACKAGES=("${need[@]}")
	say "installing ${PACKAGES[*]}"
	# binfmt_misc mounted first, so that qemu-user-static's postinst registers its formats.
	[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
	{
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q && apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
	} >"$STATE/apt.log" 2>&1 || die "apt-get install ${PACKAGES[*]} failed (see $STATE/apt.log: $(tail -n 1 "$STATE/apt.log"))"
	read -r -a need <<<"$(missing | tr '\n' ' ')"
	[ "${#need[@]}" = 0 ] || die "apt-get installed ${PACKAGES[*]} but ${need[*]} still lacks its command (see $STATE/apt.log)"
fi

# 4. podman's settings for this kind of host.
cap() { [ "$2" = unlimited ] || [ "$1" -le "$2" ] && echo "$1" || echo "$2"; }
nofile="$(cap 20000 "$(ulimit -Hn)")" nproc="$(cap 32768 "$(ulimit -Hu)")"
dropin="$(sed -e "s/nofile=20000:20000/nofile=$nofile:$nofile/" -e "s/nproc=32768:32768/nproc=$nproc:$nproc/" \
	"$HERE/containers.conf")"
if [ "$(cat "$DROPIN" 2>/dev/null)" != "$dropin" ]; then
	mkdir -p "$(dirname "$DROPIN")" && echo "$dropin" >"$DROPIN" || die "cannot write $DROPIN"
	say "wrote $DROPIN"
fi

# 5. arm64 binaries under qemu: binfmt_misc mounted, aarch64 registered with the F (fix binary)
#    flag, so that it works inside containers, whose root has no qemu.
if [ "$arch" != aarch64 ]; then
	if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
			die "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc (a container without that right?)"
	fi
	entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
	if [ ! -e "$entry" ] || ! grep -qx enabled "$entry"; then
		update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
		update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
		say "registered qemu-aarch64 with binfmt_misc"
	fi
	[ -e "$entry" ] && grep -qx enabled "$entry" || die "qemu-aarch64 is not registered with binfmt_misc (update-binfmts --enable qemu-aarch64 failed)"
	grep -q '^flags: .*F' "$entry" || die "qemu-aarch64 is registered without the F flag: arm64 would fail inside containers"
fi

# 6. podman's Docker-compatible API socket, for SAM as DOCKER_HOST.
if ! version="$(engine_version "unix://$SOCKET" 2>/dev/null)"; then
	mkdir -p "$(dirname "$SOCKET")"
	rm -f "$SOCKET"
	# Detached, and without fd 9: the service must not hold this script's lock once it has exited.
	# From /: the service is the machine's, and every container it starts inherits its working
	# folder; started in a clone that is later removed, container starts fail ("write child:
	# broken pipe").
	(cd / && exec setsid podman system service --time=0 "unix://$SOCKET" </dev/null >>"$STATE/podman-service.log" 2>&1 9>&-) &
	echo $! >"$STATE/podman-service.pid"
	for _ in $(seq 1 50); do
		version="$(engine_version "unix://$SOCKET" 2>/dev/null)" && break
		kill -0 "$(cat "$STATE/podman-service.pid")" 2>/dev/null ||
			die "podman system service exited (see $STATE/podman-service.log: $(tail -n 1 "$STATE/podman-service.log"))"
		sleep 0.2
	done
	[ -n "${version:-}" ] || die "podman system service does not answer on $SOCKET after 10 s"
	say "started podman system service on unix://$SOCKET (pid $(cat "$STATE/podman-service.pid"))"
fi
[ "$(cat "$STATE/docker-host" 2>/dev/null)" = "unix://$SOCKET" ] || echo "unix://$SOCKET" >"$STATE/docker-host"

# 7. The image: Amazon's if it is there, else the stand-in, built again only when its recipe changed.
want="$(recipe_hash)"
if podman image exists "$IMAGE"; then
	have="$(podman image inspect --format "{{ index .Labels \"$LABEL\" }}" "$IMAGE" 2>/dev/null || true)"
	if [ -z "$have" ] || [ "$have" = "<no value>" ]; then
		say "$IMAGE is present and was not built here (Amazon's): using it, nothing to build"
		exit 0
	fi
	if [ "$have" = "$want" ]; then
		say "ready: $IMAGE (stand-in, recipe $want), DOCKER_HOST=unix://$SOCKET"
		exit 0
	fi
	say "recipe changed ($have -> $want): rebuilding $IMAGE"
fi
say "building the stand-in $IMAGE (recipe $want; about a minute; log: $STATE/build.log)"
start=$SECONDS
RECIPE_HASH="$want" IMAGE="$IMAGE" LABEL="$LABEL" WORK="$STATE/build" PYTHON313="${PYTHON313:-}" \
	bash "$HERE/build-image.sh" >"$STATE/build.log" 2>&1 ||
	die "building $IMAGE failed (see $STATE/build.log: $(tail -n 1 "$STATE/build.log"))"
say "ready: $IMAGE built in $((SECONDS - start)) s, DOCKER_HOST=unix://$SOCKET"
