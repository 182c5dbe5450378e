// msgpack written by hand into a std::string, for the values every record
// write stores (versions and change-feed entries). nlohmann's to_msgpack
// builds an output adapter per call and grows the output a byte at a time,
// a few percent of a write in bench (b); runtime/base/msgpack_json.hpp packs
// through msgpack-c for the wire, which storage does not link.
//
// The output is what a record's content hash is computed over (value format
// 3), so it must be canonical: one encoding per JSON value, and the same
// after a round trip through nlohmann's from_msgpack. Hence: map keys in
// nlohmann's (sorted) order, integers in their smallest form with
// non-negative signed and unsigned values alike (the decoder returns them as
// unsigned), floats always as float64. Readers decode with from_msgpack.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace keel::memory::msgpack_out {

void uint(std::string& o, std::uint64_t v);
void int64(std::string& o, std::int64_t v);
void str(std::string& o, std::string_view s);
void bin(std::string& o, std::string_view bytes);
void array_header(std::string& o, std::size_t n);
void map_header(std::string& o, std::size_t n);
void boolean(std::string& o, bool v);
// Any JSON value, recursively (depth is the caller's: stored fields were
// parsed and validated before they get here).
void json(std::string& o, const nlohmann::json& j);

}  // namespace keel::memory::msgpack_out
