#!/usr/bin/env bash
# Sets up QEMU user emulation on a Debian host (as root), so that `invoke build --platform
# linux/arm64` (and debootstrap --arch=arm64) runs on an x86_64 host (and the other way round):
#   - the packages qemu-user-static and binfmt-support,
#   - binfmt_misc mounted and the qemu-aarch64 / qemu-x86_64 entries enabled with the F flag
#     (the interpreter is opened at registration, so it works in containers and chroots).
# Idempotent; `invoke build` says to run this when a foreign platform has no emulator.
set -euo pipefail

log() { printf 'install-qemu: %s\n' "$*" >&2; }
export DEBIAN_FRONTEND=noninteractive

if ! command -v update-binfmts >/dev/null 2>&1 || ! ls /usr/bin/qemu-aarch64-static >/dev/null 2>&1; then
  log "installing qemu-user-static and binfmt-support"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support >/dev/null
fi

binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
  log "mounting binfmt_misc on $binfmt"
  mount -t binfmt_misc binfmt_misc "$binfmt"
fi

case "$(uname -m)" in
  x86_64) wanted=(qemu-aarch64) ;;
  aarch64) wanted=(qemu-x86_64) ;;
  *) wanted=() ;;
esac
for entry in "${wanted[@]}"; do
  if [ ! -e "$binfmt/$entry" ]; then
    update-binfmts --enable "$entry"
  fi
  if ! grep -q '^enabled' "$binfmt/$entry"; then
    echo 1 >"$binfmt/$entry"
  fi
  log "$entry: $(head -n 1 "$binfmt/$entry"), $(grep '^flags' "$binfmt/$entry")"
done
