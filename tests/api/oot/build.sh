#!/bin/sh
# tests/api/oot/build.sh — builds hello.so out of tree with the commands of
# docs/plugin-guide.md ("Building out of tree"), then checks what it exports.
#
# Usage: build.sh OUTDIR
# The installed SDK must be visible to pkg-config (for a test install under
# a temporary prefix: PKG_CONFIG_PATH=$prefix/lib/pkgconfig).  CC defaults
# to cc.  Exits non-zero, saying why, if the build or the check fails.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
cd "$out"

# The guide's build command, verbatim but for the file names.
${CC:-cc} -std=c11 -Wall -Wextra -shared -fPIC -fvisibility=hidden \
	-Wl,--no-undefined -o hello.so "$here/hello.c" \
	$(pkg-config --cflags --libs onegrid-plugin)

# The guide's check: og_plugin_desc is the only symbol the plugin defines
# for others (nm lists the ELF's own _init/_fini too on some toolchains).
exported=$(nm -D --defined-only hello.so | awk '{print $3}' | grep -v -x -e _init -e _fini)
if [ "$exported" != "og_plugin_desc" ]; then
	echo "build.sh: hello.so exports more than og_plugin_desc:" >&2
	echo "$exported" >&2
	exit 1
fi
echo "build.sh: built $out/hello.so (exports og_plugin_desc only)"
