#!/bin/bash
# Counts the node's instructions under callgrind: give it to a bench as its
# keel binary, and every `keel node` it starts runs under valgrind (other
# keel commands run as they are). Instruction counts do not move with the
# machine's load, so two builds compare within 0.1%, where wall-clock runs
# on a shared VM vary by 20%. Work driven by a clock (timers, the monitor's
# tick) is over-counted, since the node runs about 50 times slower.
#
#   KEEL_REAL=build/tools/keel CALLGRIND_OUT=/tmp/node.cg \
#     build/bench/keel_agent_bench --runs 600 --warmup 5 --skip-langgraph --keel bench/callgrind_node.sh
#   callgrind_annotate /tmp/node.cg | head    # PROGRAM TOTALS: instructions of the whole node
#
# Needs valgrind (Debian: valgrind).
set -euo pipefail
real=${KEEL_REAL:?set KEEL_REAL to the keel binary to measure}
if [[ "${1:-}" == node ]]; then
  exec valgrind --tool=callgrind --callgrind-out-file="${CALLGRIND_OUT:-callgrind.node.out}" "$real" "$@"
fi
exec "$real" "$@"
