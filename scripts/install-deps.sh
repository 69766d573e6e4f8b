#!/bin/sh
# Installs the Debian packages the tests use (real peers and tools, no mocks):
# diod (9P peer), QEMU system + user mode + AAVMF firmware, the AArch64 cross toolchain with
# picolibc and SIMDe (guest build), cpio/bsdtar/mtools/dosfstools (image checks), tmux and procps (tests),
# the python modules seL4's image tools need, for the Python client (clients/python, tests/python)
# python3-venv, pytest, mypy and the wheel wheel (pip installs offline from /usr/share/python-wheels),
# what ../shared/sel4/build-sdk.sh needs to build the Cohesix seL4 export (cmake, ninja, dtc,
# xmllint, python modules, patch, xz; see ../shared/sel4/deps.txt), and chromium for the browser
# tests of `cohesix ui` (driven headless by npm playwright-core), fuse3 (fusermount3) and libfuse3-3
# (loaded by `cohesix mount` through Deno FFI), bindfs (the FUSE passthrough peer of bench/mount).
# Nothing optional: no recommended packages, and
# tests/arch/external_tools_test.ts checks this list against every program the code spawns.
# Skips apt when everything is already there.
set -eu
PKGS="diod qemu-system-arm qemu-user qemu-efi-aarch64 gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
picolibc-aarch64-linux-gnu libsimde-dev mtools dosfstools cpio libarchive-tools tmux procps
python3 python3-yaml python3-pyelftools python3-libarchive-c python3-venv python3-pytest python3-mypy python3-wheel-whl
cmake ninja-build device-tree-compiler libxml2-utils python3-jinja2 python3-ply python3-lxml
python3-typing-extensions python3-jsonschema patch xz-utils chromium prometheus nats-server fuse3 libfuse3-3 bindfs"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "install-deps: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
