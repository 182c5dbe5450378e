#!/usr/bin/env bash
# Posts the demo's billing webhooks (billing_events.jsonl, one event per line)
# to a node's webhook ingress, each signed Stripe-style with the secret the
# node holds as secret://billing_whsec:
#   config/demo/send_webhooks.sh [URL] [SECRET] [LATER_S]
# URL defaults to http://127.0.0.1:7402/hooks/stripe; SECRET to $BILLING_WHSEC.
# LATER_S (default 0) signs as of that many seconds from now: a sender's
# retry is signed anew, and a retry sent within the second of the first
# delivery would otherwise carry the same signature, which the node refuses
# as a replay (409) instead of answering it as a duplicate.
set -euo pipefail
cd "$(dirname "$0")"
url=${1:-http://127.0.0.1:7402/hooks/stripe}
secret=${2:-${BILLING_WHSEC:?set BILLING_WHSEC or pass the secret}}
later=${3:-0}
while IFS= read -r body; do
  [[ -z "$body" ]] && continue
  t=$(($(date +%s) + later))
  sig=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$secret" -r | cut -d' ' -f1)
  printf '%s -> ' "$(printf '%s' "$body" | sed -n 's/.*"type":"\([^"]*\)".*/\1/p')"
  curl -sS -X POST "$url" -H "Content-Type: application/json" -H "Stripe-Signature: t=$t,v1=$sig" --data-binary "$body"
  echo
done < billing_events.jsonl
