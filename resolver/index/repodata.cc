#include "resolver/index/repodata.h"

#include "resolver/index/repodata_scan.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace ferry::resolver {
namespace {

namespace od = simdjson::ondemand;

std::string Where(const SubdirIndex::Origin& o) {
  return "channel " + o.channel_url + ", file " + o.subdir + "/" + o.file;
}

void Pad(std::string* s) {
  size_t n = s->size();
  s->resize(n + simdjson::SIMDJSON_PADDING, '\0');
  s->resize(n);  // capacity keeps the padding; the bytes are readable
}

// Splits a feature list written as "a b,c".
void SplitFeatures(std::string_view s, std::vector<std::string>* out) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != ',') ++j;
    if (j > i) out->emplace_back(s.substr(i, j - i));
    i = j;
  }
}

Status StringList(od::value v, std::vector<std::string>* out, const char* field) {
  od::array arr;
  if (v.get_array().get(arr)) return Status::User(std::string("'") + field + "' is not a list");
  for (auto item : arr) {
    std::string_view s;
    if (item.get_string().get(s)) {
      return Status::User(std::string("'") + field + "' has a non-string entry");
    }
    out->emplace_back(s);
  }
  return Status::Ok();
}

Result<specs::PackageRecord> ParseRecord(od::parser& parser, std::string_view json,
                                         size_t capacity, std::string_view filename,
                                         const SubdirIndex::Origin& origin) {
  specs::PackageRecord r;
  od::document doc;
  if (auto err = parser.iterate(json.data(), json.size(), capacity).get(doc)) {
    return Status::User(simdjson::error_message(err));
  }
  od::object obj;
  if (doc.get_object().get(obj)) return Status::User("record is not an object");
  std::string_view version_text;
  bool has_version = false, has_build = false, has_name = false;
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return Status::User("invalid key");
    od::value v;
    if (field.value().get(v)) return Status::User("invalid value");
    if (v.is_null()) continue;
    std::string_view s;
    if (key == "name") {
      if (v.get_string().get(s)) return Status::User("'name' is not a string");
      r.name = s;
      has_name = true;
    } else if (key == "version") {
      if (v.get_string().get(s)) return Status::User("'version' is not a string");
      version_text = s;
      has_version = true;
      auto parsed = specs::Version::Parse(s);
      if (!parsed.ok()) return Status::User("invalid version \"" + std::string(s) + "\"");
      r.version = std::move(parsed).value();
    } else if (key == "build") {
      if (v.get_string().get(s)) return Status::User("'build' is not a string");
      r.build = s;
      has_build = true;
    } else if (key == "build_number") {
      int64_t n;
      if (v.get_int64().get(n)) return Status::User("'build_number' is not an integer");
      r.build_number = n;
    } else if (key == "depends") {
      FERRY_RETURN_IF_ERROR(StringList(v, &r.depends, "depends"));
    } else if (key == "constrains") {
      FERRY_RETURN_IF_ERROR(StringList(v, &r.constrains, "constrains"));
    } else if (key == "track_features" || key == "features") {
      auto* out = key == "features" ? &r.features : &r.track_features;
      if (v.type() == od::json_type::array) {
        std::vector<std::string> items;
        FERRY_RETURN_IF_ERROR(StringList(v, &items, "track_features"));
        for (const auto& i : items) SplitFeatures(i, out);
      } else if (!v.get_string().get(s)) {
        SplitFeatures(s, out);
      }
    } else if (key == "subdir") {
      if (!v.get_string().get(s)) r.subdir = s;
    } else if (key == "noarch") {
      bool b;
      if (!v.get_string().get(s)) {
        r.noarch = specs::ParseNoarch(s);
      } else if (!v.get_bool().get(b)) {
        r.noarch = b ? specs::NoarchKind::kGeneric : specs::NoarchKind::kNone;
      }
    } else if (key == "timestamp") {
      int64_t t;
      double d;
      if (!v.get_int64().get(t)) {
      } else if (!v.get_double().get(d)) {
        t = static_cast<int64_t>(d);
      } else {
        return Status::User("'timestamp' is not a number");
      }
      // Older records carry seconds; normalize to milliseconds.
      r.timestamp = t < 253402300799LL ? t * 1000 : t;
    } else if (key == "md5") {
      if (!v.get_string().get(s)) r.md5 = s;
    } else if (key == "sha256") {
      if (!v.get_string().get(s)) r.sha256 = s;
    } else if (key == "size") {
      uint64_t n;
      if (v.get_uint64().get(n)) return Status::User("'size' is not an integer");
      r.size = n;
    } else if (key == "license") {
      if (!v.get_string().get(s)) r.license = s;
    } else if (key == "license_family") {
      if (!v.get_string().get(s)) r.license_family = s;
    } else if (key == "purls") {
      std::vector<std::string> p;
      if (StringList(v, &p, "purls").ok()) r.purls = std::move(p);
    } else if (key == "python_site_packages_path") {
      if (!v.get_string().get(s)) r.python_site_packages_path = s;
    }
  }
  if (!has_name) return Status::User("missing 'name'");
  if (!has_version) return Status::User("missing 'version'");
  if (!has_build) return Status::User("missing 'build'");
  (void)version_text;
  if (r.subdir.empty()) r.subdir = origin.subdir;
  r.fn = filename;
  r.channel = origin.channel_url;
  r.url = origin.channel_url + "/" + origin.subdir + "/" + std::string(filename);
  return r;
}

bool EndsWith(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

std::string_view Stem(std::string_view fn) {
  if (EndsWith(fn, ".conda")) return fn.substr(0, fn.size() - 6);
  if (EndsWith(fn, ".tar.bz2")) return fn.substr(0, fn.size() - 8);
  return fn;
}

// --- binary cache helpers ---
constexpr char kMagic[8] = {'F', 'E', 'R', 'R', 'Y', 'R', 'D', 'X'};
constexpr char kTrailer[8] = {'E', 'N', 'D', 'F', 'R', 'D', 'C', '\n'};
constexpr size_t kCachePadding = 64;
static_assert(kCachePadding >= simdjson::SIMDJSON_PADDING);

void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(b, 4);
}
void PutU64(std::string* out, uint64_t v) {
  PutU32(out, static_cast<uint32_t>(v));
  PutU32(out, static_cast<uint32_t>(v >> 32));
}
void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

uint32_t Crc32(std::string_view s) { return Crc32c(0, s); }

struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  uint32_t U32() {
    if (end - p < 4) {
      ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
    p += 4;
    return v;
  }
  uint64_t U64() {
    uint64_t lo = U32();
    uint64_t hi = U32();
    return lo | (hi << 32);
  }
  std::string_view Str() {
    uint32_t n = U32();
    if (!ok || static_cast<size_t>(end - p) < n) {
      ok = false;
      return {};
    }
    std::string_view s(p, n);
    p += n;
    return s;
  }
};

}  // namespace

Result<specs::PackageRecord> ParseRepodataRecord(std::string_view json, size_t capacity,
                                                 std::string_view filename,
                                                 const SubdirIndex::Origin& origin) {
  od::parser parser;
  return ParseRecord(parser, json, capacity, filename, origin);
}

Result<std::unique_ptr<SubdirIndex>> SubdirIndex::FromJson(std::string json, Origin origin,
                                                           Reporter& reporter) {
  auto owned = std::make_shared<std::string>(std::move(json));
  Pad(owned.get());
  std::string_view view(*owned);
  const size_t capacity = owned->capacity();
  return FromJsonView(std::move(owned), view, capacity, std::move(origin), reporter);
}

Result<std::unique_ptr<SubdirIndex>> SubdirIndex::FromJsonView(std::shared_ptr<const void> owner,
                                                               std::string_view json,
                                                               size_t capacity, Origin origin,
                                                               Reporter& reporter) {
  Builder builder(json.data(), std::move(origin));
  return builder.Finish(std::move(owner), json.size(), capacity, reporter);
}

// A record reference (SubdirIndex::Ref): file name and text (offsets into the body), and the
// record's CRC-32C.
constexpr uint64_t kRefSize = 8 + 4 + 8 + 4 + 4;

SubdirIndex::~SubdirIndex() {
  static_assert(sizeof(Ref) == kRefSize);
  if (background_.joinable()) background_.join();
}

void SubdirIndex::RunInBackground(std::function<void()> task) {
  if (background_.joinable()) background_.join();
  background_ = std::thread(std::move(task));
}

SubdirIndex::Builder::Builder(const char* doc, Origin origin)
    : doc_(doc), idx_(new SubdirIndex()), scanner_(std::make_unique<RepodataScanner>(doc)) {
  idx_->origin_ = std::move(origin);
}

SubdirIndex::Builder::~Builder() = default;

void SubdirIndex::Builder::Take() {
  auto& records = scanner_->records();
  for (const ScannedRecord& r : records) {
    // Records are usually grouped by name (keys sorted by file name): reuse the last name's
    // list instead of hashing (map values keep their address when the map grows).
    if (!r.same_name || !last_list_) {
      last_list_ = &idx_->by_name_[std::string_view(doc_ + r.name_off, r.name_len)];
    }
    Ref ref;
    unsigned char* b = ref.bytes;
    auto put = [&b](uint64_t v, int bytes) {  // little-endian
      for (int i = 0; i < bytes; ++i) *b++ = static_cast<unsigned char>(v >> (8 * i));
    };
    put(r.fn_off, 8);
    put(r.fn_len, 4);
    put(r.json_off, 8);
    put(r.json_len, 4);
    put(r.crc, 4);
    last_list_->push_back(ref);
  }
  idx_->record_count_ += records.size();
  records.clear();
}

Status SubdirIndex::Builder::Feed(size_t available) {
  // In slices, so that each slice's records are checksummed and filed while their bytes are
  // still in the CPU cache.
  constexpr size_t kSlice = 256 * 1024;
  for (size_t upto = fed_; upto < available;) {
    upto = std::min(available, upto + kSlice);
    FERRY_RETURN_IF_ERROR(scanner_->Feed(upto));
    Take();
  }
  fed_ = std::max(fed_, available);
  return Status::Ok();
}

Result<std::unique_ptr<SubdirIndex>> SubdirIndex::Builder::Finish(
    std::shared_ptr<const void> owner, size_t size, size_t capacity, Reporter& reporter) {
  const std::string where = Where(idx_->origin_);
  if (capacity < size + simdjson::SIMDJSON_PADDING) {
    return Status::User(where + ": " + std::to_string(capacity - size) +
                        " bytes of padding, need " + std::to_string(simdjson::SIMDJSON_PADDING));
  }
  Status s = Feed(size);
  if (s.ok()) s = scanner_->Finish(size);
  Take();
  if (!s.ok()) return Status::User(where + ": " + s.message());
  for (const SkippedRecord& skip : scanner_->skipped()) {
    reporter.Warn(where + ": skipping record " + skip.filename + ": " + skip.reason);
  }
  idx_->owner_ = std::move(owner);
  idx_->body_ = std::string_view(doc_, size);
  idx_->end_ = doc_ + capacity;
  return std::move(idx_);
}


bool SubdirIndex::RawRecords(std::string_view name, std::vector<Raw>* out) const {
  out->clear();
  std::string_view refs;
  uint32_t count = 0;
  bool check = false;  // references from a cache file are checked against their crcs
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    refs = std::string_view(reinterpret_cast<const char*>(it->second.data()),
                            it->second.size() * kRefSize);
    count = static_cast<uint32_t>(it->second.size());
  } else {
    auto bt = blocks_.find(name);
    if (bt == blocks_.end()) return true;
    // The name's references are covered by the block's crc, each record's text by its own.
    const Block& block = bt->second;
    if (Crc32c(0, block.refs) != block.crc32) return false;
    refs = block.refs;
    count = block.count;
    check = true;
  }
  Reader rd{refs.data(), refs.data() + refs.size()};
  out->reserve(count);
  const uint64_t body_size = body_.size();
  for (uint32_t k = 0; k < count; ++k) {
    uint64_t fn_off = rd.U64();
    uint32_t fn_len = rd.U32();
    uint64_t js_off = rd.U64();
    uint32_t js_len = rd.U32();
    uint32_t crc = rd.U32();
    if (!rd.ok || fn_off > body_size || fn_len > body_size - fn_off || js_off > body_size ||
        js_len > body_size - js_off) {
      out->clear();
      return false;
    }
    Raw raw{body_.substr(fn_off, fn_len), body_.substr(js_off, js_len), crc};
    if (check && RecordCrc(raw.filename, raw.json) != crc) {
      out->clear();
      return false;
    }
    out->push_back(raw);
  }
  return true;
}

std::string SubdirIndex::SerializeCache(std::string_view key) const {
  std::string out;
  (void)SerializeCacheTo(key, [&out](const std::vector<std::string_view>& pieces) {
    for (std::string_view p : pieces) out.append(p);
    return Status::Ok();
  });
  return out;
}

Status SubdirIndex::SerializeCacheTo(
    std::string_view key,
    const std::function<Status(const std::vector<std::string_view>&)>& write) const {
  static const std::string padding(kCachePadding, '\0');
  FERRY_RETURN_IF_ERROR(write({body_, padding}));
  return SerializeIndexTo(key, write);
}

Status SubdirIndex::SerializeIndexTo(
    std::string_view key,
    const std::function<Status(const std::vector<std::string_view>&)>& write) const {
  // Names sorted for a deterministic file. The refs table comes first: per name, its records'
  // references exactly as the index holds them (offsets into the body and crcs computed when
  // the document was scanned); then the header and the directory (per name: where its
  // references are, and their crc).
  std::vector<std::pair<std::string_view, std::string_view>> names;  // name, its references
  names.reserve(name_count());
  for (const auto& [n, refs] : by_name_) {
    names.emplace_back(n, std::string_view(reinterpret_cast<const char*>(refs.data()),
                                           refs.size() * kRefSize));
  }
  std::vector<Raw> check;
  for (const auto& [n, b] : blocks_) {
    if (!RawRecords(n, &check)) return Status::User("damaged records of " + std::string(n));
    names.emplace_back(n, b.refs);
  }
  std::sort(names.begin(), names.end());
  // The refs table goes out as it is held (one piece per name, in batches).
  std::string dir;
  uint64_t refs_size = 0;
  std::vector<std::string_view> batch;
  for (const auto& [name, refs] : names) {
    PutStr(&dir, name);
    PutU32(&dir, static_cast<uint32_t>(refs.size() / kRefSize));
    PutU64(&dir, refs_size);
    PutU32(&dir, Crc32c(0, refs));
    refs_size += refs.size();
    batch.push_back(refs);
    if (batch.size() == 4096) {
      FERRY_RETURN_IF_ERROR(write(batch));
      batch.clear();
    }
  }
  FERRY_RETURN_IF_ERROR(write(batch));
  const uint64_t index_offset = body_.size() + kCachePadding + refs_size;
  std::string header;
  header.append(kMagic, 8);
  PutU32(&header, kCacheVersion);
  PutStr(&header, key);
  PutU64(&header, body_.size());
  PutU64(&header, refs_size);
  PutU64(&header, names.size());
  PutU64(&header, dir.size());
  PutU32(&header, Crc32(dir));
  const uint64_t file_size = index_offset + header.size() + dir.size() + 24;
  std::string footer;
  PutU64(&footer, index_offset);
  PutU64(&footer, file_size);
  footer.append(kTrailer, 8);
  return write({header, dir, footer});
}

namespace {
// The index part of a cache file: where it starts, after checking the footer.
Result<Reader> IndexReader(std::string_view b) {
  if (b.size() < 24 + kCachePadding || std::memcmp(b.data() + b.size() - 8, kTrailer, 8) != 0) {
    return Status::User("not a cache file or truncated");
  }
  Reader ft{b.data() + b.size() - 24, b.data() + b.size()};
  uint64_t index_offset = ft.U64();
  uint64_t file_size = ft.U64();
  if (file_size != b.size()) return Status::User("truncated (size differs from its footer)");
  if (index_offset < kCachePadding || index_offset > b.size() - 24) {
    return Status::User("corrupt footer");
  }
  Reader rd{b.data() + index_offset, b.data() + b.size() - 24};
  if (rd.end - rd.p < 12 || std::memcmp(rd.p, kMagic, 8) != 0) {
    return Status::User("not a cache file");
  }
  rd.p += 8;
  return rd;
}
}  // namespace

Result<std::string> SubdirIndex::CacheKeyOf(std::string_view b) {
  FERRY_ASSIGN_OR_RETURN(Reader rd, IndexReader(b));
  uint32_t version = rd.U32();
  if (version != kCacheVersion) {
    return Status::User("unsupported repodata cache version " + std::to_string(version));
  }
  std::string_view key = rd.Str();
  if (!rd.ok) return Status::User("truncated repodata cache file");
  return std::string(key);
}

Result<std::unique_ptr<SubdirIndex>> SubdirIndex::FromCache(std::string bytes, Origin origin,
                                                            std::string_view key) {
  auto owned = std::make_shared<std::string>(std::move(bytes));
  std::string_view view(*owned);
  return FromCacheView(std::move(owned), view, std::move(origin), key);
}

Result<std::unique_ptr<SubdirIndex>> SubdirIndex::FromCacheView(std::shared_ptr<const void> owner,
                                                                std::string_view b, Origin origin,
                                                                std::string_view key) {
  std::unique_ptr<SubdirIndex> idx(new SubdirIndex());
  idx->origin_ = std::move(origin);
  idx->owner_ = std::move(owner);
  auto corrupt = [&](const std::string& why) {
    return Status::User("repodata cache for " + Where(idx->origin_) + ": " + why);
  };
  auto index = IndexReader(b);
  if (!index.ok()) return corrupt(index.status().message());
  Reader rd = *index;
  const uint64_t index_offset = static_cast<uint64_t>(rd.p - 8 - b.data());
  uint32_t version = rd.U32();
  if (version != kCacheVersion) return corrupt("unsupported version " + std::to_string(version));
  if (rd.Str() != key) return corrupt("stale (key mismatch)");
  uint64_t body_size = rd.U64();
  uint64_t refs_size = rd.U64();
  uint64_t n = rd.U64();
  uint64_t dir_size = rd.U64();
  uint32_t dir_crc = rd.U32();
  if (!rd.ok || body_size > index_offset || refs_size > index_offset - body_size ||
      body_size + kCachePadding + refs_size != index_offset) {
    return corrupt("corrupt header");
  }
  // The directory runs to the footer. Each entry takes at least 21 bytes: bounds the name
  // count before reserving.
  if (dir_size != static_cast<uint64_t>(rd.end - rd.p) || n > dir_size / 21) {
    return corrupt("corrupt header");
  }
  std::string_view dir(rd.p, dir_size);
  if (Crc32(dir) != dir_crc) return corrupt("corrupt directory");
  const char* refs = b.data() + body_size + kCachePadding;
  idx->body_ = b.substr(0, body_size);
  idx->end_ = refs;  // the padding after the body is readable
  Reader dr{dir.data(), dir.data() + dir.size()};
  idx->blocks_.reserve(n);
  std::string_view prev_name;
  uint64_t prev_off = 0;
  uint32_t prev_count = 0;
  // A name's refs end where the next name's begin (the last ones at the end of the table).
  auto close_prev = [&](uint64_t end_off) -> bool {
    if (prev_name.empty()) return true;
    if (end_off < prev_off || end_off > refs_size || end_off - prev_off != kRefSize * prev_count) {
      return false;
    }
    idx->blocks_[prev_name].refs = std::string_view(refs + prev_off, end_off - prev_off);
    return true;
  };
  for (uint64_t i = 0; i < n && dr.ok; ++i) {
    std::string_view name = dr.Str();
    uint32_t count = dr.U32();
    uint64_t off = dr.U64();
    uint32_t crc = dr.U32();
    if (!dr.ok || name.empty() || !close_prev(off)) return corrupt("corrupt directory");
    idx->blocks_[name] = Block{{}, count, crc};
    idx->record_count_ += count;
    prev_name = name;
    prev_off = off;
    prev_count = count;
  }
  if (!dr.ok || dr.p != dir.data() + dir.size() || !close_prev(refs_size)) {
    return corrupt("corrupt directory");
  }
  return idx;
}

std::vector<specs::PackageRecord> SubdirIndex::Records(std::string_view name,
                                                       Reporter& reporter) const {
  std::vector<specs::PackageRecord> out;
  if (const SubdirIndex* r = replacement()) return r->Records(name, reporter);
  std::vector<Raw> raws;
  if (!RawRecords(name, &raws)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!replacement_ && !reload_tried_) {
        reload_tried_ = true;
        reporter.Warn("repodata cache for " + Where(origin_) + " is damaged (records of '" +
                      std::string(name) + "' fail their checksum); re-reading the repodata");
        if (reloader_) {
          auto fresh = reloader_();
          if (fresh.ok()) {
            replacement_ = std::move(fresh).value();
          } else {
            reporter.Warn("could not re-read " + Where(origin_) + ": " +
                          fresh.status().message());
          }
        }
      }
    }
    if (const SubdirIndex* r = replacement()) return r->Records(name, reporter);
    reporter.Warn(Where(origin_) + ": skipping the records of '" + std::string(name) +
                  "' (damaged repodata cache)");
    return out;
  }
  if (raws.empty()) return out;
  od::parser parser;
  const char* end = end_;
  // .conda wins over .tar.bz2 of the same name-version-build.
  std::unordered_map<std::string_view, size_t> by_stem;
  for (const Raw& raw : raws) {
    std::string_view stem = Stem(raw.filename);
    bool is_conda = EndsWith(raw.filename, ".conda");
    auto seen = by_stem.find(stem);
    if (seen != by_stem.end()) {
      if (!is_conda || EndsWith(out[seen->second].fn, ".conda")) continue;
    }
    auto rec = ParseRecord(parser, raw.json, static_cast<size_t>(end - raw.json.data()),
                           raw.filename, origin_);
    if (!rec.ok()) {
      reporter.Warn(Where(origin_) + ": skipping record " + std::string(raw.filename) + ": " +
                    rec.status().message());
      continue;
    }
    if (rec->name != name) {
      reporter.Warn(Where(origin_) + ": skipping record " + std::string(raw.filename) +
                    ": inconsistent name");
      continue;
    }
    if (seen != by_stem.end()) {
      out[seen->second] = std::move(rec).value();
    } else {
      by_stem[stem] = out.size();
      out.push_back(std::move(rec).value());
    }
  }
  return out;
}

}  // namespace ferry::resolver
