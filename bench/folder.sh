#!/usr/bin/env bash
# Many small files: 10,000 files of 4 KiB in 100 folders, sent by Ferry,
# rsync -a over ssh, scp -r and magic-wormhole in the same run, each copy
# checked with diff -r. Prints each tool's median wall time and Ferry's
# speed as a ratio to each (the target: at least 0.8 of rsync's, above
# magic-wormhole's).
#
#   bench/folder.sh [RUNS]    runs per tool (default 5)
#
# The peers (a loopback sshd, the wormhole mailbox and transit relay) are
# those of bench/compare.sh, which this runs with --folder.
set -euo pipefail

exec "$(dirname "$0")/compare.sh" --folder "${1:-5}"
