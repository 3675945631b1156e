#!/bin/sh
# Cut ptb-mini, a small corpus in the exact PTB format, from the PTB files
# that download.sh leaves next to this script, into ptb-mini/ beside them:
#
#   sh data/mini.sh
#
#   ptb-mini/ptb.train.txt   PTB's ptb.test.txt, whole (3,761 lines)
#   ptb-mini/ptb.valid.txt   the first half of PTB's ptb.valid.txt (1,685 lines)
#   ptb-mini/ptb.test.txt    its second half (1,685 lines)
#
# A twelfth of PTB's training text: a `small` epoch takes seconds, not
# minutes, and its perplexities are not comparable with full-PTB figures.
# On any failure it prints one line, exits non-zero and leaves no ptb-mini/.
set -u

fail() {
    echo "mini.sh: $*" >&2
    exit 1
}

cd "$(dirname "$0")" || fail "cannot enter the data directory"
for f in ptb.train.txt ptb.valid.txt ptb.test.txt; do
    [ -s "$f" ] || fail "no $f in $(pwd): run sh data/download.sh first"
done
if [ -d ptb-mini ]; then
    echo "ptb-mini is already in $(pwd)/ptb-mini: nothing to do."
    exit 0
fi

half=$(( $(wc -l < ptb.valid.txt) / 2 ))
rm -rf ptb-mini.partial && mkdir ptb-mini.partial || fail "cannot write in $(pwd)"
cp ptb.test.txt ptb-mini.partial/ptb.train.txt &&
    head -n "$half" ptb.valid.txt > ptb-mini.partial/ptb.valid.txt &&
    tail -n "+$((half + 1))" ptb.valid.txt > ptb-mini.partial/ptb.test.txt &&
    mv ptb-mini.partial ptb-mini || { rm -rf ptb-mini.partial; fail "cannot write ptb-mini in $(pwd)"; }
echo "ptb-mini is in $(pwd)/ptb-mini: $(wc -l < ptb-mini/ptb.train.txt) training sentences."
