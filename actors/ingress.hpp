// The ingress listener (node config `ingress:`): webhooks from the
// internet, and nothing else. It serves POST /hooks/<source> through the
// connector hub exactly as the loopback port does (signatures, body limits
// per source, the inbox); every other path is 404, so the console and
// /metrics are never reachable on it. With cert_file and key_file it
// speaks only HTTPS (TLS 1.2+); the files are read when it starts, which a
// reload does (it restarts the connectors part). Each client address gets
// `rate` requests per second (burst `burst`); beyond that, 429 with
// Retry-After. The HTTP server's own guards apply: head and body
// deadlines, connection caps per client and in total.
#pragma once

#include <memory>

#include "adapters/connectors/connector_hub.hpp"
#include "runtime/base/error.hpp"
#include "runtime/http/http_server.hpp"
#include "runtime/node/node_config.hpp"

namespace keel {

// Errors: config (a certificate or key that cannot be used), unavailable
// (the address cannot be bound). `hub` must outlive the server.
result<std::unique_ptr<httpd::server>> start_ingress(const ingress_config& cfg, connectors::connector_hub& hub);

}  // namespace keel
