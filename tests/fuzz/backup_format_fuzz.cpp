// libFuzzer target for the backup file decoder (storage/backup_format.hpp):
// any bytes as a backup file. Checked: nothing throws or reads past the
// input; every refusal says why; an input that decodes to the end (header,
// records, a trailer whose count and checksum match) is exactly what the
// encoder writes for those records, byte for byte.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/crypto.cpp"
#include "storage/backup_format.cpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t at = 0;
  keel::backup_decoder in(
      [&](char* to, std::size_t n) {
        if (n > input.size() - at) return false;
        std::memcpy(to, input.data() + at, n);
        at += n;
        return true;
      },
      "fuzz input");
  std::vector<keel::backup_record> records;
  for (;;) {
    auto rec = in.next();
    if (!rec) {
      if (rec.err().code != keel::errc::bad_request || rec.err().message.empty()) keel::fuzz::fail_input("a refusal that says nothing", size);
      return 0;
    }
    if (!*rec) break;
    records.push_back(std::move(**rec));
  }
  std::string again;
  keel::backup_encoder out([&](std::string_view bytes) {
    again.append(bytes);
    return true;
  });
  out.begin();
  for (const auto& r : records) out.record(r.kind, r.name, r.value);
  out.finish();
  if (again != input) keel::fuzz::fail_input("an accepted backup that the encoder would write differently", size);
  if (out.digest() != in.digest()) keel::fuzz::fail_input("two checksums for the same records", size);
  return 0;
}
