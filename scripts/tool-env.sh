#!/usr/bin/env bash
# Sourced by scripts/build.sh and scripts/test.sh (and so .ci/run): the environment the
# project's tools run in.
#   - the working directory is the repository root, and .venv (scripts/setup.sh) exists;
#   - the host's extra CA certificates (/usr/local/share/ca-certificates/*.crt, where Debian
#     keeps local CAs, e.g. a TLS-intercepting proxy's) go to the builds through
#     KFIMAGES_CA_CERT, if there are any and the caller did not set it. KFIMAGES_CA_CERT=
#     (empty) builds without them. Plain `invoke build` never does this: it trusts only what
#     --ca-cert/KFIMAGES_CA_CERT name.
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
if [ ! -x .venv/bin/python ]; then
  echo "${0##*/}: .venv is missing; run: bash scripts/setup.sh" >&2
  exit 2
fi

host_ca_dir=/usr/local/share/ca-certificates
if [ -z "${KFIMAGES_CA_CERT+set}" ] && compgen -G "$host_ca_dir/*.crt" >/dev/null; then
  export KFIMAGES_CA_CERT="$host_ca_dir"
  printf 'host CA: KFIMAGES_CA_CERT=%s (%s certificate(s) of this host; KFIMAGES_CA_CERT= to leave them out)\n' \
    "$KFIMAGES_CA_CERT" "$(compgen -G "$host_ca_dir/*.crt" | wc -l)" >&2
fi
if [ -z "${KFIMAGES_CA_CERT:-}" ]; then
  unset KFIMAGES_CA_CERT # empty: no extra CA (kfimages treats an unset variable so)
fi
