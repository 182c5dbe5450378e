// Content hashes for records and events: BLAKE2b-256 (libsodium's
// crypto_generichash), printed as 64 lowercase hex digits. A hash names
// content, not identity: two events with the same hash are the same facts.
#pragma once

#include <string>
#include <string_view>

namespace keel::memory {

// BLAKE2b-256 of `bytes` as hex. Never fails (libsodium is initialised on
// first use; if that fails the process cannot hash at all, so it aborts).
std::string content_hash(std::string_view bytes);

// The 32 raw bytes of the same hash (what record versions store); its hex
// form is to_hex's (runtime/base/hex.hpp).
std::string content_hash_raw(std::string_view bytes);

// The same, over a file's bytes; empty string when the file cannot be read.
std::string file_hash(const std::string& path);

}  // namespace keel::memory
