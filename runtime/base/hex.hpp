// Hex text of bytes: the one encoder and decoder in Keel (hashes, ids, key
// files, signatures). Output is lower-case; input may be either case.
// Encoding is a table lookup of two digits per byte: every record write
// prints a content hash with it, and the table measured faster than
// libsodium's constant-time bin2hex. Nothing here is secret-safe in time:
// compare secrets with sodium_memcmp, not through these.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keel {

// Two lower-case hex digits per byte.
std::string to_hex(std::string_view bytes);
// The same digits written at `out`, which has room for 2 * bytes.size().
void write_hex(std::string_view bytes, char* out);

// The bytes `hex` spells, or nullopt when its length is odd or a character
// is not a hex digit (either case).
std::optional<std::string> from_hex(std::string_view hex);

// 0..15 for a hex digit of either case, -1 for anything else.
int hex_digit_value(char c);

// Every character a hex digit: of either case, or lower-case only (what
// to_hex writes and the wire's ids use). True for the empty string.
bool is_hex(std::string_view s);
bool is_lower_hex(std::string_view s);

}  // namespace keel
