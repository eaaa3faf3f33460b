#!/bin/sh
# npm run test:asan: the addon rebuilt from source (install.mjs, in this checkout) with
# AddressSanitizer and UndefinedBehaviorSanitizer, the native tests run against it, then the
# normal build restored. errno-inject, which only execs the program it wraps, is the tests' own.
# Node itself is not instrumented, so libasan is preloaded; leak detection is off because V8's
# own allocations at exit are not ours. Any sanitizer report fails the run.
set -eu
native=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$native/../.." && pwd)
restore() { cd "$native" && env -u CFLAGS -u CXXFLAGS -u LDFLAGS npm run install --silent >/dev/null; }
trap restore EXIT
CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g" \
CXXFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g" \
LDFLAGS="-fsanitize=address,undefined" \
  sh -c 'cd "$1" && npm run install --silent >/dev/null' - "$native"
cd "$root"
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
ASAN_OPTIONS="detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:abort_on_error=1" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  npx vitest run packages/native/test
