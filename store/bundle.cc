#include "store/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "src/digest.h"
#include "src/fs.h"
#include "store/manifest.h"

namespace ferry::store {

namespace {

constexpr char kHeaderName[] = "ferry-bundle.json";
constexpr char kManifestDir[] = "manifests/";
constexpr char kBlobDir[] = "blobs/sha256/";
constexpr size_t kChunk = 1 << 20;

struct ReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::User(what + " " + path + ": " + std::strerror(errno));
}

std::string ArchiveError(archive* a) {
  const char* e = archive_error_string(a);
  return e ? e : "unknown archive error";
}

class Writer {
 public:
  Writer(archive* a, const std::string& path) : a_(a), path_(path) {}
  Status Header(const std::string& name, uint64_t size) {
    std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK)
      return Status::User("writing " + path_ + ": " + ArchiveError(a_));
    return Status::Ok();
  }
  Status Data(const void* data, size_t n) {
    if (archive_write_data(a_, data, n) != static_cast<la_ssize_t>(n))
      return Status::User("writing " + path_ + ": " + ArchiveError(a_));
    return Status::Ok();
  }
  Status Small(const std::string& name, const std::string& data) {
    FERRY_RETURN_IF_ERROR(Header(name, data.size()));
    return Data(data.data(), data.size());
  }

 private:
  archive* a_;
  std::string path_;
};

}  // namespace

Result<BundleStats> ExportBundle(const std::vector<std::string>& env_ids, LocalStore& local,
                                 const std::string& out_path, Reporter& reporter) {
  BundleStats stats;
  // Collect and check everything first.
  std::vector<std::pair<std::string, std::string>> manifests;  // env_id, text
  std::map<std::string, uint64_t> blobs;
  std::set<std::string> seen_envs;
  for (const auto& id : env_ids) {
    if (!seen_envs.insert(id).second) continue;
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> text, local.GetManifest(id));
    if (!text) return Status::User("environment " + id + " is not in the local store");
    FERRY_ASSIGN_OR_RETURN(EnvManifest m, ParseEnvManifest(*text, local.root() + "/manifests/" +
                                                                      id + ".json", id));
    for (const auto& b : m.blobs) {
      if (!local.HasBlob(b.sha256))
        return Status::User("environment " + id.substr(0, 12) + ": package file " + b.sha256 +
                            " is not in the local store (fetch the environment first)");
      blobs[b.sha256] = b.size;
    }
    manifests.emplace_back(id, *text);
    stats.env_ids.push_back(id);
  }

  nlohmann::ordered_json header;
  header["bundle_version"] = kBundleVersion;
  header["environments"] = stats.env_ids;
  nlohmann::ordered_json blob_list = nlohmann::ordered_json::array();
  uint64_t total = 0;
  for (const auto& [sha, size] : blobs) {
    blob_list.push_back({{"sha256", sha}, {"size", size}});
    total += size;
  }
  header["blobs"] = blob_list;

  static std::atomic<unsigned> counter{0};
  std::string tmp = out_path + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("creating", tmp);
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 1 << 16);
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK)
    return fail(Status::User("writing " + tmp + ": " + ArchiveError(a.get())));
  Writer w(a.get(), tmp);
  Status s = w.Small(kHeaderName, header.dump(2) + "\n");
  for (size_t i = 0; s.ok() && i < manifests.size(); ++i)
    s = w.Small(std::string(kManifestDir) + manifests[i].first + ".json", manifests[i].second);
  if (!s.ok()) return fail(s);

  reporter.BeginPhase("exporting", total);
  std::vector<char> buf(kChunk);
  for (const auto& [sha, size] : blobs) {
    std::string path = local.BlobPath(sha);
    int in = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      reporter.EndPhase();
      return fail(ErrnoStatus("reading", path));
    }
    s = w.Header(std::string(kBlobDir) + sha, size);
    Hasher h;
    uint64_t copied = 0;
    while (s.ok()) {
      ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        s = ErrnoStatus("reading", path);
        break;
      }
      if (n == 0) break;
      if (copied + static_cast<uint64_t>(n) > size) {
        s = Status::Integrity("local store blob " + path + " is larger than recorded");
        break;
      }
      h.Update(buf.data(), static_cast<size_t>(n));
      copied += static_cast<uint64_t>(n);
      s = w.Data(buf.data(), static_cast<size_t>(n));
      reporter.Advance(static_cast<uint64_t>(n));
    }
    ::close(in);
    if (s.ok() && copied != size)
      s = Status::Integrity("local store blob " + path + " is shorter than recorded");
    if (s.ok()) {
      std::string actual = h.HexDigest();
      if (actual != sha)
        s = Status::Integrity("local store blob " + path + " is corrupt (sha256 " + actual +
                              "); run 'ferry cache verify --repair'");
    }
    if (!s.ok()) {
      reporter.EndPhase();
      return fail(s);
    }
    stats.blobs++;
    stats.bytes += size;
  }
  reporter.EndPhase();
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(Status::User("writing " + tmp + ": " + ArchiveError(a.get())));
  if (::fsync(fd) != 0) return fail(ErrnoStatus("syncing", tmp));
  ::close(fd);
  if (::rename(tmp.c_str(), out_path.c_str()) != 0) {
    Status e = ErrnoStatus("renaming into", out_path);
    ::unlink(tmp.c_str());
    return e;
  }
  int dfd = ::open(DirName(out_path).empty() ? "." : DirName(out_path).c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return stats;
}

Result<BundleStats> ImportBundle(const std::string& path, LocalStore& local, Reporter& reporter) {
  BundleStats stats;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("reading bundle", path);
  FERRY_ASSIGN_OR_RETURN(FileLock write_lock, local.LockForWrite());

  std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());  // also accepts bundles compressed after export
  if (archive_read_open_filename(a.get(), path.c_str(), kChunk) != ARCHIVE_OK)
    return Status::Integrity(path + ": not a ferry bundle: " + ArchiveError(a.get()));

  struct Staged {
    std::string tmp;
    std::string sha;
    uint64_t size;
  };
  std::vector<Staged> staged;
  auto cleanup = [&] {
    for (const auto& s : staged) ::unlink(s.tmp.c_str());
  };
  auto corrupt = [&](const std::string& what) {
    cleanup();
    return Status::Integrity(path + ": corrupt bundle: " + what);
  };

  std::map<std::string, uint64_t> declared_blobs;
  std::vector<std::string> declared_envs;
  std::map<std::string, EnvManifest> manifests;
  std::map<std::string, std::string> manifest_texts;
  bool have_header = false;
  std::vector<char> buf(kChunk);
  uint64_t total_declared = 0;

  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return corrupt(ArchiveError(a.get()));
    const char* pn = archive_entry_pathname(e);
    std::string name = pn ? pn : "";
    if (archive_entry_filetype(e) != AE_IFREG) return corrupt("entry '" + name + "' is not a file");
    la_int64_t entry_size = archive_entry_size(e);
    if (entry_size < 0) return corrupt("entry '" + name + "' has no size");

    if (!have_header) {
      if (name != kHeaderName) return corrupt("first entry is '" + name + "', expected " + kHeaderName);
      if (entry_size > (16 << 20)) return corrupt("header too large");
      std::string text;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) return corrupt(ArchiveError(a.get()));
        if (n == 0) break;
        text.append(buf.data(), static_cast<size_t>(n));
      }
      try {
        auto h = nlohmann::json::parse(text);
        int version = h.at("bundle_version").get<int>();
        if (version > kBundleVersion) {
          cleanup();
          return Status::User(path + ": bundle_version " + std::to_string(version) +
                              " is newer than this ferry supports (" +
                              std::to_string(kBundleVersion) + "); upgrade ferry");
        }
        if (version != kBundleVersion) return corrupt("unsupported bundle_version");
        for (const auto& id : h.at("environments")) {
          std::string s = id.get<std::string>();
          if (!IsSha256Hex(s)) return corrupt("header lists an invalid env-id");
          declared_envs.push_back(s);
        }
        for (const auto& b : h.at("blobs")) {
          std::string sha = b.at("sha256").get<std::string>();
          int64_t size = b.at("size").get<int64_t>();
          if (!IsSha256Hex(sha) || size < 0) return corrupt("header lists an invalid blob");
          declared_blobs[sha] = static_cast<uint64_t>(size);
          total_declared += static_cast<uint64_t>(size);
        }
      } catch (const std::exception& ex) {
        return corrupt(std::string(kHeaderName) + ": " + ex.what());
      }
      have_header = true;
      reporter.BeginPhase("importing", total_declared);
      continue;
    }

    if (name.rfind(kManifestDir, 0) == 0) {
      std::string file = name.substr(std::strlen(kManifestDir));
      std::string id = file.size() == 69 ? file.substr(0, 64) : "";
      if (!IsSha256Hex(id) || file.compare(64, 5, ".json") != 0)
        return corrupt("unexpected entry '" + name + "'");
      if (entry_size > (64 << 20)) return corrupt("manifest '" + name + "' too large");
      std::string text;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) return corrupt(ArchiveError(a.get()));
        if (n == 0) break;
        text.append(buf.data(), static_cast<size_t>(n));
      }
      Result<EnvManifest> m = ParseEnvManifest(text, path + ":" + name, id);
      if (!m.ok()) {
        cleanup();
        return Status::Integrity(m.status().message());
      }
      if (manifests.count(id)) return corrupt("duplicate entry '" + name + "'");
      manifests.emplace(id, std::move(*m));
      manifest_texts.emplace(id, std::move(text));
      continue;
    }

    if (name.rfind(kBlobDir, 0) == 0) {
      std::string sha = name.substr(std::strlen(kBlobDir));
      auto it = declared_blobs.find(sha);
      if (!IsSha256Hex(sha) || it == declared_blobs.end())
        return corrupt("unexpected entry '" + name + "'");
      if (static_cast<uint64_t>(entry_size) != it->second)
        return corrupt("'" + name + "' has " + std::to_string(entry_size) + " bytes, expected " +
                       std::to_string(it->second));
      for (const auto& s : staged)
        if (s.sha == sha) return corrupt("duplicate entry '" + name + "'");
      std::string tmp = local.NewTempPath("import-" + sha.substr(0, 16));
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) {
        cleanup();
        return ErrnoStatus("creating", tmp);
      }
      staged.push_back({tmp, sha, it->second});
      Hasher h;
      uint64_t got = 0;
      Status ws;
      for (;;) {
        la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
        if (n < 0) {
          ws = Status::Integrity(path + ": corrupt bundle: '" + name + "': " + ArchiveError(a.get()));
          break;
        }
        if (n == 0) break;
        h.Update(buf.data(), static_cast<size_t>(n));
        got += static_cast<uint64_t>(n);
        size_t off = 0;
        while (off < static_cast<size_t>(n)) {
          ssize_t w = ::write(fd, buf.data() + off, static_cast<size_t>(n) - off);
          if (w < 0) {
            if (errno == EINTR) continue;
            ws = ErrnoStatus("writing", tmp);
            break;
          }
          off += static_cast<size_t>(w);
        }
        if (!ws.ok()) break;
        reporter.Advance(static_cast<uint64_t>(n));
      }
      if (ws.ok() && ::fsync(fd) != 0) ws = ErrnoStatus("syncing", tmp);
      ::close(fd);
      if (!ws.ok()) {
        cleanup();
        return ws;
      }
      std::string actual = h.HexDigest();
      if (got != it->second)
        return corrupt("'" + name + "' is truncated (" + std::to_string(got) + " of " +
                       std::to_string(it->second) + " bytes)");
      if (actual != sha)
        return corrupt("'" + name + "': sha256 mismatch: expected " + sha + ", got " + actual);
      stats.blobs++;
      stats.bytes += got;
      continue;
    }
    return corrupt("unexpected entry '" + name + "'");
  }
  reporter.EndPhase();
  if (!have_header) return corrupt("empty archive (no " + std::string(kHeaderName) + ")");

  // Completeness: the header's promises were kept, and each manifest can be satisfied.
  std::set<std::string> staged_shas;
  for (const auto& s : staged) staged_shas.insert(s.sha);
  for (const auto& [sha, size] : declared_blobs)
    if (!staged_shas.count(sha)) return corrupt("blob " + sha + " is declared but missing");
  for (const auto& id : declared_envs)
    if (!manifests.count(id)) return corrupt("manifest of " + id + " is declared but missing");
  if (manifests.size() != declared_envs.size()) return corrupt("undeclared manifests");
  for (const auto& [id, m] : manifests) {
    for (const auto& b : m.blobs)
      if (!staged_shas.count(b.sha256) && !local.HasBlob(b.sha256))
        return corrupt("environment " + id.substr(0, 12) + " needs blob " + b.sha256 +
                       ", which is neither in the bundle nor in the local store");
  }

  // Everything verified: publish blobs, then manifests.
  for (size_t i = 0; i < staged.size(); ++i) {
    bool had = local.HasBlob(staged[i].sha);
    Status s = local.AdoptVerifiedBlob(staged[i].tmp, staged[i].sha, staged[i].size);
    if (!s.ok()) {
      for (size_t j = i; j < staged.size(); ++j) ::unlink(staged[j].tmp.c_str());
      return s;
    }
    if (!had) stats.blobs_added++;
  }
  for (const auto& id : declared_envs) {
    const EnvManifest& m = manifests.at(id);
    std::vector<std::string> refs;
    for (const auto& b : m.blobs) refs.push_back(b.sha256);
    FERRY_RETURN_IF_ERROR(local.PutManifest(id, manifest_texts.at(id), refs));
    stats.env_ids.push_back(id);
  }
  return stats;
}

}  // namespace ferry::store
