// Cache files beside LevelDB (the vector index, the keyword snapshot) are
// written the same way: PATH.tmp, then its BLAKE2b hash into PATH.meta.tmp,
// then both renamed into place. A crash between the renames leaves a pair
// whose hash does not match, which the reader treats as "rebuild", never
// as data. Nothing here is fsynced: the files can always be rebuilt.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"

namespace keel::memory {

// PATH.tmp has been written by the caller: hashes it, writes `meta` plus
// "hash" to PATH.meta, and renames both over PATH and PATH.meta.
// Errors: io naming the file (disk full, rename refused).
status commit_hashed_file(const std::string& path, nlohmann::json meta);

// Reads PATH.meta and checks PATH against the hash in it. Returns the meta
// (with "hash"). Errors: not_found when either file is missing; io when the
// meta is not JSON or the hash does not match (damaged or half-written).
result<nlohmann::json> read_hashed_meta(const std::string& path, const std::string& what);

}  // namespace keel::memory
