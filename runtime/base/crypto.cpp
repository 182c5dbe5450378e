#include "runtime/base/crypto.hpp"

#include <cstdio>
#include <cstdlib>

#include <openssl/evp.h>
#include <sodium.h>

#include "runtime/base/hex.hpp"

namespace keel::control {

bool crypto_ready() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

namespace {

// SHA-256 comes from OpenSSL's libcrypto, which uses the CPU's SHA
// instructions where it has them (about 4.5x libsodium's portable code on
// 600-byte audit entries here); the audit chain and the model cache hash on
// every call. The algorithm is fetched once; contexts are reused per thread.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

EVP_MD_CTX* new_sha256_ctx() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx || !sha256_md() || EVP_DigestInit_ex(ctx, sha256_md(), nullptr) != 1) {
    // Nothing can be audited without it: stop rather than write an unchained trail.
    std::fputs("keel: OpenSSL's libcrypto offers no SHA-256 (check OPENSSL_CONF and its providers)\n", stderr);
    std::abort();
  }
  return ctx;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  struct ctx_holder {
    EVP_MD_CTX* ctx = new_sha256_ctx();
    ~ctx_holder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local ctx_holder one;
  unsigned char h[32];
  unsigned int n = 0;
  EVP_DigestInit_ex(one.ctx, sha256_md(), nullptr);
  EVP_DigestUpdate(one.ctx, data.data(), data.size());
  EVP_DigestFinal_ex(one.ctx, h, &n);
  return to_hex(std::string_view(reinterpret_cast<const char*>(h), n));
}

sha256_stream::sha256_stream() : ctx_(new_sha256_ctx()) {}

sha256_stream::~sha256_stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void sha256_stream::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string sha256_stream::digest() {
  unsigned char h[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), h, &n);
  return std::string(reinterpret_cast<const char*>(h), n);
}

std::string random_bytes(std::size_t n) {
  crypto_ready();
  std::string raw(n, '\0');
  randombytes_buf(raw.data(), raw.size());
  return raw;
}

std::string random_hex(std::size_t bytes) { return to_hex(random_bytes(bytes)); }

std::string to_base64(std::string_view bytes) {
  constexpr int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> from_base64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                        nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace keel::control
