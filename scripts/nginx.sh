#!/usr/bin/env bash
# Installs nginx for the tests, without root, into build/tools/nginx: `apt-get download` fetches the distribution's
# nginx package (apt checks it against the signed package index) and `dpkg-deb -x` unpacks it. Skips the work when
# the binary is already there. Prints the binary's absolute path on stdout and everything else on stderr, so
#   NGINX_BIN=$(bash scripts/nginx.sh)
# works. Not pinned to a Debian revision on purpose: the archive serves only the newest revision of each suite, and
# every security update replaces it (bookworm: 1.22.1-9+deb12u9, then +deb12u10), so a pinned revision would stop
# downloading the next time Debian patches nginx. The upstream version is fixed per release (bookworm: 1.22.1);
# the script prints the one it installed.
set -euo pipefail
cd "$(dirname "$0")/.."

out=build/tools/nginx
bin=$out/usr/sbin/nginx

if [ -x "$bin" ] && "$bin" -v 2>/dev/null; then
  echo "$PWD/$bin"
  exit 0
fi
for tool in apt-get dpkg-deb ldd; do
  command -v "$tool" >/dev/null || {
    echo "nginx.sh: $tool not found; this script needs a Debian or Ubuntu machine, or set NGINX_BIN to an nginx binary" >&2
    exit 1
  }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As root, apt warns that _apt cannot write to the private temp folder and downloads unsandboxed: harmless here.
if ! (cd "$work" && apt-get download -q nginx) >&2; then
  echo "nginx.sh: 'apt-get download nginx' failed; refresh the package lists ('apt-get update' as root)" \
    "or set NGINX_BIN to an nginx binary" >&2
  exit 1
fi
deb=$(ls "$work"/nginx_*.deb)
# Unpack beside the target and move it in whole, so a half-unpacked tree never passes the check above.
dpkg-deb -x "$deb" "$work/root"

missing=$(ldd "$work/root/usr/sbin/nginx" | awk '/not found/ {print $1}' | tr '\n' ' ')
if [ -n "$missing" ]; then
  echo "nginx.sh: nginx needs shared libraries this machine lacks: $missing" >&2
  echo "nginx.sh: install the libraries among its dependencies: $(dpkg-deb -f "$deb" Depends)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$work/root" "$out"
echo "nginx.sh: installed $(basename "$deb") into $out ($("$bin" -v 2>&1))" >&2
echo "$PWD/$bin"
