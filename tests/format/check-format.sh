#!/bin/sh
# check-format.sh SOURCE_DIR
#
# Every C source and header of the project is formatted as the checked-in
# .clang-format says: `clang-format --dry-run --Werror` over each tracked
# .c/.h file (git ls-files; without git, every .c/.h below the source
# folders). Lists the files that differ and exits 1 when there is one;
# `clang-format -i FILE` fixes a file.
set -u

src=$1
command -v clang-format >/dev/null 2>&1 || {
    echo "FAIL: clang-format not found: install the Debian package clang-format" \
        "(scripts/install-deps.sh)" >&2
    exit 1
}
[ -f "$src/.clang-format" ] || {
    echo "FAIL: $src/.clang-format missing" >&2
    exit 1
}

list=$(mktemp)
out=$(mktemp)
trap 'rm -f "$list" "$out"' EXIT
if command -v git >/dev/null 2>&1 && git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$src" ls-files -- '*.c' '*.h' >"$list" || exit 1
else
    (cd "$src" && find admin bench common deliver lmtpd scan tests -type f \
        \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort) >"$list"
fi

n=$(grep -c . "$list")
# One clang-format run over all files (a process per file is slow); it
# names each violation "FILE:LINE:COL: error: code should be
# clang-formatted", and any other failure (a file it cannot read) fails
# the run.
(cd "$src" && tr '\n' '\0' <"$list" | xargs -0 -r clang-format --dry-run --Werror --) >"$out" 2>&1
rc=$?
bad=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/  \1/p' "$out" |
    sort -u)
nbad=$(printf '%s' "$bad" | grep -c .)
if [ "$rc" -ne 0 ] && [ "$nbad" -eq 0 ]; then
    echo "FAIL: clang-format exited with $rc:" >&2
    cat "$out" >&2
    exit 1
fi

if [ "$n" -eq 0 ]; then
    echo "FAIL: no .c/.h files found in $src" >&2
    exit 1
fi
if [ "$nbad" -gt 0 ]; then
    echo "FAIL: $nbad of $n files differ from .clang-format (fix with clang-format -i FILE):"
    echo "$bad"
    exit 1
fi
echo "format: $n files match .clang-format"
