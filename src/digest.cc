#include "src/digest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ferry {

struct Hasher::Ctx {
  EVP_MD_CTX* ctx = nullptr;
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

static const EVP_MD* MdFor(DigestKind kind) {
  return kind == DigestKind::kSha256 ? EVP_sha256() : EVP_md5();
}

Hasher::Hasher(DigestKind kind) : ctx_(std::make_unique<Ctx>()), kind_(kind) {
  ctx_->ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx_->ctx, MdFor(kind_), nullptr);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(std::string_view bytes) { Update(bytes.data(), bytes.size()); }
void Hasher::Update(const void* data, size_t size) { EVP_DigestUpdate(ctx_->ctx, data, size); }

std::string Hasher::RawDigest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->ctx, md, &len);
  EVP_DigestInit_ex(ctx_->ctx, MdFor(kind_), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Hasher::HexDigest() { return ToHex(RawDigest()); }

std::string ToHex(std::string_view raw) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string Sha256Hex(std::string_view bytes) {
  Hasher h(DigestKind::kSha256);
  h.Update(bytes);
  return h.HexDigest();
}

std::string Md5Hex(std::string_view bytes) {
  Hasher h(DigestKind::kMd5);
  h.Update(bytes);
  return h.HexDigest();
}

Result<std::string> Sha256File(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::User("reading " + path + ": " + std::strerror(errno));
  Hasher h;
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Status::User("reading " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  return h.HexDigest();
}

}  // namespace ferry
