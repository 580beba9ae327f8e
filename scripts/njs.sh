#!/usr/bin/env bash
# Installs njs, nginx's JavaScript engine, for the tests, without root, into build/tools/njs (Debian's package,
# bookworm: 0.7.9; see install-debian-tool.sh). CloudFront Functions run on an njs-derived engine, so
# test/lib/edge-viewer-auth.njs.test.ts runs lib/edge/viewer-auth.js under it. Prints the binary's absolute path
# on stdout and everything else on stderr, so
#   NJS_BIN=$(bash scripts/njs.sh)
# works.
set -euo pipefail
exec bash "$(dirname "$0")/install-debian-tool.sh" njs usr/bin/njs NJS_BIN
