#!/usr/bin/env bash
# Installs Debian's nginx for the tests, without root, into build/tools/nginx (scripts/install-debian-tool.sh says
# how and why it is not pinned to a Debian revision). Prints the binary's absolute path on stdout, so
#   NGINX_BIN=$(bash scripts/nginx.sh)
# works.
exec bash "$(dirname "$0")/install-debian-tool.sh" nginx usr/sbin/nginx NGINX_BIN
