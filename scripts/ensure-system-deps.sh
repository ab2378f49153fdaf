#!/usr/bin/env bash
# Makes sure the system programs the tests drive are present: installs them as root with apt,
# otherwise stops naming the package. No silent skips.
set -euo pipefail

declare -A need=(
  [/usr/sbin/sshd]=openssh-server
  [/usr/bin/ssh]=openssh-client
  [/usr/bin/chromium]=chromium
  [/usr/bin/make]=make
)
# Installed without their recommendations: docker-compose (1.x, only to validate compose.yaml in
# the tests) would otherwise bring a whole Docker engine along. podman, podman-compose, runc, the
# dnsname plugin and debootstrap run the image and compose.yaml for real (test/containers).
declare -A lean=(
  [/usr/bin/docker-compose]=docker-compose
  [/usr/bin/podman]=podman
  [/usr/bin/podman-compose]=podman-compose
  [/usr/sbin/runc]=runc
  [/usr/lib/cni/dnsname]=golang-github-containernetworking-plugin-dnsname
  [/usr/sbin/debootstrap]=debootstrap
)
missing=()
missing_lean=()
for bin in "${!need[@]}"; do
  [ -x "$bin" ] || missing+=("${need[$bin]}")
done
for bin in "${!lean[@]}"; do
  [ -x "$bin" ] || missing_lean+=("${lean[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && [ ${#missing_lean[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing system packages: ${missing[*]} ${missing_lean[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Another install (a parallel make test, unattended upgrades) may hold the lock: wait for it.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  [ ${#missing[@]} -eq 0 ] || apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >/dev/null
  [ ${#missing_lean[@]} -eq 0 ] ||
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing_lean[@]}" >/dev/null
  exit 0
fi
echo "missing system packages: ${missing[*]} ${missing_lean[*]}" >&2
[ ${#missing[@]} -eq 0 ] || echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
[ ${#missing_lean[@]} -eq 0 ] ||
  echo "and: sudo apt-get install -y --no-install-recommends ${missing_lean[*]}" >&2
exit 1
