#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the case study
# (config/demo/): an indie founder's billing webhooks, CRM export and
# support mail flow into a Keel cluster, which merges them into canonical
# customers, runs the onboarding and dunning workflows against the
# founder's own tools (a small local app and an SMTP sink that this script
# starts), holds a big refund for approval, and answers "who had payment
# problems?". On the way it kills an executor mid-flight. The cluster, the
# app and the sink stay up afterwards; the last lines say how to stop them.
#   tools/demo.sh     # KEEL_DEMO_DIR (default ./keel-data/demo), KEEL_ENDPOINT (default tcp://127.0.0.1:7401)
# Ports: the node's HTTP server (webhooks, metrics) is the endpoint's port + 1,
# the app + 79, the SMTP sink + 124 (7402, 7480, 7525 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --with-demo-tools
build_dir=${KEEL_BUILD_DIR:-build}
keel="$PWD/$build_dir/tools/keel"
keelctl="$PWD/$build_dir/tools/keelctl"
app="$PWD/$build_dir/tools/keel-demo-app"
dir=${KEEL_DEMO_DIR:-$PWD/keel-data/demo}
export KEEL_ENDPOINT=${KEEL_ENDPOINT:-tcp://127.0.0.1:7401}
port=${KEEL_ENDPOINT##*:}
http_port=$((port + 1)) app_port=$((port + 79)) smtp_port=$((port + 124))
cs="$dir/casestudy"  # configs, the app's state, the sink's mailbox, their logs and pids
whsec=whsec_demo_secret

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Prints a command the way you would type it (JSON arguments in single quotes), then runs it.
show() {
  local line="\$"
  for a in "$@"; do [[ "$a" =~ [[:space:]\{\"] ]] && line+=" '$a'" || line+=" $a"; done
  printf '%s\n' "$line"
  "$@"
}
# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local secs=$1 what=$2
  shift 2
  for _ in $(seq 1 $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: gave up waiting for $what after ${secs}s" >&2
  return 1
}
stop_own() {  # the app and the sink of an earlier run, by the pids it wrote
  for f in "$cs/app.pid" "$cs/smtp.pid"; do
    [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

step "a fresh start in $dir"
"$keel" cluster down --data-dir "$dir" >/dev/null 2>&1 || true
stop_own
if [[ -d "$dir" && -n "$(ls -A "$dir")" && ! -d "$dir/keys" ]]; then
  echo "demo: $dir is not empty and holds no keys/: not a Keel data dir; choose another KEEL_DEMO_DIR" >&2
  exit 1
fi
rm -rf "$dir"
config/demo/make_config.sh "$cs" "$http_port" "$app_port" "$smtp_port"
echo "configs in $cs: node.yaml (config/node.yaml + policy, dunning trigger, connectors), executor.yaml"

step "the founder's tools: a small app (accounts, CRM tags, refunds) and an SMTP sink"
setsid "$app" --port "$app_port" --state "$cs/app.json" >"$cs/app.log" 2>&1 </dev/null &
echo $! >"$cs/app.pid"
mkdir -p "$cs/mail/new" "$cs/mail/cur" "$cs/mail/tmp"  # a Maildir (aiosmtpd creates one only where nothing is)
setsid /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$cs/mail" \
  >"$cs/smtp.log" 2>&1 </dev/null &
echo $! >"$cs/smtp.pid"
wait_for 10 "the app on port $app_port" curl -sf "http://127.0.0.1:$app_port/state"
wait_for 10 "the SMTP sink on port $smtp_port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$smtp_port"
echo "app at http://127.0.0.1:$app_port (GET /state), SMTP sink at 127.0.0.1:$smtp_port (mail in $cs/mail)"

step "start a local cluster (a node and 2 executors) and put the billing webhook's secret in its vault"
show "$keel" cluster up --executors 2 --listen "$KEEL_ENDPOINT" --data-dir "$dir" \
  --config "$cs/node-base.yaml" --executor-config "$cs/executor.yaml"
# The cluster admits only its own keys; keelctl finds its key through these.
show source "$dir/keys/keelctl.env"
echo "\$ echo -n $whsec | $keelctl secrets set billing_whsec"
echo -n "$whsec" | "$keelctl" secrets set billing_whsec
show "$keelctl" status

step "kill -9 an executor while 40 tasks are in flight"
results=$(mktemp -d) runs=()
for i in $(seq 1 40); do
  "$keelctl" --json run sleep --args '{"ms": 1500}' --timeout 30s >"$results/$i.json" 2>&1 &
  runs+=($!)
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
wait "${runs[@]}"  # (not a bare wait: the app and the sink are children too)
ok=$(grep -l '"result"' "$results"/*.json | wc -l)
retried=$(grep -l '"attempts": 2' "$results"/*.json | wc -l)
echo "tasks answered: $ok of 40 (each exactly once); re-dispatched after the kill: $retried"
rm -rf "$results"

step "restart the cluster with the case study's connectors (billing webhooks, CRM export, support mail)"
show "$keel" cluster down --data-dir "$dir"
show "$keel" cluster up --executors 2 --listen "$KEEL_ENDPOINT" --data-dir "$dir" \
  --config "$cs/node.yaml" --executor-config "$cs/executor.yaml"
show "$keelctl" workflows

step "feed the data: signed billing webhooks, the CRM export, the support mailbox"
show config/demo/send_webhooks.sh "http://127.0.0.1:$http_port/hooks/stripe" "$whsec"
show "$keelctl" connectors sync crm
show "$keelctl" connectors sync support_mail
show "$keelctl" connectors

step "the workflows the events started: onboarding x3, dunning, a refund held by policy"
instances() { "$keelctl" --json tasks --limit 50 | json "$1"; }
settled() {
  instances 'i=d["instances"]; n=lambda w,s: sum(1 for x in i if x["workflow"]==w and x["state"]==s);
sys.exit(0 if n("onboarding","completed")==3 and n("dunning","completed")==1 and any(x["workflow"]=="refund" for x in i) else 1)'
}
wait_for 60 "the onboarding and dunning workflows" settled
wait_for 20 "the refund's policy gate" bash -c "'$keelctl' approvals | grep -q /refund"
show "$keelctl" tasks
show "$keelctl" approvals
refund=$(instances 'print(next(x["id"] for x in d["instances"] if x["workflow"]=="refund"))')

step "support mail: each mail sorted, the customer and their history read, a reply drafted and held for review"
drafts_ready() {
  "$keelctl" --json approvals | json 'sys.exit(0 if sum(1 for a in d["approvals"] if a["workflow"]=="support_reply")==2 else 1)'
}
wait_for 60 "the two drafted support replies" drafts_ready
draft_of() {
  "$keelctl" --json approvals | json "print(next(a['instance'] for a in d['approvals'] if a['workflow']=='support_reply' and a['facts']['input']['from']=='$1'))"
}
grace=$(draft_of grace@hopper.example)
ada=$(draft_of ada@lovelace.example)
# Which path each model call took, as the steps recorded it.
"$keelctl" --json task "$grace" | json '
for s in d["steps"]:
    r = s.get("result") or {}
    if s["id"] == "triage": print("  triage: label %s, answered by %s (%s)" % (r.get("label"), r.get("tier"), "no model configured: the step template" if r.get("tier") == "template" else r.get("model")))'
"$keelctl" --json approvals | json "
a = next(a for a in d['approvals'] if a['instance']=='$grace')
dr = a['facts']['draft']
print('  draft for grace@hopper.example, answered by %s:' % dr.get('tier'))
print('    ' + dr['text'].replace(chr(10), chr(10) + '    '))"
echo "The operator edits Grace's draft and approves Ada's as written (the console's inbox has the same edit box):"
show "$keelctl" approve "$grace/draft" --args '{"text": "Hi Grace, we retried the payment with your new card: all settled. The support team"}'
show "$keelctl" approve "$ada/draft"
replied() { "$keelctl" --json tasks --limit 50 | json 'sys.exit(0 if sum(1 for x in d["instances"] if x["workflow"]=="support_reply" and x["state"]=="completed")==2 else 1)'; }
wait_for 60 "both replies to go out" replied
echo "replies at the SMTP sink, threaded to the original mails:"
for f in $(grep -l '^In-Reply-To:' "$cs"/mail/new/* 2>/dev/null); do
  printf '  %s  %s  %s\n' "$(grep -m1 '^To:' "$f")" "$(grep -m1 '^In-Reply-To:' "$f")" "$(grep -m1 '^Subject:' "$f")"
done
show "$keelctl" memory search "retried the payment with your new card" -k 2

step "customers: CRM and billing identities merged into one record each"
show "$keelctl" records list customer

step "what the founder's tools saw"
echo "\$ curl -s http://127.0.0.1:$app_port/state"
curl -s "http://127.0.0.1:$app_port/state" | json '
for a in d["accounts"].values(): print("  account %-14s %-28s %s" % (a["id"], a["email"], a["status"]))
for e, t in d["crm_tags"].items(): print("  crm tags %-28s %s" % (e, ", ".join(t)))
print("  effects applied once each:", all(v == 1 for v in d["applied"].values()), "| replayed requests:", d["replays"])'
echo "emails at the SMTP sink ($cs/mail/new):"
grep -h '^Subject:' "$cs"/mail/new/* | sed 's/^/  /' || true
sent=$(grep -hi '^Message-ID:' "$cs"/mail/new/* | wc -l)
distinct=$(grep -hi '^Message-ID:' "$cs"/mail/new/* | sort -u | wc -l)
echo "  $sent messages, $distinct distinct Message-IDs"

# What the cost table says is what happened: on the embedded default no
# model is configured, so the support steps took their templates and no
# model was paid for.
step "model spend (no model configured here: the support steps above took their templates), the audit trail"
show "$keelctl" cost --by workflow --since 1d
show "$keelctl" audit tail -n 12

step "memory: what happened, searchable"
show "$keelctl" memory search "who had payment problems?" -k 3

step "done"
cat <<EOT
The refund of 250.00 waits for you (policy rule big-refunds). To continue it:
       $keelctl approve $refund/refund --comment "checked with the customer"
The cluster is still running on $KEEL_ENDPOINT (data and logs in $dir);
webhooks go to http://127.0.0.1:$http_port/hooks/stripe. It admits only its
own CURVE keys. In a new shell, first:
       source $dir/keys/keelctl.env
Try:   $keelctl tasks | task $refund | history $refund | approvals | connectors | dlq list
       $keelctl records list customer | memory search "refund" | trace $refund
Stop:  $keel cluster down --data-dir $dir
       kill \$(cat $cs/app.pid $cs/smtp.pid)      # the demo app and the SMTP sink
EOT
