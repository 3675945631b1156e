#!/bin/sh
# Fetch the Penn Treebank as preprocessed by Mikolov and leave exactly
# ptb.train.txt, ptb.valid.txt and ptb.test.txt next to this script.
#
#   sh data/download.sh                        download (curl or wget)
#   sh data/download.sh PATH/simple-examples.tgz   use a local copy instead
#
# Environment overrides:
#   PTB_URL   one URL to try instead of the two built-in ones
#   PTB_MD5   expected md5 of the archive (for another packaging of the same files)
#
# On any failure it prints one line, exits non-zero and leaves nothing in data/.
set -u

URLS="http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz https://dataset.bj.bcebos.com/imikolov%2Fsimple-examples.tgz"
URLS=${PTB_URL:-$URLS}
MD5=${PTB_MD5:-30177ea32e27c525793142b6bf2c8e2d}
FILES="ptb.train.txt ptb.valid.txt ptb.test.txt"

fail() {
    echo "download.sh: $*" >&2
    exit 1
}

# A local path is resolved before changing into data/.
archive=""
if [ $# -gt 1 ]; then
    fail "usage: sh data/download.sh [PATH/simple-examples.tgz]"
elif [ $# -eq 1 ]; then
    [ -f "$1" ] && [ -r "$1" ] || fail "cannot read $1: give the path of simple-examples.tgz"
    archive=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fi

cd "$(dirname "$0")" || fail "cannot enter the data directory"

have_all=yes
for f in $FILES; do [ -s "$f" ] || have_all=no; done
if [ $have_all = yes ]; then
    echo "PTB is already in $(pwd): nothing to do."
    exit 0
fi

work=$(mktemp -d ./.download.XXXXXX) || fail "cannot write in $(pwd): check its permissions"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

md5_of() {
    if command -v md5sum >/dev/null 2>&1; then
        md5sum "$1" | cut -d ' ' -f 1
    elif command -v md5 >/dev/null 2>&1; then
        md5 -q "$1"
    else
        fail "neither md5sum nor md5 is installed: install coreutils"
    fi
}

fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsL --connect-timeout 20 -o "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T 20 -O "$2" "$1"
    else
        fail "neither curl nor wget is installed: install one, or pass a local simple-examples.tgz"
    fi
}

if [ -z "$archive" ]; then
    archive=$work/simple-examples.tgz
    fetched=no
    for url in $URLS; do
        echo "Downloading $url"
        if fetch "$url" "$archive"; then fetched=yes; break; fi
    done
    [ $fetched = yes ] || fail "could not download PTB (no network?): fetch simple-examples.tgz elsewhere and run: sh data/download.sh PATH/simple-examples.tgz"
fi

sum=$(md5_of "$archive")
[ "$sum" = "$MD5" ] || fail "$archive has md5 $sum, expected $MD5: the download is corrupt or not simple-examples.tgz"

tar -xzf "$archive" -C "$work" 2>/dev/null || fail "$archive is not a readable .tgz archive: download it again"

for f in $FILES; do
    found=$(find "$work" -path "*/data/$f" -type f | head -n 1)
    [ -n "$found" ] || fail "$archive has no data/$f: it is not simple-examples.tgz"
    mv "$found" "$work/$f" || fail "cannot move $f into place"
done
# Everything is checked; rename into place last, so a failure leaves nothing half-done.
for f in $FILES; do mv "$work/$f" "$f" || fail "cannot write $f in $(pwd)"; done
echo "PTB is ready in $(pwd): $FILES"
