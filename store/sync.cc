#include "store/sync.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "src/digest.h"

namespace ferry::store {

namespace {

Reporter& Rep(const SyncOptions& opts) { return opts.reporter ? *opts.reporter : NullReporter(); }

// Runs fn(i) for i in [0, n) on up to `parallelism` threads. Stops starting new items after the
// first failure (unless `keep_going`) and returns it (kIntegrity failures take precedence, so a
// corrupt blob is never reported as a mere network error).
Status ParallelFor(size_t n, int parallelism, const std::function<Status(size_t)>& fn,
                   bool keep_going = false) {
  if (n == 0) return Status::Ok();
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> g(mu);
        if (first.ok() || (s.code() == Code::kIntegrity && first.code() != Code::kIntegrity))
          first = s;
        if (!keep_going) failed = true;
      }
    }
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, parallelism)));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  return first;
}

bool IsAlreadyExists(const Status& s) {
  return !s.ok() && s.message().find("already exists") != std::string::npos;
}

std::string Short(const std::string& id) { return id.substr(0, 12); }

// Streams package `p` from its HTTP(S) URL into a temp file under the store, hashing on the
// way; checks size and sha256 against the lock, then publishes it. Nothing is kept on failure.
Status DownloadUrl(const LockedPackage& p, LocalStore& local, HttpClient& http, Reporter& rep) {
  const std::string tmp = local.NewTempPath("url-" + p.sha256.substr(0, 16));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::User("creating " + tmp + ": " + std::strerror(errno));
  Hasher hasher;
  uint64_t bytes = 0;
  HttpRequest req;
  req.url = p.url;
  req.sink = [&](std::string_view chunk) -> Status {
    bytes += chunk.size();
    if (bytes > p.size)
      return Status::Integrity(p.filename + ": more bytes than the lock's size " +
                               std::to_string(p.size));
    hasher.Update(chunk);
    size_t off = 0;
    while (off < chunk.size()) {
      ssize_t n = ::write(fd, chunk.data() + off, chunk.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::User("writing " + tmp + ": " + std::strerror(errno));
      }
      off += static_cast<size_t>(n);
    }
    rep.Advance(chunk.size());
    return Status::Ok();
  };
  req.on_restart = [&]() -> Status {
    bytes = 0;
    hasher = Hasher();
    if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0)
      return Status::User("truncating " + tmp + ": " + std::strerror(errno));
    return Status::Ok();
  };
  Result<HttpResponse> resp = http.Send(req);
  Status s;
  if (!resp.ok()) {
    s = resp.status().WithContext("downloading " + p.filename);
  } else if (resp->status != 200) {
    std::string what = "downloading " + p.filename + " from " + RedactUrl(p.url) + ": HTTP " +
                       std::to_string(resp->status);
    s = resp->status == 404 || resp->status == 410 ? Status::User(what + " (not found)")
                                                   : Status::Network(what);
  } else if (::fsync(fd) != 0) {
    s = Status::User("syncing " + tmp + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (s.ok()) {
    std::string actual = hasher.HexDigest();
    if (bytes != p.size) {
      s = Status::Integrity(p.filename + " from " + RedactUrl(p.url) +
                            ": size mismatch: expected " + std::to_string(p.size) + " bytes, got " +
                            std::to_string(bytes));
    } else if (actual != p.sha256) {
      s = Status::Integrity(p.filename + " from " + RedactUrl(p.url) +
                            ": sha256 mismatch: expected " + p.sha256 + ", got " + actual);
    }
  }
  if (s.ok()) s = local.AdoptVerifiedBlob(tmp, p.sha256, p.size);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace

Result<TransferStats> FetchBlobsFromUrls(const std::vector<LockedPackage>& packages,
                                         LocalStore& local, HttpClient& http,
                                         const SyncOptions& opts) {
  TransferStats stats;
  FERRY_ASSIGN_OR_RETURN(FileLock write_lock, local.LockForWrite());
  std::map<std::string, const LockedPackage*> wanted;
  for (const auto& p : packages) wanted.emplace(p.sha256, &p);
  stats.blobs_total = wanted.size();
  std::vector<const LockedPackage*> missing;
  for (const auto& [sha, p] : wanted)
    if (!local.HasBlob(sha)) missing.push_back(p);
  FERRY_RETURN_IF_ERROR(local.RecordHits(wanted.size() - missing.size(), 0));
  if (missing.empty()) return stats;

  uint64_t total_bytes = 0;
  for (const auto* p : missing) total_bytes += p->size;
  Reporter& rep = Rep(opts);
  rep.BeginPhase("downloading packages", total_bytes);

  // One task per package, in parallel: local files (file:// URLs and plain paths) are copied
  // and verified by the store; HTTP(S) bodies are streamed into a temp file, hashed on the way,
  // checked, then published. Each blob is announced (on_blob_ready) as soon as it is published.
  std::atomic<uint64_t> transferred{0}, transferred_bytes{0};
  Status first = ParallelFor(
      missing.size(), opts.parallelism,
      [&](size_t i) -> Status {
        const LockedPackage& p = *missing[i];
        std::string path;
        if (p.url.rfind("file://", 0) == 0) {
          path = p.url.substr(7);
        } else if (!p.url.empty() && p.url[0] == '/') {
          path = p.url;
        }
        if (!path.empty()) {
          FERRY_RETURN_IF_ERROR(local.AddBlobFromFile(path, p.sha256, p.size)
                                    .WithContext("fetching " + p.filename + " from " + p.url));
          rep.Advance(p.size);
        } else {
          FERRY_RETURN_IF_ERROR(DownloadUrl(p, local, http, rep));
        }
        transferred++;
        transferred_bytes += p.size;
        if (opts.on_blob_ready) opts.on_blob_ready(p.sha256);
        return Status::Ok();
      },
      /*keep_going=*/true);  // every download is tried: a corrupt file is reported as such
  rep.EndPhase();
  stats.blobs_transferred = transferred;
  stats.bytes_transferred = transferred_bytes;
  FERRY_RETURN_IF_ERROR(local.RecordHits(0, stats.blobs_transferred));
  FERRY_RETURN_IF_ERROR(first);
  return stats;
}

Result<TransferStats> Push(const std::vector<LockedEnvironment>& envs, LocalStore& local,
                           ObjectStore& remote, const SyncOptions& opts) {
  TransferStats stats;
  FERRY_ASSIGN_OR_RETURN(FileLock write_lock, local.LockForWrite());
  std::vector<EnvManifest> manifests;
  std::map<std::string, uint64_t> blobs;  // sha -> size
  std::vector<std::string> missing_local;
  for (const auto& env : envs) {
    EnvManifest m = MakeEnvManifest(env);
    std::string computed = ComputeEnvId(m.env.platform, m.env.packages);
    if (computed != m.env.env_id)
      return Status::Integrity("environment " + m.env.env_id + " does not match its packages " +
                               "(computed env-id " + computed + ")");
    for (const auto& p : m.env.packages) {
      if (!local.HasBlob(p.sha256)) missing_local.push_back(p.filename + " (" + p.sha256 + ")");
    }
    for (const auto& b : m.blobs) blobs[b.sha256] = b.size;
    manifests.push_back(std::move(m));
  }
  if (!missing_local.empty()) {
    std::string list;
    for (size_t i = 0; i < missing_local.size() && i < 10; ++i) list += "\n  " + missing_local[i];
    if (missing_local.size() > 10)
      list += "\n  ... and " + std::to_string(missing_local.size() - 10) + " more";
    return Status::User("cannot push: package files missing from the local store:" + list);
  }
  stats.blobs_total = blobs.size();

  // 1. Blobs: one listing, then parallel uploads of the missing ones.
  FERRY_ASSIGN_OR_RETURN(std::vector<ObjectInfo> listing, remote.List(kBlobPrefix));
  std::map<std::string, uint64_t> present;
  for (const auto& o : listing) present[o.key] = o.size;
  std::vector<std::pair<std::string, uint64_t>> to_upload;
  uint64_t upload_bytes = 0;
  for (const auto& [sha, size] : blobs) {
    auto it = present.find(BlobKey(sha));
    if (it != present.end() && it->second == size) continue;
    to_upload.emplace_back(sha, size);
    upload_bytes += size;
  }
  Reporter& rep = Rep(opts);
  rep.BeginPhase("uploading blobs", upload_bytes);
  std::atomic<uint64_t> uploaded{0}, uploaded_bytes{0};
  Status s = ParallelFor(to_upload.size(), opts.parallelism, [&](size_t i) -> Status {
    const auto& [sha, size] = to_upload[i];
    std::string path = local.BlobPath(sha);
    // Never upload bytes we have not just checked: the name must be the content's digest.
    FERRY_ASSIGN_OR_RETURN(std::string actual, Sha256File(path));
    struct stat st;
    if (actual != sha || ::stat(path.c_str(), &st) != 0 ||
        static_cast<uint64_t>(st.st_size) != size)
      return Status::Integrity("local store blob " + path + " is corrupt (sha256 " + actual +
                               "); run 'ferry cache verify --repair' and fetch it again");
    PutOptions po;
    po.sha256 = sha;
    FERRY_RETURN_IF_ERROR(
        remote.PutFile(BlobKey(sha), path, po).WithContext("uploading " + BlobKey(sha)));
    uploaded++;
    uploaded_bytes += size;
    rep.Advance(size);
    return Status::Ok();
  });
  rep.EndPhase();
  stats.blobs_transferred = uploaded;
  stats.bytes_transferred = uploaded_bytes;
  FERRY_RETURN_IF_ERROR(s);

  // 2. Manifests (after every blob they reference), 3. req-id pointers (after the manifest).
  for (const auto& m : manifests) {
    std::string text = SerializeEnvManifest(m);
    std::string key = ManifestKey(m.env.env_id);
    PutOptions po;
    po.if_none_match = true;
    po.sha256 = Sha256Hex(text);
    Status put = remote.Put(key, text, po);
    if (IsAlreadyExists(put)) {
      // Immutable and already there: keep it if valid, repair it if corrupt.
      FERRY_ASSIGN_OR_RETURN(std::optional<std::string> existing, remote.Get(key));
      if (!existing || !ParseEnvManifest(*existing, key, m.env.env_id).ok()) {
        PutOptions over;
        over.sha256 = po.sha256;
        FERRY_RETURN_IF_ERROR(remote.Put(key, text, over).WithContext("uploading " + key));
        stats.manifests_written++;
      }
    } else {
      FERRY_RETURN_IF_ERROR(put.WithContext("uploading " + key));
      stats.manifests_written++;
    }
    std::vector<std::string> refs;
    for (const auto& b : m.blobs) refs.push_back(b.sha256);
    FERRY_RETURN_IF_ERROR(local.PutManifest(m.env.env_id, text, refs));
    if (!m.env.req_id.empty() && !m.env.platform.empty()) {
      std::string rkey = ReqKey(m.env.platform, m.env.req_id);
      FERRY_RETURN_IF_ERROR(remote.Put(rkey, SerializeReqPointer(m.env.env_id), PutOptions{})
                                .WithContext("uploading " + rkey));
    }
  }
  return stats;
}

Result<EnvManifest> Pull(const std::string& env_id, LocalStore& local, ObjectStore* remote,
                         const SyncOptions& opts, TransferStats* stats_out) {
  if (!IsSha256Hex(env_id)) return Status::User("invalid env-id '" + env_id + "'");
  TransferStats stats;
  FERRY_ASSIGN_OR_RETURN(FileLock write_lock, local.LockForWrite());
  FERRY_ASSIGN_OR_RETURN(FileLock env_lock, local.LockEnv(env_id));

  // Manifest: a valid local copy, else the remote one.
  std::optional<EnvManifest> manifest;
  std::string manifest_text;
  bool manifest_is_local = false;
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> local_text, local.GetManifest(env_id));
  if (local_text) {
    Result<EnvManifest> m = ParseEnvManifest(*local_text, local.root() + "/manifests", env_id);
    if (m.ok()) {
      manifest = std::move(*m);
      manifest_text = *local_text;
      manifest_is_local = true;
    }
  }
  if (!manifest) {
    if (!remote)
      return Status::User("environment " + Short(env_id) +
                          " is not in the local store and no remote store is configured "
                          "(set FERRY_STORE)");
    std::string key = ManifestKey(env_id);
    FERRY_ASSIGN_OR_RETURN(std::optional<std::string> text, remote->Get(key));
    if (!text)
      return Status::User("environment " + Short(env_id) + " not found in " + remote->Describe() +
                          " (no " + key + ")");
    FERRY_ASSIGN_OR_RETURN(EnvManifest m,
                           ParseEnvManifest(*text, remote->Describe() + "/" + key, env_id));
    manifest = std::move(m);
    manifest_text = std::move(*text);
  }

  if (opts.on_manifest) opts.on_manifest(*manifest);
  std::vector<BlobRef> missing;
  for (const auto& b : manifest->blobs)
    if (!local.HasBlob(b.sha256)) missing.push_back(b);
  stats.blobs_total = manifest->blobs.size();
  if (!missing.empty() && !remote) {
    return Status::User("environment " + Short(env_id) + " needs " +
                        std::to_string(missing.size()) +
                        " package files that are not in the local store and no remote store is "
                        "configured (set FERRY_STORE)");
  }

  // Download in parallel into temp files, each re-hashed. With on_blob_ready (pipelining), each
  // blob is published as soon as its own bytes are verified, so the caller can extract it while
  // the other downloads continue; without it, blobs are published only when all arrived intact.
  const bool publish_each = static_cast<bool>(opts.on_blob_ready);
  uint64_t total = 0;
  for (const auto& b : missing) total += b.size;
  Reporter& rep = Rep(opts);
  rep.BeginPhase("downloading blobs", total);
  std::vector<std::string> tmps(missing.size());  // verified, not yet published
  std::atomic<uint64_t> published{0};
  Status s = ParallelFor(missing.size(), opts.parallelism, [&](size_t i) -> Status {
    const BlobRef& b = missing[i];
    std::string key = BlobKey(b.sha256);
    std::string tmp = local.NewTempPath("pull-" + b.sha256.substr(0, 16));
    Status d = remote->Download(key, tmp, b.sha256)
                   .WithContext("downloading " + remote->Describe() + "/" + key);
    struct stat st;
    if (d.ok() && (::stat(tmp.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != b.size))
      d = Status::Integrity(remote->Describe() + "/" + key + ": size mismatch: expected " +
                            std::to_string(b.size) + " bytes");
    if (d.ok() && publish_each) d = local.AdoptVerifiedBlob(tmp, b.sha256, b.size);
    if (!d.ok()) {
      ::unlink(tmp.c_str());
      return d;
    }
    rep.Advance(b.size);
    if (publish_each) {
      published++;
      opts.on_blob_ready(b.sha256);
    } else {
      tmps[i] = std::move(tmp);
    }
    return Status::Ok();
  });
  rep.EndPhase();
  if (!s.ok()) {
    for (const auto& t : tmps)
      if (!t.empty()) ::unlink(t.c_str());
    if (published > 0) (void)local.RecordHits(0, published);
    return s;
  }
  for (size_t i = 0; i < missing.size(); ++i) {
    if (tmps[i].empty()) continue;
    Status a = local.AdoptVerifiedBlob(tmps[i], missing[i].sha256, missing[i].size);
    if (!a.ok()) {
      for (size_t j = i; j < missing.size(); ++j)
        if (!tmps[j].empty()) ::unlink(tmps[j].c_str());
      return a;
    }
  }
  for (const auto& b : missing) stats.bytes_transferred += b.size;
  stats.blobs_transferred = missing.size();
  std::vector<std::string> refs;
  for (const auto& b : manifest->blobs) refs.push_back(b.sha256);
  if (!manifest_is_local || !missing.empty())
    FERRY_RETURN_IF_ERROR(local.PutManifest(env_id, manifest_text, refs));
  FERRY_RETURN_IF_ERROR(local.RecordUse(refs, env_id));
  FERRY_RETURN_IF_ERROR(local.RecordHits(stats.blobs_total - missing.size(), missing.size()));
  if (stats_out) *stats_out = stats;
  return std::move(*manifest);
}

Status Alias(const std::string& env_id, const EnvName& name, ObjectStore& remote) {
  if (!IsSha256Hex(env_id)) return Status::User("invalid env-id '" + env_id + "'");
  FERRY_ASSIGN_OR_RETURN(std::optional<uint64_t> manifest, remote.Head(ManifestKey(env_id)));
  if (!manifest)
    return Status::User("environment " + Short(env_id) + " is not in " + remote.Describe() +
                        "; push it first (ferry push)");
  std::string key = NameKey(name);
  std::string body = SerializeNamePointer({env_id, UtcNowIso8601()});
  PutOptions po;
  po.sha256 = Sha256Hex(body);
  if (name.IsMutable()) return remote.Put(key, body, po).WithContext("publishing " + key);
  po.if_none_match = true;
  Status put = remote.Put(key, body, po);
  if (put.ok()) return put;
  if (!IsAlreadyExists(put)) return put.WithContext("publishing " + key);
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> existing, remote.Get(key));
  if (!existing) return put.WithContext("publishing " + key);
  FERRY_ASSIGN_OR_RETURN(NamePointer p, ParseNamePointer(*existing, remote.Describe() + "/" + key));
  if (p.env_id == env_id) return Status::Ok();
  return Status::User("tag is immutable: " + name.ToString() + " already points to " +
                      Short(p.env_id) + " (only latest, candidate and stable can move)");
}

Result<std::string> ResolveEnvRef(const std::string& ref_in, LocalStore* local,
                                  ObjectStore* remote) {
  FERRY_ASSIGN_OR_RETURN(std::string ref, SubstituteVarsFromEnv(ref_in));
  if (IsSha256Hex(ref)) return ref;
  bool hex = ref.size() >= 8 && ref.size() < 64 && std::all_of(ref.begin(), ref.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
             });
  if (hex) {
    std::set<std::string> found;
    if (local) {
      FERRY_ASSIGN_OR_RETURN(auto ids, local->ListManifests());
      for (const auto& id : ids)
        if (id.rfind(ref, 0) == 0) found.insert(id);
    }
    if (found.empty() && remote) {
      FERRY_ASSIGN_OR_RETURN(auto objs, remote->List(std::string(kManifestPrefix) + ref));
      for (const auto& o : objs) {
        std::string name = o.key.substr(std::string(kManifestPrefix).size());
        if (name.size() == 69 && name.compare(64, 5, ".json") == 0 &&
            IsSha256Hex(name.substr(0, 64)))
          found.insert(name.substr(0, 64));
      }
    }
    if (found.size() == 1) return *found.begin();
    if (found.size() > 1) {
      std::string list;
      for (const auto& id : found) list += "\n  " + id;
      return Status::User("environment prefix '" + ref + "' is ambiguous; candidates:" + list);
    }
  }
  Result<EnvName> name = ParseEnvName(ref);
  if (!name.ok()) {
    if (hex) return Status::User("no environment matches '" + ref + "'");
    return Status::User("'" + ref +
                        "' is not an env-id, a unique env-id prefix (8+ hex) or a NAME[:TAG]: " +
                        name.status().message());
  }
  if (!remote)
    return Status::Usage("resolving the name '" + name->ToString() +
                         "' needs a remote store: set FERRY_STORE");
  std::string key = NameKey(*name);
  FERRY_ASSIGN_OR_RETURN(std::optional<std::string> text, remote->Get(key));
  if (!text) {
    if (hex) return Status::User("no environment matches '" + ref + "'");
    return Status::User("name " + name->ToString() + " not found in " + remote->Describe());
  }
  FERRY_ASSIGN_OR_RETURN(NamePointer p, ParseNamePointer(*text, remote->Describe() + "/" + key));
  return p.env_id;
}

}  // namespace ferry::store
