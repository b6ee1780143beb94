// Streaming SHA-256 / MD5 over OpenSSL EVP, and hex helpers.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "src/status.h"

namespace ferry {

enum class DigestKind { kSha256, kMd5 };

// Incremental hasher. Not thread-safe; one per stream. Move-only (owns an EVP_MD_CTX).
class Hasher {
 public:
  explicit Hasher(DigestKind kind = DigestKind::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(std::string_view bytes);
  void Update(const void* data, size_t size);
  // Lower-case hex digest. The hasher is reset afterwards and can be reused.
  std::string HexDigest();
  // Raw digest bytes. Resets like HexDigest.
  std::string RawDigest();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  DigestKind kind_;
};

std::string Sha256Hex(std::string_view bytes);
std::string Md5Hex(std::string_view bytes);
// Hashes a whole file. Error (kUser) naming the path if it cannot be read.
Result<std::string> Sha256File(const std::string& path);

std::string ToHex(std::string_view raw);
// True for exactly 64 lower-case hex characters.
bool IsSha256Hex(std::string_view s);

}  // namespace ferry
