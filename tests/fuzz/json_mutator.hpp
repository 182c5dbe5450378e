// A structure-aware mutator for the fuzz targets. Byte-level mutations of
// msgpack rarely keep a body decodable while changing one value's type (say
// "agent": "x" into "agent": 5), which is exactly what the node-side lookups
// must survive. So part of the time the body is decoded to JSON, one to three
// values are replaced, inserted, deleted or duplicated, with values chosen at
// type and range boundaries and keys from the protocol, and the result is
// encoded again. The rest of the time libFuzzer's own byte mutations run, so
// malformed msgpack stays covered.
//
// Include in exactly one translation unit per target, after fuzz_common.hpp,
// and define the hook there:
//     extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* d, size_t n, size_t max, unsigned seed) {
//       return keel::fuzz::mutate(d, n, max, seed);
//     }
#pragma once

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "runtime/base/msgpack_in.hpp"
#include "runtime/base/msgpack_json.hpp"

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace keel::fuzz {

namespace detail {

using json = nlohmann::json;

inline const std::vector<std::string>& keys() {
  static const std::vector<std::string> k = {
      "cid", "trace", "span", "op", "args", "agent", "message", "action", "on", "timeout_ms", "workflow",
      "input", "idempotency_key", "by", "wait", "limit", "id", "state", "comment", "from", "final", "ok",
      "task_id", "lease", "result", "error", "code", "caps", "labels", "concurrency", "protocol",
      "executor_id", "name", "pid", "host", "version", "in_flight", "duration_ms", "body", "x"};
  return k;
}

inline const std::vector<std::string>& words() {
  static const std::vector<std::string> w = {
      "ping", "status", "agents", "executors", "send", "run", "fault.crash", "run-workflow", "workflows",
      "tasks", "task", "history", "approvals", "approve", "reject", "retry", "cancel", "echo", "",
      "0123456789abcdef0123456789abcdef", "0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF",
      "\xff", "\xc3\x28", std::string("nul\0", 4)};
  return w;
}

inline json random_value(std::mt19937& rng) {
  switch (rng() % 24) {
    case 0: return nullptr;
    case 1: return true;
    case 2: return false;
    case 3: return std::uint64_t{0};
    case 4: return std::uint64_t{1} + rng() % 200;
    case 5: return -static_cast<std::int64_t>(1 + rng() % 200);
    case 6: return std::uint64_t{0x7fffffff} + rng() % 3;
    case 7: return std::uint64_t{0xffffffff} + rng() % 3;
    case 8: return static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) - rng() % 2;
    case 9: return std::numeric_limits<std::uint64_t>::max() - rng() % 2;
    case 10: return std::numeric_limits<std::int64_t>::min() + rng() % 2;
    case 11: return std::uint64_t{9223372036854ull} + rng() % 3;  // milliseconds that overflow nanoseconds
    case 12: return 0.5;
    case 13: return -0.0;
    case 14: return 1e300;
    case 15: return -1e300;
    case 16: return std::numeric_limits<double>::quiet_NaN();
    case 17: return std::numeric_limits<double>::infinity();
    case 18: return 9223372036854775808.0;   // 2^63
    case 19: return 18446744073709551616.0;  // 2^64
    case 20: return json::array();
    case 21: return json::object();
    case 22: return words()[rng() % words().size()];
    default: return keys()[rng() % keys().size()];
  }
}

inline void collect(json& j, std::vector<json*>& out) {
  out.push_back(&j);
  if (j.is_structured())
    for (auto& e : j) collect(e, out);
}

inline void mutate_once(json& root, std::mt19937& rng) {
  std::vector<json*> nodes;
  collect(root, nodes);
  json& n = *nodes[rng() % nodes.size()];
  switch (rng() % 8) {
    case 0:
    case 1:  // retype or re-range one value (never the root: it must stay a map to get anywhere)
      if (&n != &root) n = random_value(rng);
      break;
    case 2:  // a protocol key with a boundary value
    case 3:
      if (n.is_object()) n[keys()[rng() % keys().size()]] = random_value(rng);
      else if (n.is_array()) n.push_back(random_value(rng));
      break;
    case 4:  // drop a member
      if (n.is_object() && !n.empty()) {
        auto it = n.begin();
        std::advance(it, static_cast<long>(rng() % n.size()));
        n.erase(it);
      } else if (n.is_array() && !n.empty()) {
        n.erase(n.begin() + static_cast<long>(rng() % n.size()));
      }
      break;
    case 5: {  // graft a copy of another subtree here (nesting, repetition)
      json copy = *nodes[rng() % nodes.size()];
      if (n.is_object()) n[keys()[rng() % keys().size()]] = std::move(copy);
      else if (&n != &root) n = std::move(copy);
      break;
    }
    case 6:  // edit a string
      if (n.is_string()) {
        auto& s = n.get_ref<std::string&>();
        switch (rng() % 4) {
          case 0: s = words()[rng() % words().size()]; break;
          case 1: s.push_back(static_cast<char>(rng())); break;
          case 2: if (!s.empty()) s.pop_back(); break;
          default: if (!s.empty()) s[rng() % s.size()] = static_cast<char>(rng()); break;
        }
      }
      break;
    default:  // wrap a value in an array or an object
      if (&n != &root) n = (rng() % 2) ? json::array({n}) : json{{keys()[rng() % keys().size()], n}};
      break;
  }
}

}  // namespace detail

inline std::size_t mutate(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed) {
  std::mt19937 rng(seed);
  if (size < 3 || size > 65536 || rng() % 3 == 0) return LLVMFuzzerMutate(data, size, max_size);
  nlohmann::json body;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto len = msgpack_in::check(bytes, {48, 4096});
  if (!len) return LLVMFuzzerMutate(data, size, max_size);
  body = msgpack_in::value(bytes.substr(0, *len)).to_json();
  for (unsigned k = 0, n = 1 + rng() % 3; k < n; ++k) detail::mutate_once(body, rng);
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_json(pk, body);
  if (buf.size() + 2 > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data + 2, buf.data(), buf.size());
  return buf.size() + 2;
}

}  // namespace keel::fuzz
