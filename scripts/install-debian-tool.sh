#!/usr/bin/env bash
# Installs one program of a Debian package for the tests, without root:
#   bash scripts/install-debian-tool.sh PACKAGE PROGRAM VARIABLE
# e.g. `njs usr/bin/njs NJS_BIN`. `apt-get download` fetches the distribution's PACKAGE (apt checks it against the
# signed package index) and `dpkg-deb -x` unpacks it into build/tools/PACKAGE; PROGRAM is the program's path inside
# the package; VARIABLE is the environment variable the tests read instead, which the errors suggest. Skips the work
# when the program is already there. Prints the program's absolute path on stdout and everything else on stderr.
# Not pinned to a Debian revision on purpose: the archive serves only the newest revision of each suite, and every
# security update replaces it (bookworm's nginx: 1.22.1-9+deb12u9, then +deb12u10), so a pinned revision would stop
# downloading the next time Debian patches the package. The upstream version is fixed per release; the script
# prints the one it installed (the program's `-v`).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 PACKAGE PROGRAM VARIABLE (e.g. njs usr/bin/njs NJS_BIN)" >&2; exit 2; }
package=$1 program=$2 variable=$3
cd "$(dirname "$0")/.."

out=build/tools/$package
bin=$out/$program

if [ -x "$bin" ] && "$bin" -v >/dev/null 2>&1; then
  echo "$PWD/$bin"
  exit 0
fi
for tool in apt-get dpkg-deb ldd; do
  command -v "$tool" >/dev/null || {
    echo "$package: $tool not found; installing needs a Debian or Ubuntu machine, or set $variable to the program's path" >&2
    exit 1
  }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As root, apt warns that _apt cannot write to the private temp folder and downloads unsandboxed: harmless here.
if ! (cd "$work" && apt-get download -q "$package") >&2; then
  echo "$package: 'apt-get download $package' failed; refresh the package lists ('apt-get update' as root)" \
    "or set $variable to the program's path" >&2
  exit 1
fi
deb=$(ls "$work/${package}"_*.deb)
# Unpack beside the target and move it in whole, so a half-unpacked tree never passes the check above.
dpkg-deb -x "$deb" "$work/root"
[ -x "$work/root/$program" ] || { echo "$package: the package has no $program" >&2; exit 1; }

missing=$(ldd "$work/root/$program" | awk '/not found/ {print $1}' | tr '\n' ' ')
if [ -n "$missing" ]; then
  echo "$package: $program needs shared libraries this machine lacks: $missing" >&2
  echo "$package: install the libraries among its dependencies: $(dpkg-deb -f "$deb" Depends)" >&2
  exit 1
fi
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$work/root" "$out"
echo "$package: installed $(basename "$deb") into $out ($("$bin" -v 2>&1))" >&2
echo "$PWD/$bin"
