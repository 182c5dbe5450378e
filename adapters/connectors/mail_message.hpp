// Reading one stored mail (RFC 5322 + the MIME parts people send): unfolded
// headers, RFC 2047 encoded words (B and Q), and the body text: the first
// text/plain part of a multipart message, decoded from quoted-printable or
// base64. Every field comes out as UTF-8: text declared in the latin1 family
// (iso-8859-1, -15, windows-1252) is converted; anything else must be UTF-8
// already, and bytes that are not become U+FFFD. Pure; never throws;
// anything it cannot read is left out rather than guessed.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace keel::connectors {

struct mail_message {
  std::string from;        // bare address, lower-cased
  std::string from_name;   // display name, if any
  std::string to;          // the To header as written
  std::string subject;
  std::string message_id;  // with angle brackets, as in the header
  std::string in_reply_to;
  std::string thread_id;   // root of References, else In-Reply-To, else Message-ID
  std::string date;        // RFC 3339 UTC, or empty when the Date header is unreadable
  std::string text;        // body text
  // {from, from_name, to, subject, message_id, in_reply_to, thread_id, date, text}
  nlohmann::json to_json() const;
};

mail_message parse_mail(const std::string& raw);

}  // namespace keel::connectors
