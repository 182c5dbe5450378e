// The one codec between JSON values (nlohmann::json, how Keel code handles
// free-form payloads, records and events) and msgpack (the wire and the
// values the store keeps).
//
// Writing is canonical: one encoding per JSON value, so the bytes can be
// hashed (a record's content hash is computed over them, value format 3).
// Map keys in nlohmann's (sorted) order; integers in their smallest form,
// non-negative signed and unsigned values alike (decoders return them as
// unsigned); floats always as float64, never narrowed (2.0 stays a float);
// strings as str (str8 from 32 bytes), binary as bin. Reading what was
// written and writing it again gives the same bytes. The wire's frames and
// the store's values are written by the same code: the two entry points
// differ only in where the bytes go.
//
// Frames are read by msgpack_in.hpp, which takes only the JSON-compatible
// subset. Reading a stored value (json_from_msgpack) takes what the writer
// writes, binary included.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel {

// --- writing ----------------------------------------------------------------

// A msgpack-c packer target that appends to a string: for a frame written
// straight into the string it is sent as (an sbuffer starts at 8 KiB, and
// its bytes would be copied out again).
struct string_sink {
  std::string& out;
  void write(const char* p, std::size_t n) { out.append(p, n); }
};

// The canonical bytes of `j` (depth is the caller's: values were parsed with
// limits before they get here).
std::string json_to_msgpack(const nlohmann::json& j);

// The same bytes, appended to a msgpack-c buffer through its packer (how a
// frame's body is written around its fixed fields).
void pack_json(msgpack::packer<msgpack::sbuffer>& pk, const nlohmann::json& j);

// The pieces, appended to `o`, for values laid out by hand (a record version
// is an array of fields, its hash as bin); json() is json_to_msgpack's.
namespace msgpack_out {
void uint(std::string& o, std::uint64_t v);
void int64(std::string& o, std::int64_t v);
void str(std::string& o, std::string_view s);
void bin(std::string& o, std::string_view bytes);
void array_header(std::string& o, std::size_t n);
void map_header(std::string& o, std::size_t n);
void boolean(std::string& o, bool v);
void json(std::string& o, const nlohmann::json& j);
}  // namespace msgpack_out

// --- reading ----------------------------------------------------------------

// A stored value back. Errors: io, what the decoder found wrong, unless
// `bytes` is exactly one msgpack value; the caller names the key and what
// to do (the store is damaged).
result<nlohmann::json> json_from_msgpack(std::string_view bytes);

}  // namespace keel
