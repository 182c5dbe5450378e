#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a local cluster
# (a node and two executors) on the embedded defaults, and walks through
# a short demo: run actions, talk to an agent, kill an executor mid-flight
# and watch every task still finish exactly once. The cluster stays up
# afterwards for you to explore; the last lines say how to stop it.
#   tools/demo.sh     # KEEL_DEMO_DIR (default ./keel-data/demo), KEEL_ENDPOINT (default tcp://127.0.0.1:7401)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build_dir=${KEEL_BUILD_DIR:-build}
keel="$PWD/$build_dir/tools/keel"
keelctl="$PWD/$build_dir/tools/keelctl"
dir=${KEEL_DEMO_DIR:-$PWD/keel-data/demo}
export KEEL_ENDPOINT=${KEEL_ENDPOINT:-tcp://127.0.0.1:7401}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Prints a command the way you would type it (JSON arguments in single quotes), then runs it.
show() {
  local line="\$"
  for a in "$@"; do [[ "$a" =~ [[:space:]\{\"] ]] && line+=" '$a'" || line+=" $a"; done
  printf '%s\n' "$line"
  "$@"
}

step "start a local cluster: a node and 2 executors"
"$keel" cluster down --data-dir "$dir" >/dev/null 2>&1 || true
show "$keel" cluster up --executors 2 --listen "$KEEL_ENDPOINT" --data-dir "$dir"
# The cluster admits only its own keys; keelctl finds its key through these.
show source "$dir/keys/keelctl.env"

step "what is running"
show "$keelctl" status

step "run actions on executors"
show "$keelctl" run echo --args '{"text": "hello from keel"}'
show "$keelctl" run shell --args '{"cmd": "uname", "args": ["-sr"]}' --on site=local
show "$keelctl" send planner '{"ping": true}'
echo "\$ $keelctl run shell --args '{\"cmd\": \"rm\", \"args\": [\"-rf\", \"/\"]}'"
"$keelctl" run shell --args '{"cmd": "rm", "args": ["-rf", "/"]}' || true

step "kill -9 an executor while 40 tasks are in flight"
results=$(mktemp -d)
for i in $(seq 1 40); do
  "$keelctl" --json run sleep --args '{"ms": 1500}' --timeout 30s >"$results/$i.json" 2>&1 &
done
# Wait until the tasks are spread over both executors, then kill one.
for _ in $(seq 1 100); do
  busy=$("$keelctl" --json executors | grep -c '"in_flight": [1-9]' || true)
  [[ "$busy" -ge 2 ]] && break
  sleep 0.05
done
victim=$(grep -o '"pid": [0-9]*' "$dir/cluster.json" | sed -n 3p | grep -o '[0-9]*')
echo "killing executor pid $victim with SIGKILL"
kill -9 "$victim"
wait
ok=$(grep -l '"result"' "$results"/*.json | wc -l)
retried=$(grep -l '"attempts": 2' "$results"/*.json | wc -l)
echo "tasks answered: $ok of 40 (each exactly once); re-dispatched after the kill: $retried"
rm -rf "$results"

step "the keeper restarted the dead executor"
for _ in $(seq 1 100); do
  n=$("$keelctl" --json executors | grep -c '"name"' || true)
  [[ "$n" -eq 2 ]] && break
  sleep 0.1
done
show "$keelctl" executors

step "a durable workflow with an approval gate"
show "$keelctl" workflows
show "$keelctl" run-workflow onboarding --input '{"customer_id": "c_42", "plan": "pro", "email": "ana@example.com"}' --wait
# A key of its own per run: the data dir outlives the demo, and a key seen
# before returns the earlier (completed) instance instead of a new gate.
show "$keelctl" run-workflow refund --input '{"customer_id": "c_42", "charge_id": "ch_1", "amount": 250}' --idempotency-key "demo-refund-$(date +%s)"
for _ in $(seq 1 50); do "$keelctl" approvals | grep -q "/refund" && break; sleep 0.1; done
show "$keelctl" approvals
id=$("$keelctl" --json tasks --state awaiting_approval | grep -o '"id": "wf_[0-9a-f]*"' | head -1 | grep -o 'wf_[0-9a-f]*')
show "$keelctl" approve "$id/refund" --comment "checked with the customer"
for _ in $(seq 1 50); do "$keelctl" task "$id" | grep -q "completed" && break; sleep 0.1; done
show "$keelctl" task "$id"
show "$keelctl" tasks

step "done"
cat <<EOT
The cluster is still running on $KEEL_ENDPOINT (data and logs in $dir).
It admits only its own CURVE keys. In a new shell, first:
       source $dir/keys/keelctl.env
Try:   $keelctl status | agents | executors | workflows | tasks | approvals
       $keelctl run echo --args '{"text": "hi"}' --json
       $keelctl history $id
Stop:  $keel cluster down --data-dir $dir
EOT
