// Webhook ingress: POST /hooks/<source> on the node's loopback HTTP server.
// For each request, in this order, and nothing is written unless all pass:
//   404 unknown source; 413 body over max_body_bytes (the server reads no
//   further: body_limit());
//   401 unsigned or a signature that matches no secret, or a stale
//   timestamp (outside the tolerance); 400 a malformed signature header, a
//   body that is not a JSON object, or no event id;
//   409 an exact replay (the same signature was already accepted for this id);
//   200 {"duplicate": true} a retry of an accepted event with a new signature.
// Then the event is normalized and committed (fsync) to the event inbox
// with the source's connector state, and only then answered 200
// {"received": true}. A body that is signed and has an id but lacks a mapped
// field is dead-lettered durably and answered 202 (the sender must not
// retry; the operator fixes the mapping and replays). Processing is
// asynchronous: the inbox pump hands the event to the canonicalizer later.
// A storage failure answers 503 so the sender retries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/connectors/event_inbox.hpp"
#include "adapters/connectors/record_mapping.hpp"
#include "adapters/connectors/webhook_signature.hpp"
#include "runtime/http/http_server.hpp"

namespace keel::connectors {

struct webhook_source {
  std::string name;                  // /hooks/<name>; also the events' source
  std::string scheme = "stripe";     // stripe | hmac
  std::vector<std::string> secrets;  // plaintexts (resolved from secret://); several while rotating
  std::string header = "Stripe-Signature";
  std::string timestamp_header;      // hmac scheme: non-empty = signed payload "<ts>.<body>"
  hmac_scheme hmac;                  // hmac scheme details (prefix, encoding)
  std::int64_t tolerance_s = 300;
  std::size_t max_body_bytes = 1 << 20;
  record_mapping mapping;            // default: id, type_from type, occurred_at created?, data_from data
};

// The mapping Stripe-shaped bodies need: {id, type, created, data: {object}}.
record_mapping stripe_event_mapping();

struct webhook_response {
  int status = 500;
  std::string body;  // JSON
};

class webhook_ingress {
 public:
  // Loads each source's connector state. Errors: io.
  static result<std::unique_ptr<webhook_ingress>> create(event_inbox& inbox, store& db,
                                                         std::vector<webhook_source> sources);

  using header_lookup = std::function<std::string(const std::string& name)>;
  // The whole decision for one request whose body was read completely.
  webhook_response handle(const std::string& source, const header_lookup& header, const std::string& body,
                          std::int64_t now_s);

  // The largest body POST `path` may carry: its source's max_body_bytes,
  // 0 for a path that names no source. The server reads no more than this.
  std::size_t body_limit(const std::string& path) const;
  // One POST /hooks/<source>, its body read by the server up to
  // body_limit(): a larger one (request::body_too_large) is refused 413
  // unread, then the answer is handle()'s.
  void serve(const httpd::request& req, httpd::response& res);

  std::vector<connector_state> states() const;
  const webhook_source* find(const std::string& name) const;

 private:
  webhook_ingress(event_inbox& inbox) : inbox_(inbox) {}
  webhook_response reject(const std::string& source, int status, const std::string& reason);

  event_inbox& inbox_;
  std::map<std::string, webhook_source> sources_;
  mutable std::mutex mu_;  // guards states_
  std::map<std::string, connector_state> states_;
};

}  // namespace keel::connectors
