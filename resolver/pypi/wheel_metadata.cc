#include "resolver/pypi/wheel_metadata.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "src/digest.h"
#include "src/fs.h"

namespace ferry::resolver::pypi {
namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kEocd64LocatorSig = 0x07064b50;
constexpr uint32_t kEocd64Sig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint64_t kTailBytes = 64 * 1024;
constexpr uint64_t kMaxMetadataBytes = 16 * 1024 * 1024;  // hostile input bound

uint16_t Le16(std::string_view b, size_t off) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[off]) |
                               (static_cast<unsigned char>(b[off + 1]) << 8));
}
uint32_t Le32(std::string_view b, size_t off) {
  return static_cast<uint32_t>(Le16(b, off)) | (static_cast<uint32_t>(Le16(b, off + 2)) << 16);
}
uint64_t Le64(std::string_view b, size_t off) {
  return static_cast<uint64_t>(Le32(b, off)) | (static_cast<uint64_t>(Le32(b, off + 4)) << 32);
}

struct CentralDir {
  uint64_t offset = 0;  // absolute offset of the central directory in the file
  uint64_t size = 0;
};

// Finds the (zip64-aware) end of central directory in `tail`, which holds the file's bytes
// [tail_start, tail_start + tail.size()).
Result<CentralDir> FindCentralDir(std::string_view tail, uint64_t tail_start,
                                  std::string_view origin) {
  if (tail.size() < 22) return Status::User(std::string(origin) + ": not a zip file (too short)");
  for (size_t i = tail.size() - 22 + 1; i-- > 0;) {
    if (Le32(tail, i) != kEocdSig) continue;
    CentralDir cd;
    cd.size = Le32(tail, i + 12);
    cd.offset = Le32(tail, i + 16);
    if ((cd.offset == 0xFFFFFFFF || cd.size == 0xFFFFFFFF) && i >= 20 &&
        Le32(tail, i - 20) == kEocd64LocatorSig) {
      uint64_t eocd64 = Le64(tail, i - 20 + 8);
      if (eocd64 < tail_start || eocd64 - tail_start + 56 > tail.size())
        return Status::User(std::string(origin) + ": zip64 end record outside the fetched tail");
      size_t e = static_cast<size_t>(eocd64 - tail_start);
      if (Le32(tail, e) != kEocd64Sig)
        return Status::User(std::string(origin) + ": bad zip64 end of central directory");
      cd.size = Le64(tail, e + 40);
      cd.offset = Le64(tail, e + 48);
    }
    return cd;
  }
  return Status::User(std::string(origin) + ": not a zip file (no end of central directory)");
}

struct MemberInfo {
  uint64_t local_offset = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint16_t method = 0;
  size_t name_len = 0;
};

// Finds the top-level "*.dist-info/METADATA" entry in the central directory bytes.
Result<MemberInfo> FindMetadataMember(std::string_view cd, std::string_view origin) {
  size_t i = 0;
  std::optional<MemberInfo> found;
  while (i + 46 <= cd.size() && Le32(cd, i) == kCentralSig) {
    MemberInfo m;
    m.method = Le16(cd, i + 10);
    m.compressed_size = Le32(cd, i + 20);
    m.uncompressed_size = Le32(cd, i + 24);
    size_t name_len = Le16(cd, i + 28), extra_len = Le16(cd, i + 30), comment_len = Le16(cd, i + 32);
    m.local_offset = Le32(cd, i + 42);
    if (i + 46 + name_len + extra_len + comment_len > cd.size()) break;
    std::string_view name = cd.substr(i + 46, name_len);
    std::string_view extra = cd.substr(i + 46 + name_len, extra_len);
    // zip64 extended information: the fields that are 0xFFFFFFFF, in order.
    for (size_t e = 0; e + 4 <= extra.size();) {
      uint16_t id = Le16(extra, e), len = Le16(extra, e + 2);
      if (e + 4 + len > extra.size()) break;
      if (id == 0x0001) {
        size_t p = e + 4;
        if (m.uncompressed_size == 0xFFFFFFFF && p + 8 <= e + 4 + len) { m.uncompressed_size = Le64(extra, p); p += 8; }
        if (m.compressed_size == 0xFFFFFFFF && p + 8 <= e + 4 + len) { m.compressed_size = Le64(extra, p); p += 8; }
        if (m.local_offset == 0xFFFFFFFF && p + 8 <= e + 4 + len) { m.local_offset = Le64(extra, p); }
      }
      e += 4 + len;
    }
    m.name_len = name_len;
    auto slash = name.find('/');
    if (slash != std::string_view::npos && name.substr(slash) == "/METADATA" &&
        name.substr(0, slash).size() > 10 &&
        name.substr(0, slash).substr(name.substr(0, slash).size() - 10) == ".dist-info") {
      if (found) return Status::User(std::string(origin) + ": wheel has several .dist-info/METADATA files");
      found = m;
    }
    i += 46 + name_len + extra_len + comment_len;
  }
  if (!found) return Status::User(std::string(origin) + ": wheel has no .dist-info/METADATA");
  if (found->uncompressed_size > kMaxMetadataBytes || found->compressed_size > kMaxMetadataBytes)
    return Status::User(std::string(origin) + ": METADATA is implausibly large");
  return *found;
}

Result<std::string> Inflate(std::string_view data, uint64_t expected, std::string_view origin) {
  std::string out;
  out.resize(static_cast<size_t>(expected));
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return Status::User("zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&zs, Z_FINISH);
  size_t produced = out.size() - zs.avail_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || produced != expected)
    return Status::User(std::string(origin) + ": corrupt deflate data in METADATA");
  return out;
}

// Decodes the METADATA member given the bytes starting at its local header.
Result<std::string> DecodeLocalMember(std::string_view local, const MemberInfo& m,
                                      std::string_view origin) {
  if (local.size() < 30 || Le32(local, 0) != kLocalSig)
    return Status::User(std::string(origin) + ": bad local header for METADATA");
  size_t data_start = 30 + Le16(local, 26) + Le16(local, 28);
  if (data_start + m.compressed_size > local.size())
    return Status::User(std::string(origin) + ": truncated METADATA member");
  std::string_view data = local.substr(data_start, static_cast<size_t>(m.compressed_size));
  if (m.method == 0) return std::string(data);
  if (m.method == 8) return Inflate(data, m.uncompressed_size, origin);
  return Status::User(std::string(origin) + ": unsupported zip compression method " +
                      std::to_string(m.method));
}

// Parses "bytes a-b/total".
std::optional<uint64_t> ContentRangeTotal(const std::string& header) {
  auto slash = header.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  try {
    return std::stoull(header.substr(slash + 1));
  } catch (...) {
    return std::nullopt;
  }
}

bool IsWheel(const std::string& filename) {
  return filename.size() > 4 && filename.compare(filename.size() - 4, 4, ".whl") == 0;
}

enum class Stage { kDone, kMetadataFile, kTail, kCentralDir, kMember, kFull };

struct FileState {
  Stage stage = Stage::kDone;
  uint64_t total = 0;
  std::string tail;  // file bytes [tail_start, total)
  uint64_t tail_start = 0;
  MemberInfo member;
  std::optional<Result<FetchedMetadata>> result;
};

}  // namespace

Result<std::string> ExtractMetadataFromWheelBytes(std::string_view zip, std::string_view origin) {
  FERRY_ASSIGN_OR_RETURN(CentralDir cd, FindCentralDir(zip, 0, origin));
  if (cd.offset + cd.size > zip.size())
    return Status::User(std::string(origin) + ": central directory outside the file");
  FERRY_ASSIGN_OR_RETURN(MemberInfo m,
                         FindMetadataMember(zip.substr(cd.offset, cd.size), origin));
  if (m.local_offset >= zip.size())
    return Status::User(std::string(origin) + ": METADATA offset outside the file");
  return DecodeLocalMember(zip.substr(m.local_offset), m, origin);
}

WheelMetadataFetcher::WheelMetadataFetcher(HttpClient& http, FileSystem& fs, std::string cache_dir)
    : http_(http), fs_(fs), cache_dir_(std::move(cache_dir)) {}

std::vector<Result<FetchedMetadata>> WheelMetadataFetcher::FetchAll(
    const std::vector<IndexFile>& files) {
  std::vector<FileState> st(files.size());
  auto finish = [&](size_t i, std::string raw, MetadataSource source) {
    std::string origin = RedactUrl(files[i].url);
    auto md = ParseCoreMetadata(raw, origin);
    if (!md.ok()) {
      st[i].result = md.status();
    } else {
      if (!cache_dir_.empty() && !files[i].sha256.empty() && source != MetadataSource::kCache) {
        (void)fs_.CreateDirs(cache_dir_);
        (void)fs_.WriteCacheFile(JoinPath(cache_dir_, files[i].sha256 + ".METADATA"),
                                 "sha256:" + Sha256Hex(raw) + "\n" + raw);
      }
      st[i].result = FetchedMetadata{std::move(md).value(), std::move(raw), source};
    }
    st[i].stage = Stage::kDone;
  };
  auto fail = [&](size_t i, Status s) {
    st[i].result = std::move(s);
    st[i].stage = Stage::kDone;
  };

  for (size_t i = 0; i < files.size(); ++i) {
    const IndexFile& f = files[i];
    if (!IsWheel(f.filename)) {
      fail(i, Status::User(f.filename + " is a source distribution: building sdists is not "
                                        "supported yet (ferry installs wheels only)"));
      continue;
    }
    if (!cache_dir_.empty() && !f.sha256.empty()) {
      // Entries are written without fsync and carry the sha256 of their body: anything else
      // (a crash's empty or partial file, tampering) is a miss.
      auto cached = fs_.ReadFile(JoinPath(cache_dir_, f.sha256 + ".METADATA"));
      if (cached.ok() && cached->size() > 72 && cached->compare(0, 7, "sha256:") == 0 &&
          (*cached)[71] == '\n' &&
          Sha256Hex(std::string_view(*cached).substr(72)) == cached->substr(7, 64)) {
        finish(i, cached->substr(72), MetadataSource::kCache);
        continue;
      }
    }
    if (f.url.rfind("file://", 0) == 0) {  // a directory index: read the files directly
      std::string path = f.url.substr(7);
      if (f.has_core_metadata) {
        if (auto md = fs_.ReadFile(path + ".metadata"); md.ok()) {
          if (!f.core_metadata_sha256.empty() && Sha256Hex(*md) != f.core_metadata_sha256) {
            fail(i, Status::Integrity(f.url + ".metadata: sha256 mismatch: expected " +
                                      f.core_metadata_sha256 + ", got " + Sha256Hex(*md)));
            continue;
          }
          finish(i, std::move(md).value(), MetadataSource::kMetadataFile);
          continue;
        }
      }
      auto whole = fs_.ReadFile(path);
      if (!whole.ok()) {
        fail(i, whole.status());
        continue;
      }
      if (!f.sha256.empty() && Sha256Hex(*whole) != f.sha256) {
        fail(i, Status::Integrity(f.url + ": sha256 mismatch: expected " + f.sha256 + ", got " +
                                  Sha256Hex(*whole)));
        continue;
      }
      auto raw = ExtractMetadataFromWheelBytes(*whole, f.url);
      if (raw.ok()) finish(i, std::move(raw).value(), MetadataSource::kFullDownload);
      else fail(i, raw.status());
      continue;
    }
    st[i].stage = f.has_core_metadata ? Stage::kMetadataFile : Stage::kTail;
  }

  for (int round = 0; round < 6; ++round) {
    std::vector<size_t> idx;
    std::vector<HttpRequest> reqs;
    for (size_t i = 0; i < files.size(); ++i) {
      if (st[i].stage == Stage::kDone) continue;
      HttpRequest r;
      r.url = files[i].url;
      switch (st[i].stage) {
        case Stage::kMetadataFile:
          r.url += ".metadata";
          break;
        case Stage::kTail:
          r.headers.emplace_back("Range", "bytes=-" + std::to_string(kTailBytes));  // suffix
          break;
        case Stage::kCentralDir:
        case Stage::kMember: {
          // kCentralDir: member.local_offset holds the central directory's offset; it runs up
          // to the tail already held. kMember: the local header, name, extra (slack) and data.
          uint64_t first = st[i].member.local_offset;
          uint64_t last = st[i].stage == Stage::kMember
                              ? std::min(st[i].total, first + 30 + st[i].member.name_len + 1024 +
                                                          st[i].member.compressed_size) - 1
                              : st[i].tail_start - 1;
          r.range = std::make_pair(first, std::optional<uint64_t>(last));
          break;
        }
        case Stage::kFull:
        case Stage::kDone:
          break;
      }
      idx.push_back(i);
      reqs.push_back(std::move(r));
    }
    if (reqs.empty()) break;
    http_requests_ += static_cast<int>(reqs.size());
    auto responses = http_.SendAll(reqs);
    for (size_t k = 0; k < idx.size(); ++k) {
      size_t i = idx[k];
      const IndexFile& f = files[i];
      std::string origin = RedactUrl(f.url);
      if (!responses[k].ok()) {
        fail(i, responses[k].status());
        continue;
      }
      HttpResponse& resp = responses[k].value();
      switch (st[i].stage) {
        case Stage::kMetadataFile: {
          if (resp.status != 200) {
            st[i].stage = Stage::kTail;  // advertised but missing: fall back to Range
            break;
          }
          if (!f.core_metadata_sha256.empty() && Sha256Hex(resp.body) != f.core_metadata_sha256) {
            fail(i, Status::Integrity(origin + ".metadata: sha256 mismatch: expected " +
                                      f.core_metadata_sha256 + ", got " + Sha256Hex(resp.body)));
            break;
          }
          finish(i, std::move(resp.body), MetadataSource::kMetadataFile);
          break;
        }
        case Stage::kTail: {
          if (resp.status == 200) {  // server ignored Range: the whole file is here (below)
            st[i].stage = Stage::kFull;
          } else if (resp.status == 206) {
            auto total = ContentRangeTotal(resp.Header("content-range"));
            if (!total) {
              st[i].stage = Stage::kFull;
              break;
            }
            st[i].total = *total;
            st[i].tail_start = *total - resp.body.size();
            st[i].tail = std::move(resp.body);
            auto cd = FindCentralDir(st[i].tail, st[i].tail_start, origin);
            if (!cd.ok()) {
              fail(i, cd.status());
              break;
            }
            if (cd->offset < st[i].tail_start) {
              st[i].member.local_offset = cd->offset;  // reused as "cd offset" for the next round
              st[i].stage = Stage::kCentralDir;
              break;
            }
            std::string_view cd_bytes =
                std::string_view(st[i].tail).substr(cd->offset - st[i].tail_start, cd->size);
            auto m = FindMetadataMember(cd_bytes, origin);
            if (!m.ok()) {
              fail(i, m.status());
              break;
            }
            st[i].member = *m;
            if (m->local_offset >= st[i].tail_start) {
              auto raw = DecodeLocalMember(
                  std::string_view(st[i].tail).substr(m->local_offset - st[i].tail_start), *m, origin);
              if (raw.ok()) finish(i, std::move(raw).value(), MetadataSource::kRange);
              else fail(i, raw.status());
            } else {
              st[i].stage = Stage::kMember;
            }
            break;
          } else if (resp.status == 416 || resp.status == 501) {
            st[i].stage = Stage::kFull;
            break;
          } else {
            fail(i, Status::Network(origin + ": HTTP " + std::to_string(resp.status)));
            break;
          }
          break;
        }
        case Stage::kCentralDir: {
          if (resp.status != 206) {
            st[i].stage = Stage::kFull;
            break;
          }
          // The central directory runs from its offset up to the tail we already hold.
          std::string cd = std::move(resp.body) + st[i].tail;
          auto m = FindMetadataMember(cd, origin);
          if (!m.ok()) {
            fail(i, m.status());
            break;
          }
          st[i].member = *m;
          st[i].stage = Stage::kMember;
          break;
        }
        case Stage::kMember: {
          if (resp.status != 206) {
            st[i].stage = Stage::kFull;
            break;
          }
          auto raw = DecodeLocalMember(resp.body, st[i].member, origin);
          if (raw.ok()) finish(i, std::move(raw).value(), MetadataSource::kRange);
          else fail(i, raw.status());
          break;
        }
        case Stage::kFull: {
          if (resp.status != 200) {
            fail(i, Status::Network(origin + ": HTTP " + std::to_string(resp.status)));
            break;
          }
          if (!f.sha256.empty() && Sha256Hex(resp.body) != f.sha256) {
            fail(i, Status::Integrity(origin + ": sha256 mismatch: expected " + f.sha256 +
                                      ", got " + Sha256Hex(resp.body)));
            break;
          }
          auto raw = ExtractMetadataFromWheelBytes(resp.body, origin);
          if (raw.ok()) finish(i, std::move(raw).value(), MetadataSource::kFullDownload);
          else fail(i, raw.status());
          break;
        }
        case Stage::kDone:
          break;
      }
      // A tail response that fell through to kFull already carries the whole file.
      if (st[i].stage == Stage::kFull && resp.status == 200 && !resp.body.empty() &&
          !st[i].result) {
        if (!f.sha256.empty() && Sha256Hex(resp.body) != f.sha256) {
          fail(i, Status::Integrity(origin + ": sha256 mismatch: expected " + f.sha256 + ", got " +
                                    Sha256Hex(resp.body)));
        } else {
          auto raw = ExtractMetadataFromWheelBytes(resp.body, origin);
          if (raw.ok()) finish(i, std::move(raw).value(), MetadataSource::kFullDownload);
          else fail(i, raw.status());
        }
      }
    }
  }
  std::vector<Result<FetchedMetadata>> out;
  out.reserve(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    if (st[i].result) out.push_back(std::move(*st[i].result));
    else out.push_back(Status::Network(RedactUrl(files[i].url) + ": could not read wheel metadata"));
  }
  return out;
}

}  // namespace ferry::resolver::pypi
