// The `email.send` action: one plain-text message over SMTP (smtp_client).
//   args: {"to": "a@x.com" | ["a@x.com", ...], "subject": "...", "text": "...",
//          "from": "ops@y.com" (default: the executor's), "cc": [...],
//          "in_reply_to": "<id@x>" (threads a reply),
//          "smtp_password": "secret://smtp_password" (the relay's AUTH password
//          from the vault, resolved by the node; else the executor's
//          email.password_env)}
//   result: {"message_id": "<...>", "accepted": [...], "tls": bool, "reply": "250 ..."}
//
// The Message-ID is derived from the step's idempotency key
// (<first 32 hex of SHA-256("keel-email:" key)>@<sender's domain>), so a
// re-delivered step sends a message with the same Message-ID and the
// receiving side (and the demo's check) sees one message, not two. Delivery
// itself is at-least-once: SMTP has no way to ask "did you get this one?".
// Header values with CR or LF are refused (no header injection).
#pragma once

#include <memory>
#include <string>

#include "adapters/actions/smtp_client.hpp"
#include "runtime/fabric/action.hpp"
#include "runtime/base/error.hpp"

namespace keel {

struct email_spec {
  smtp::server smtp;
  std::string default_from;  // used when args have no "from"
};

std::unique_ptr<action> make_email_send_action(email_spec spec);

// The Message-ID for an idempotency key and a sender address.
std::string message_id_for(const std::string& idempotency_key, const std::string& from);

struct outgoing_mail {
  std::string from;
  std::vector<std::string> to, cc;
  std::string subject, text, message_id, in_reply_to;
  std::int64_t date_s = 0;  // unix seconds
};
// The RFC 5322 message (headers + body, LF line ends). Errors: bad_request
// naming a header value with a line break.
result<std::string> render_mail(const outgoing_mail& m);

}  // namespace keel
