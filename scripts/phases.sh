# shellcheck shell=bash
# Timed phases of a run (sourced by .ci/run and scripts/test.sh; bash 5: EPOCHREALTIME).
#
#   phases_open FILE [KEY VALUE]...  this script owns FILE: it is created with a `# KEY<TAB>VALUE`
#                                    line per pair, and the table is printed when the script exits
#   phases_note KEY VALUE            add a `# KEY<TAB>VALUE` line (e.g. the base ref, once known)
#   phases_begin NAME                end the open phase (exit 0) and start NAME
#   phases_end                       end the open phase (exit 0)
#   phases_background NAME START EXIT  record work that ran beside the phases (not in the total)
#   phases_exit [CODE]               for the EXIT trap: end the open phase with the script's exit
#                                    code (or CODE, from a trap function that ran commands
#                                    first); if this script owns the file, add `# exit` and print
#                                    the table on stderr
#   phases_trap [FUNCTION]           trap EXIT with FUNCTION (default phases_exit), and SIGINT and
#                                    SIGTERM with an exit 130 and 143: a stopped run records the
#                                    open phase with that code (bash runs the INT/TERM trap once
#                                    the foreground command, e.g. test.sh recording its own phase,
#                                    has ended)
#
# The file ($KFIMAGES_PHASES, exported: a script run from here appends its own phases to it) is
# tab-separated: `# KEY<TAB>VALUE` lines, then `PHASE<TAB>SECONDS<TAB>EXIT` lines in the order
# the phases ended; a `background: ` phase ran beside the others (phases_background) and is not
# part of the total. `invoke bench` reads the files .ci/run writes (kfimages/bench/ci.py). Phases
# are begun and ended around plain commands, so `set -e` keeps its meaning inside them: a
# failing command exits the script, and the EXIT trap records the open phase as failed.

_phase_name="" _phase_start="" _phases_owner=""

_phases_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }

# phases_open FILE [KEY VALUE]...
phases_open() {
  export KFIMAGES_PHASES=$1
  _phases_owner=$1
  shift
  mkdir -p "$(dirname "$KFIMAGES_PHASES")"
  : >"$KFIMAGES_PHASES"
  while (($# >= 2)); do
    phases_note "$1" "$2"
    shift 2
  done
}

phases_note() { printf '# %s\t%s\n' "$1" "$2" >>"$KFIMAGES_PHASES"; }

_phases_record() { # _phases_record EXIT
  [ -n "$_phase_name" ] || return 0
  local us=$(($(_phases_now_us) - _phase_start))
  printf '%s\t%d.%01d\t%s\n' "$_phase_name" $((us / 1000000)) $((us % 1000000 / 100000)) "$1" \
    >>"$KFIMAGES_PHASES"
  _phase_name=""
}

phases_begin() {
  _phases_record 0
  _phase_name=$1
  _phase_start=$(_phases_now_us)
}

phases_end() { _phases_record 0; }

# phases_background NAME START_US EXIT: a row for work that ran beside the phases (a background
# job started at START_US, from _phases_now_us): named `background: NAME`, left out of the total.
phases_background() {
  local us=$(($(_phases_now_us) - $2))
  printf 'background: %s\t%d.%01d\t%s\n' "$1" $((us / 1000000)) $((us % 1000000 / 100000)) "$3" \
    >>"$KFIMAGES_PHASES"
}

# phases_table FILE: the phases, their seconds and exit codes, and the total, aligned.
phases_table() {
  awk -F '\t' '
    /^#/ { next }
    { n++; name[n] = $1; secs[n] = $2; code[n] = $3; if ($1 !~ /^background: /) total += $2
      if (length($1) > width) width = length($1) }
    END {
      if (width < 5) width = 5
      printf "%-" width "s  %9s  %s\n", "PHASE", "SECONDS", "EXIT"
      for (i = 1; i <= n; i++) printf "%-" width "s  %9.1f  %s\n", name[i], secs[i], code[i]
      printf "%-" width "s  %9.1f\n", "total", total
    }' "$1"
}

phases_exit() {
  local code=${1:-$?}
  _phases_record "$code"
  if [ -n "$_phases_owner" ] && [ -e "$_phases_owner" ]; then
    phases_note exit "$code"
    {
      echo "phases (${_phases_owner}):"
      phases_table "$_phases_owner"
    } >&2
  fi
  return "$code"
}

phases_trap() {
  # shellcheck disable=SC2064 # the function's name, now
  trap "${1:-phases_exit}" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
