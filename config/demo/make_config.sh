#!/usr/bin/env bash
# Writes the case study's configuration into DIR (tools/demo.sh and
# tests/integration/case_study_test.cpp both use it):
#   config/demo/make_config.sh DIR HTTP_PORT APP_PORT SMTP_PORT
#   DIR/node.yaml      config/node.yaml with the node's HTTP port (webhooks,
#                      metrics) = HTTP_PORT, the workflows of config/workflows,
#                      the demo policy, the dunning trigger, and the connectors
#                      of connectors.yaml
#   DIR/node-base.yaml the same without the connectors (a first start, to put
#                      the webhook secret in the vault: the connectors need it)
#   DIR/executor.yaml  http.request and email.send: the accounts app, crm and
#                      billing all at the demo app (127.0.0.1:APP_PORT), mail
#                      to the SMTP sink (127.0.0.1:SMTP_PORT)
#   DIR/support_mail/  a fresh copy of the demo mailbox
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $# -ne 4 ]]; then echo "usage: $0 DIR HTTP_PORT APP_PORT SMTP_PORT" >&2; exit 2; fi
dir=$1 http_port=$2 app_port=$3 smtp_port=$4
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -rf "$dir/support_mail"
cp -r "$repo/config/demo/support_mail" "$dir/support_mail"
mkdir -p "$dir/support_mail/cur" "$dir/support_mail/tmp"

trigger='[{event: invoice.payment_failed, workflow: dunning, when: "input.object.amount_due > 0"}]'
sed -e "s|^  port: 7402 |  port: $http_port |" \
    -e "s|^  dir: workflows |  dir: $repo/config/workflows |" \
    -e "s|^  file: \"\" |  file: $repo/config/demo/policy.yaml |" \
    -e "s|^  triggers: \[\] |  triggers: $trigger |" \
    "$repo/config/node.yaml" >"$dir/node-base.yaml"
for want in "port: $http_port " "dir: $repo/config/workflows " "policy.yaml " "workflow: dunning"; do
  grep -qF -- "$want" "$dir/node-base.yaml" ||
    { echo "make_config.sh: could not set '$want' in config/node.yaml (did its layout change?)" >&2; exit 1; }
done
{ cat "$dir/node-base.yaml"; sed -e "s|@REPO@|$repo|g" -e "s|@DIR@|$dir|g" "$repo/config/demo/connectors.yaml"; } >"$dir/node.yaml"

cat >"$dir/executor.yaml" <<EOT
# The case study's executors (written by config/demo/make_config.sh).
executor:
  caps: [echo, sleep, fail, shell, http.request, email.send]
shell:
  allow: [echo, date, uname, hostname, true, false, sleep]
http:
  base_urls:                     # workflows say {account: app, url: /accounts}
    app: http://127.0.0.1:$app_port
    crm: http://127.0.0.1:$app_port
    billing: http://127.0.0.1:$app_port
email:
  host: 127.0.0.1
  port: $smtp_port
  from: founder@tool.example
EOT
