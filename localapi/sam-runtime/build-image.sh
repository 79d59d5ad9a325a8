#!/usr/bin/env bash
# Build the stand-in for public.ecr.aws/lambda/python:3.13-arm64 (README.md beside this file):
# an arm64 Debian trixie userland (trixie carries python3.13), Lambda's layout and environment,
# and in /var/runtime awslambdaric plus the project's boto3/botocore pins.
#
# Fast by design: the packages are resolved and fetched by debootstrap's first stage and unpacked
# by the host's own tools; nothing is installed by emulated dpkg (debootstrap's second stage took
# about 5 minutes under qemu here). The few things their maintainer scripts do that a function can
# notice are done below, by name. Bytecode is compiled by the host's Python 3.13 when its magic
# number is the image interpreter's, else by the image's interpreter under qemu.
#
# Run by prepare.sh, as root, with qemu-aarch64 registered with binfmt_misc on a non-arm64 host.
# Inputs: RECIPE_HASH (stored as a label: prepare.sh rebuilds only when it changes), IMAGE, LABEL,
# WORK (scratch folder), PYTHON313 (optional), SAM_RUNTIME_MIRROR (default
# http://deb.debian.org/debian).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${RECIPE_HASH:?}" "${IMAGE:?}" "${LABEL:?}" "${WORK:?}"
MIRROR="${SAM_RUNTIME_MIRROR:-http://deb.debian.org/debian}"
SUITE=trixie
PACKAGES=python3.13,ca-certificates,tzdata # and what they depend on, plus Debian's required set
mkdir -p "$WORK" "$WORK/../debootstrap-cache"
WORK="$(cd "$WORK" && pwd)"
CACHE="$(cd "$WORK/../debootstrap-cache" && pwd)"
ROOTFS="$WORK/rootfs"
step() { echo "== $(date +%T) $*"; }
# Host Pythons 3.13, as the project's Makefile looks for them (PYTHON313, PATH, pyenv, /usr).
pythons313=(${PYTHON313:-} python3.13 $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null)
	/usr/local/bin/python3.13 /usr/bin/python3.13)
in_image() { chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }

rm -rf "$ROOTFS"
mkdir -p "$ROOTFS"

step "fetch $SUITE arm64 packages ($PACKAGES and dependencies) and unpack Debian's required set"
debootstrap --foreign --arch=arm64 --variant=minbase --components=main --cache-dir="$CACHE" \
	--include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR"

step "unpack the rest on the host: $(cat "$ROOTFS/debootstrap/base")"
for package in $(cat "$ROOTFS/debootstrap/base"); do
	deb="$(awk -v p="$package" '$1 == p { print $2 }' "$ROOTFS/debootstrap/debpaths")"
	dpkg-deb --extract "$ROOTFS/$deb" "$ROOTFS"
done
mkdir -p "$ROOTFS/usr/share/sam-runtime"
awk '{ n = split($2, part, "/"); print part[n] }' "$ROOTFS/debootstrap/debpaths" | sed 's/\.deb$//' | sort \
	>"$ROOTFS/usr/share/sam-runtime/debs.txt"
rm -rf "$ROOTFS/debootstrap" "$ROOTFS"/var/cache/apt/archives/*.deb
# In a container debootstrap links /proc to the host's and makes device nodes; the runtime mounts
# its own /proc and /dev, on plain folders.
rm -rf "$ROOTFS/proc" "$ROOTFS/dev" && mkdir -m 755 "$ROOTFS/proc" "$ROOTFS/dev"

step "what the maintainer scripts do that a function can notice"
# base-passwd: users and groups. base-files: profile, motd, standard folders. libc-bin: NSS
# (without nsswitch.conf glibc asks DNS before /etc/hosts and never reaches it for
# host.containers.internal) and the linker cache. debianutils, mawk: shells, which, awk.
# tzdata: UTC. python3.13-minimal: the local site folder.
cp "$ROOTFS/usr/share/base-passwd/passwd.master" "$ROOTFS/etc/passwd"
cp "$ROOTFS/usr/share/base-passwd/group.master" "$ROOTFS/etc/group"
cp -p "$ROOTFS/usr/share/base-files/profile" "$ROOTFS/etc/profile"
cp -p "$ROOTFS/usr/share/base-files/motd" "$ROOTFS/etc/motd"
cp -p "$ROOTFS/usr/share/base-files/dot.profile" "$ROOTFS/root/.profile"
cp -p "$ROOTFS/usr/share/base-files/dot.bashrc" "$ROOTFS/root/.bashrc"
cp -p "$ROOTFS/usr/share/libc-bin/nsswitch.conf" "$ROOTFS/etc/nsswitch.conf"
printf '%s\n' "# /etc/shells: valid login shells" /bin/sh /usr/bin/sh /bin/bash /usr/bin/bash /usr/bin/dash \
	>"$ROOTFS/etc/shells"
ln -sfn /usr/bin/mawk "$ROOTFS/usr/bin/awk"
ln -sfn /usr/bin/which.debianutils "$ROOTFS/usr/bin/which"
mkdir -p "$ROOTFS"/{mnt,srv,opt,media,etc/opt,var/opt,run/lock} "$ROOTFS/usr/local/lib/python3.13/dist-packages"
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp" "$ROOTFS/run/lock"
ln -sfn /usr/share/zoneinfo/UTC "$ROOTFS/etc/localtime"
echo UTC >"$ROOTFS/etc/timezone"
in_image /sbin/ldconfig

step "ca-certificates: the bundle and the certificate links, made on the host"
certs="$ROOTFS/etc/ssl/certs"
mkdir -p "$certs"
(cd "$ROOTFS/usr/share/ca-certificates" && find . -name '*.crt' | sed 's|^\./||' | sort) >"$ROOTFS/etc/ca-certificates.conf"
: >"$certs/ca-certificates.crt"
while read -r crt; do
	ln -sfn "../../../usr/share/ca-certificates/$crt" "$certs/$(basename "${crt%.crt}").pem"
	sed -e '$a\' "$ROOTFS/usr/share/ca-certificates/$crt" >>"$certs/ca-certificates.crt"
done <"$ROOTFS/etc/ca-certificates.conf"
if command -v openssl >/dev/null 2>&1; then openssl rehash "$certs" 2>/dev/null || true; fi
echo "$(wc -l <"$ROOTFS/etc/ca-certificates.conf") certificates"

step "Lambda's layout: /var/lang/bin/python3.13, /var/task, /opt, /var/runtime"
mkdir -p "$ROOTFS/var/lang/bin" "$ROOTFS/var/lang/lib" "$ROOTFS/var/task" "$ROOTFS/var/runtime"
for name in python3.13 python3 python; do
	ln -sfn /usr/bin/python3.13 "$ROOTFS/var/lang/bin/$name"
done
cp -a "$HERE/rootfs/." "$ROOTFS/"
chmod 755 "$ROOTFS/var/runtime/bootstrap" "$ROOTFS/lambda-entrypoint.sh"

step "/var/runtime: awslambdaric and the project's boto3/botocore pins (arm64 cp313 wheels)"
mapfile -t pins < <(grep -iE '^(boto3|botocore)==' "$ROOT/requirements-dev.txt")
[ "${#pins[@]}" = 2 ] || { echo "requirements-dev.txt must pin boto3 and botocore (==)"; exit 1; }
# Any host Python's pip can fetch wheels for another platform and Python into a folder.
pip_python=
for candidate in "${pythons313[@]}" python3; do
	if "$candidate" -m pip --version >/dev/null 2>&1; then pip_python="$candidate" && break; fi
done
[ -n "$pip_python" ] || { echo "no host Python with pip (python3 -m pip) to fetch the wheels"; exit 1; }
"$pip_python" -m pip install --quiet --no-compile --no-warn-conflicts --root-user-action=ignore \
	--target "$ROOTFS/var/runtime" --platform manylinux2014_aarch64 --implementation cp \
	--python-version 3.13 --only-binary=:all: -r "$HERE/runtime-requirements.txt" "${pins[@]}" \
	>"$WORK/pip.log" 2>&1 || { grep -v "^WARNING: Location 'file:" "$WORK/pip.log"; echo "pip install failed"; exit 1; }
rm -rf "$ROOTFS/var/runtime/bin"
for pin in "${pins[@]}" $(grep -E '^[A-Za-z0-9_.-]+==' "$HERE/runtime-requirements.txt"); do
	name="${pin%%==*}" version="${pin#*==}" && name="${name,,}"
	[ -d "$ROOTFS/var/runtime/${name//-/_}-$version.dist-info" ] || { echo "pip did not install $pin into /var/runtime"; exit 1; }
done
(cd "$ROOTFS/var/runtime" && for d in *.dist-info; do
	d="${d%.dist-info}"
	echo "${d%-*}==${d##*-}"
done) >"$ROOTFS/var/runtime/.sam-runtime-freeze.txt"
cat "$ROOTFS/var/runtime/.sam-runtime-freeze.txt"

step "bytecode for the standard library and /var/runtime"
magic() { "$@" -c 'import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())' 2>/dev/null; }
image_magic="$(magic in_image /usr/bin/python3.13)"
compiler=
for candidate in "${pythons313[@]}"; do
	if [ "$(magic "$candidate")" = "$image_magic" ]; then compiler="$candidate" && break; fi
done
if [ -n "$compiler" ]; then
	echo "with the host's $compiler (magic $image_magic, as the image's)"
	"$compiler" "$HERE/compile-bytecode.py" "$ROOTFS" /usr/lib/python3.13 /var/runtime
else
	echo "with the image's interpreter under qemu (no host Python 3.13 with magic $image_magic)"
	cp "$HERE/compile-bytecode.py" "$ROOTFS/tmp/"
	in_image /usr/bin/python3.13 /tmp/compile-bytecode.py / /usr/lib/python3.13 /var/runtime
	rm -f "$ROOTFS/tmp/compile-bytecode.py"
fi

step "check the interpreter, its modules and the runtime's (under qemu)"
report="$(in_image PYTHONPATH=/var/runtime /usr/bin/python3.13 -c '
import ctypes, json, platform, sqlite3, ssl, zoneinfo
import awslambdaric, boto3, botocore
assert zoneinfo.ZoneInfo("UTC") and ssl.create_default_context().cert_store_stats()["x509_ca"] > 100
print(platform.machine(), platform.python_version(), boto3.__version__, botocore.__version__)')"
echo "$report"
read -r machine python_version boto3_version botocore_version <<<"$report"
[ "$machine" = aarch64 ] || { echo "the rootfs is $machine, not aarch64"; exit 1; }

step "trim: apt lists and caches, documentation"
rm -rf "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/usr/share/doc/* \
	"$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log
du -sh "$ROOTFS"

step "import as $IMAGE"
old="$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
tar --numeric-owner --xattrs -C "$ROOTFS" -cf - . | podman import --arch arm64 --os linux \
	--change "ENV LANG=en_US.UTF-8" \
	--change "ENV TZ=:/etc/localtime" \
	--change "ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin" \
	--change "ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib" \
	--change "ENV LAMBDA_TASK_ROOT=/var/task" \
	--change "ENV LAMBDA_RUNTIME_DIR=/var/runtime" \
	--change "WORKDIR /var/task" \
	--change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
	--change "LABEL $LABEL=$RECIPE_HASH" \
	--change "LABEL io.samlocal.sam-runtime.stand-in=Debian $SUITE arm64, not Amazon's image" \
	--change "LABEL io.samlocal.sam-runtime.python=$python_version" \
	--change "LABEL io.samlocal.sam-runtime.boto3=$boto3_version" \
	--change "LABEL io.samlocal.sam-runtime.botocore=$botocore_version" \
	--message "stand-in for $IMAGE (localapi/sam-runtime)" - "$IMAGE"
new="$(podman image inspect --format '{{.Id}}' "$IMAGE")"
if [ -n "$old" ] && [ "$old" != "$new" ]; then
	podman rmi "$old" >/dev/null 2>&1 || echo "the previous image $old is still used; left in place"
fi

step "run it: containers under qemu (podman, runc, ulimits, binfmt inside a container)"
podman run --rm --arch arm64 --network none --entrypoint /bin/sh "$IMAGE" -c \
	'echo "$(uname -m) nofile=$(ulimit -n) $(getent hosts localhost | head -n 1)"'
podman run --rm --arch arm64 --network none --entrypoint /var/lang/bin/python "$IMAGE" -c \
	'import locale, sys; print("encoding", sys.getfilesystemencoding(), locale.getpreferredencoding())'
out="$(podman run --rm --arch arm64 --network none --entrypoint /var/runtime/bootstrap "$IMAGE" 2>&1 || true)"
echo "$out"
[[ "$out" == *"bootstrap: no handler"* ]] || { echo "/var/runtime/bootstrap did not reach bootstrap.py"; exit 1; }
rm -rf "$ROOTFS"
step "done: $IMAGE ($machine, Python $python_version, boto3 $boto3_version, botocore $botocore_version)"
