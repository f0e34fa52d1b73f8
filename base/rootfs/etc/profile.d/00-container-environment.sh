#!/bin/sh
# Sourced, not run (the shebang is for shellcheck): POSIX sh, bash, dash.
# shellcheck disable=SC3028,SC3045,SC3067 # EUID, read -d, test -O: only where supported
# /etc/profile.d/00-container-environment.sh (base image): every shell gets the container
# environment, as the services do (base/README.md, "Shells"). Sourced by login shells
# (/etc/profile: Jupyter's and RStudio's terminals, `bash -l`, tmux) and by interactive bash
# (/etc/bash.bashrc: `kubectl exec -it POD -- bash`).
#
# For each variable of /run/s6/container_environment (what /init received, plus what the
# start-up scripts added or changed: nss_wrapper's LD_PRELOAD, a run-time CA bundle, ...) the
# shell takes the value when it lacks the variable or still has the value /init received
# (/run/s6/container_environment.start: `docker exec` and `kubectl exec` start shells with the
# pod's environment, from before the start-up scripts). A value the shell's parent chose itself
# (a PATH it extended, a venv it activated, a variable a service set) is kept. Empty files are
# skipped (as with-contenv does: s6-envdir reads them as "unset"). root takes nothing unless
# root's init wrote all of it and no other uid can change any of it: /run/s6, both folders and
# every file read belong to root and are writable by neither group nor others (else it belongs
# to the container's uid, which must not choose root's LD_PRELOAD). Works for any uid and with a
# read-only root: it only reads.
_kfnb_env_read() { # _kfnb_env_read FILE: its whole content into _kfnb_env_value; false if empty
  _kfnb_env_value=
  if [ -n "${BASH_VERSION-}" ]; then
    IFS= read -r -d '' _kfnb_env_value <"$1" || [ -n "${_kfnb_env_value}" ]
  else
    _kfnb_env_value=$(/usr/bin/cat "$1") && [ -n "${_kfnb_env_value}" ]
  fi
}

_kfnb_env_import() {
  _kfnb_env_dir=/run/s6/container_environment
  [ -d "${_kfnb_env_dir}" ] && [ -r "${_kfnb_env_dir}" ] || return 0
  if [ "${EUID:-$(/usr/bin/id -u)}" = 0 ] &&
    [ -n "$(/usr/bin/find /run/s6 \( ! -user 0 -o ! -type l -perm /022 \) -print -quit 2>&1)" ]; then
    return 0
  fi
  for _kfnb_env_file in "${_kfnb_env_dir}"/*; do
    _kfnb_env_name=${_kfnb_env_file##*/}
    case ${_kfnb_env_name} in
      '' | [0-9]* | *[!A-Za-z0-9_]* | _ | SHLVL | PWD | OLDPWD | BASH* | SHELLOPTS | EUID | UID | \
        PPID | GROUPS | LINENO | RANDOM | SECONDS | HISTCMD | FUNCNAME | IFS | PS[0-9])
        continue
        ;;
    esac
    if [ ! -f "${_kfnb_env_file}" ] || ! _kfnb_env_read "${_kfnb_env_file}"; then
      continue
    fi
    _kfnb_env_new=${_kfnb_env_value}
    if eval "[ -n \"\${${_kfnb_env_name}+set}\" ]"; then
      eval "_kfnb_env_current=\${${_kfnb_env_name}}"
      # shellcheck disable=SC2154 # assigned by the eval above
      [ "${_kfnb_env_current}" != "${_kfnb_env_new}" ] || continue
      # Set in the shell and different: take the container's only over /init's own value.
      _kfnb_env_read "${_kfnb_env_dir}.start/${_kfnb_env_name}" 2>/dev/null || continue
      [ "${_kfnb_env_current}" = "${_kfnb_env_value}" ] || continue
    fi
    export "${_kfnb_env_name}=${_kfnb_env_new}"
  done
}

if [ -z "${_kfnb_env_imported-}" ]; then
  _kfnb_env_import
  _kfnb_env_imported=1 # not exported: a new shell checks again
fi
unset -f _kfnb_env_read _kfnb_env_import
unset _kfnb_env_dir _kfnb_env_file _kfnb_env_name _kfnb_env_value _kfnb_env_new \
  _kfnb_env_current
