#!/usr/bin/env bash
# `invoke build` with the host's extra CA certificates, if it has any (scripts/tool-env.sh):
# what a machine behind a TLS-intercepting proxy needs. Arguments go to `invoke build`,
# e.g. bash scripts/build.sh jupyter --jobs 2
set -euo pipefail
# shellcheck source=scripts/tool-env.sh
source "$(dirname "$0")/tool-env.sh"
exec .venv/bin/invoke build "$@"
