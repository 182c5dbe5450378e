// One keel::client connection as the two callbacks the sliding window
// (sliding_window.hpp) takes: send(seq) pipelines request(seq), an op and
// its args (JSON, or msgpack bytes sent as they are: the first request's
// are checked, the rest come from the same builder, as a program writing
// its own msgpack would trust them);
// receive() matches the next reply to its sequence number by cid.
// A refused request is a failed completion ("request SEQ: CODE: message");
// an answered one is judged by judge(seq, body): "" when it is right, else
// what is wrong. A judge that takes the body as a msgpack_in::value reads
// it in place; one that takes JSON gets it built. A reply to no request in
// flight counts as unexpected.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "bench/sliding_window.hpp"
#include "runtime/base/msgpack_in.hpp"
#include "runtime/fabric/client.hpp"

namespace keel::bench {

template <class Request, class Judge>
class client_calls {
 public:
  client_calls(client& c, std::chrono::milliseconds reply_timeout, Request request, Judge judge)
      : c_(c), reply_timeout_(reply_timeout), request_(std::move(request)), judge_(std::move(judge)) {}

  void send(std::uint64_t seq) {
    auto [op, args] = request_(seq);
    auto cid = [&] {
      if constexpr (std::is_same_v<std::decay_t<decltype(args)>, nlohmann::json>) {
        return c_.send(op, std::move(args));
      } else {
        if (!args_checked_) {
          auto len = msgpack_in::check(args, {}, 0, "args");
          if (!len) throw std::runtime_error("request " + std::to_string(seq) + ": " + len.err().message);
          if (*len != args.size()) throw std::runtime_error("request " + std::to_string(seq) + ": args hold more than one msgpack value");
          args_checked_ = true;
        }
        return c_.send(op, msgpack_in::value(args));
      }
    }();
    if (!cid) throw std::runtime_error("client send failed: " + cid.err().message);
    seq_of_cid_.emplace(*cid, seq);
  }

  // Nothing once reply_timeout passed without a reply.
  std::optional<completion> receive() {
    auto rep = c_.receive_view(reply_timeout_);
    if (!rep) {
      if (rep.err().code == errc::timeout) return std::nullopt;
      throw std::runtime_error("client receive failed: " + rep.err().message);
    }
    completion out;
    auto it = seq_of_cid_.find(rep->cid);
    if (it == seq_of_cid_.end()) {
      out.seq = ~0ull;  // not ours: counted as unexpected
      return out;
    }
    out.seq = it->second;
    seq_of_cid_.erase(it);
    if (!rep->ok) {
      out.failed = true;
      out.why = "request " + std::to_string(out.seq) + ": " + rep->err.code + ": " + rep->err.message;
      return out;
    }
    if constexpr (std::is_invocable_v<Judge&, std::uint64_t, const msgpack_in::value&>)
      out.why = judge_(out.seq, rep->body);
    else
      out.why = judge_(out.seq, rep->body.to_json());
    out.matched = out.why.empty();
    return out;
  }

 private:
  client& c_;
  std::chrono::milliseconds reply_timeout_;
  Request request_;
  Judge judge_;
  std::unordered_map<std::uint64_t, std::uint64_t> seq_of_cid_;  // at most `window` entries
  bool args_checked_ = false;
};

}  // namespace keel::bench
