// The console's admin requests: each handler asks its own node what keelctl
// would, over the node's ZeroMQ endpoint with the console's admin key. A
// few connected clients are kept for reuse (at most four idle); one whose
// call timed out is dropped, since the late reply may still arrive on it.
#include "runtime/console/console_impl.hpp"

namespace keel::console {

using nlohmann::json;

result<json> operator_console::impl::call(const std::string& op, const json& args) {
  std::unique_ptr<client> c;
  {
    std::lock_guard lock(mu);
    if (!idle_clients.empty()) {
      c = std::move(idle_clients.back());
      idle_clients.pop_back();
    }
  }
  if (!c) {
    auto made = client::connect(opts.endpoint, opts.keys ? &*opts.keys : nullptr);
    if (!made) return made.err();
    c = std::move(made.value());
  }
  auto r = c->call(op, args, opts.call_timeout);
  // A client that timed out may still get the late reply: do not reuse it.
  if (r || r.err().code != errc::timeout) {
    std::lock_guard lock(mu);
    if (idle_clients.size() < 4) idle_clients.push_back(std::move(c));
  }
  return r;
}

}  // namespace keel::console
