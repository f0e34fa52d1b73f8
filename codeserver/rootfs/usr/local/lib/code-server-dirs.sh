#!/bin/bash
# Sourced (not run): the shebang only tells linters the shell.
# Where code-server keeps what the user chooses to keep. Sourced by
# /usr/local/bin/code-server (every `code-server` command) and
# /etc/cont-init.d/60-codeserver, so that the server, `--install-extension` and
# `--list-extensions` agree.
#
#   CODE_SERVER_USER_DATA_DIR   user settings, keybindings, snippets, extension state:
#                               $HOME/.local/share/code-server (code-server's own default)
#   CODE_SERVER_EXTENSIONS_DIR  extensions the user installs: <user data dir>/extensions
#
# Both on the home volume (PVC), so they survive a restart. When the home cannot
# be written (e.g. --read-only without a home volume), both fall back to
# /tmp/code-server and last as long as the container. Runtime files (session
# socket, logs, heartbeat) are under /tmp/code-server in any case. Either
# variable may be set in the environment to choose another place.

# True when `path` can be created or written: its nearest existing ancestor is a
# writable directory.
code_server_writable() {
  local path="$1"
  while [[ ! -e "${path}" && "${path}" == /* && "${path}" != / ]]; do
    path="${path%/*}" && path="${path:-/}" # its folder (dirname, without a process)
  done
  [[ -d "${path}" && -w "${path}" ]]
}

if [[ -z "${CODE_SERVER_USER_DATA_DIR:-}" ]]; then
  CODE_SERVER_USER_DATA_DIR="${HOME:-/home/jovyan}/.local/share/code-server"
  if ! code_server_writable "${CODE_SERVER_USER_DATA_DIR}"; then
    CODE_SERVER_USER_DATA_DIR=/tmp/code-server/data
  fi
fi
CODE_SERVER_EXTENSIONS_DIR="${CODE_SERVER_EXTENSIONS_DIR:-${CODE_SERVER_USER_DATA_DIR}/extensions}"
