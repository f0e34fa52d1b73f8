#!/usr/bin/env bash
# background-cgroup.sh: gives the cgroup of builds that run in the background of tests a low CPU
# weight, and prints its name for $KFIMAGES_CGROUP_PARENT (`buildx build --cgroup-parent`).
# .ci/run uses it for the emulated (QEMU) legs, which build beside the integration and the smoke
# tests for most of a run (scripts/smoke-builds.sh): their RUN steps then take the CPU the tests
# leave instead of an equal share of it. Measured on a 2-core machine: an integration test that
# takes 23 s alone took 48 s beside a QEMU build, and 25 s with the build at weight 64 of 1024;
# the build took as long either way (83-87 s).
#
# Needs root and the engine's cgroup driver: cgroupfs (cgroup v1 or v2: a folder under
# /sys/fs/cgroup) or systemd (a slice). Anything else, or a step that fails: prints nothing and
# says why on stderr, and the builds keep the engine's default weight. Never fails.
set -uo pipefail

name=kfimages-background
shares=64 # cgroup v1 cpu.shares, of 1024 for every other cgroup
weight=6  # cgroup v2 cpu.weight (systemd CPUWeight), of 100: the same 1/16

say() { echo "background-cgroup: $*" >&2; }

info=$(docker info --format '{{.CgroupDriver}} {{.CgroupVersion}}' 2>/dev/null) || {
  say "the engine does not answer: the background builds keep the default CPU weight"
  exit 0
}
driver=${info% *} version=${info#* }
case $driver/$version in
  cgroupfs/1)
    dir=/sys/fs/cgroup/cpu/$name
    if mkdir -p "$dir" 2>/dev/null && echo "$shares" 2>/dev/null >"$dir/cpu.shares"; then
      say "the background builds run in /$name (cpu.shares $shares of 1024)"
      echo "/$name"
      exit 0
    fi
    ;;
  cgroupfs/2)
    dir=/sys/fs/cgroup/$name
    if mkdir -p "$dir" 2>/dev/null && echo "$weight" 2>/dev/null >"$dir/cpu.weight"; then
      say "the background builds run in /$name (cpu.weight $weight of 100)"
      echo "/$name"
      exit 0
    fi
    ;;
  systemd/*)
    if systemctl set-property --runtime "$name.slice" "CPUWeight=$weight" >/dev/null 2>&1; then
      say "the background builds run in $name.slice (CPUWeight $weight of 100)"
      echo "$name.slice"
      exit 0
    fi
    ;;
esac
say "cannot give a cgroup a low CPU weight here (cgroup driver $driver, version $version," \
  "uid $(id -u)): the background builds keep the default CPU weight"
exit 0
