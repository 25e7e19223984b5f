#!/usr/bin/env bash
# packaging/build-deb.sh — build OneGrid's Debian packages from a tree.
#
#   packaging/build-deb.sh [options] OUTDIR
#
#   --src DIR         the tree to package (default: the checkout this script
#                     is in).  In a git checkout, the files git knows plus
#                     untracked ones that are not ignored, as they are in the
#                     work tree (uncommitted changes included); otherwise
#                     everything but build/, var/ and debian/.
#   --version VER     add a changelog entry for VER (e.g. 0.1.1-1) on top of
#                     packaging/debian/changelog, in the scratch copy only
#   --overlay DIR     copy DIR's files over the scratch copy before building
#                     (the package test adds a migration this way)
#   --install-deps    apt-get build-dep the missing build dependencies
#                     (as root) instead of stopping
#   --quiet           send the build's output to OUTDIR/build-VER.log only
#   --keep            keep the scratch directory (its path is printed)
#
# It copies the tree into a scratch directory, copies packaging/debian to
# debian/ there and runs `dpkg-buildpackage -us -uc -b`; the .deb, .ddeb,
# .buildinfo and .changes files land in OUTDIR.  Only binary packages are
# built, so no orig tarball is needed.
#
# Not for: installing or testing the packages (tests/packaging/test_packages.sh
# does that), nor for signing or uploading them.
set -euo pipefail

me=${0##*/}
die() { echo "$me: $*" >&2; exit 1; }
usage() {
	echo "usage: $me [--src DIR] [--version VER] [--overlay DIR] [--install-deps] [--quiet]" \
		"[--keep] OUTDIR" >&2
	exit 2
}

src=$(cd "$(dirname "$0")/.." && pwd -P)
version='' overlay='' install_deps=0 quiet=0 keep=0 outdir=''
while [ $# -gt 0 ]; do
	case $1 in
	--src) [ $# -ge 2 ] || usage; src=$(cd "$2" && pwd -P) || die "$2: no such directory"; shift 2 ;;
	--version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
	--overlay) [ $# -ge 2 ] || usage; overlay=$(cd "$2" && pwd -P) || die "$2: no such directory"; shift 2 ;;
	--install-deps) install_deps=1; shift ;;
	--quiet) quiet=1; shift ;;
	--keep) keep=1; shift ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) [ -z "$outdir" ] || usage; outdir=$1; shift ;;
	esac
done
[ -n "$outdir" ] || usage
[ -f "$src/packaging/debian/control" ] || die "$src has no packaging/debian/control"
command -v dpkg-buildpackage >/dev/null || die "dpkg-buildpackage is missing: apt-get install dpkg-dev debhelper"
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd -P)

if [ -z "$version" ]; then
	version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
fi
upstream=${version%-*}
upstream=${upstream#*:}

work=$(mktemp -d "${TMPDIR:-/tmp}/onegrid-deb.XXXXXX")
cleanup() {
	if [ "$keep" -eq 1 ]; then
		echo "$me: scratch directory kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
tree=$work/onegrid-$upstream
mkdir -p "$tree"

# --- the scratch copy ----------------------------------------------------
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Files deleted in the work tree but still in the index are skipped.
	(cd "$src" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done | tar --null -T - -cf -) | tar -xf - -C "$tree"
else
	tar -C "$src" --exclude=./build --exclude=./var --exclude=./debian \
		--exclude=./autom4te.cache -cf - . | tar -xf - -C "$tree"
fi
if [ -n "$overlay" ]; then
	cp -r "$overlay/." "$tree/"
fi
rm -rf "$tree/debian"
cp -r "$tree/packaging/debian" "$tree/debian"

if [ "$version" != "$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)" ]; then
	maint=${DEBFULLNAME:+$DEBFULLNAME <${DEBEMAIL:-}>}
	[ -n "$maint" ] || maint=$(sed -n 's/^Maintainer: *//p' "$tree/debian/control")
	{
		printf 'onegrid (%s) unstable; urgency=medium\n\n' "$version"
		printf '  * Build %s from the tree.\n\n' "$version"
		printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
		cat "$tree/packaging/debian/changelog"
	} >"$tree/debian/changelog"
fi

# --- build dependencies --------------------------------------------------
if ! missing=$(cd "$tree" && dpkg-checkbuilddeps 2>&1); then
	if [ "$install_deps" -eq 1 ]; then
		echo "$me: installing build dependencies" >&2
		DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q -o DPkg::Lock::Timeout=300 "$tree" >&2 ||
			die "apt-get build-dep failed (run as root; apt-get update first?)"
	else
		die "missing build dependencies (or pass --install-deps): ${missing#*: }"
	fi
fi

# --- build ---------------------------------------------------------------
log=$outdir/build-$version.log
if [ -z "${DEB_BUILD_OPTIONS:-}" ] || [[ $DEB_BUILD_OPTIONS != *parallel=* ]]; then
	DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }parallel=$(nproc)"
	export DEB_BUILD_OPTIONS
fi
echo "$me: building onegrid $version in $tree (log: $log)" >&2
set +e
if [ "$quiet" -eq 1 ]; then
	(cd "$tree" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1
else
	(cd "$tree" && dpkg-buildpackage -us -uc -b) 2>&1 | tee "$log"
	(exit "${PIPESTATUS[0]}")
fi
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
	[ "$quiet" -eq 0 ] || tail -n 60 "$log" >&2
	die "dpkg-buildpackage failed (exit $rc); full log: $log"
fi

shopt -s nullglob
built=("$work"/*.deb "$work"/*.ddeb "$work"/*.changes "$work"/*.buildinfo)
[ ${#built[@]} -gt 0 ] || die "dpkg-buildpackage produced no packages"
mv -f "${built[@]}" "$outdir"/
for f in "${built[@]}"; do
	echo "$outdir/${f##*/}"
done
