#include "store/local/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <random>
#include <vector>

#include "src/digest.h"
#include "src/fs.h"
#include "store/materialize/extract.h"

namespace ferry::store {

namespace {

constexpr char kCompleteMarker[] = ".ferry-complete";

Status ErrnoStatus(const std::string& what, const std::string& path) {
  return Status::User(what + " " + path + ": " + std::strerror(errno));
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::User("creating directory " + path + ": " + ec.message());
  return Status::Ok();
}

void FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

bool FileExists(const std::string& path, uint64_t* size = nullptr) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return true;
}

std::vector<std::string> ListNames(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t TreeBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2) && !it->is_symlink(ec2)) total += it->file_size(ec2);
  }
  return total;
}

// Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir.
Status WriteAtomic(const std::string& path, std::string_view data) {
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("creating", tmp);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus("writing", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = ErrnoStatus("syncing", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = ErrnoStatus("renaming into", path);
    ::unlink(tmp.c_str());
    return s;
  }
  FsyncDir(DirName(path));
  return Status::Ok();
}

// Copies src to dst (created exclusively), hashing on the way; fsyncs dst.
Status CopyAndHash(const std::string& src, const std::string& dst, std::string* sha256,
                   uint64_t* size) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoStatus("reading", src);
  int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    Status s = ErrnoStatus("creating", dst);
    ::close(in);
    return s;
  }
  Hasher h;
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  Status st;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = ErrnoStatus("reading", src);
      break;
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
    size_t off = 0;
    while (off < static_cast<size_t>(n)) {
      ssize_t w = ::write(out, buf.data() + off, static_cast<size_t>(n) - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        st = ErrnoStatus("writing", dst);
        break;
      }
      off += static_cast<size_t>(w);
    }
    if (!st.ok()) break;
  }
  if (st.ok() && ::fsync(out) != 0) st = ErrnoStatus("syncing", dst);
  ::close(in);
  ::close(out);
  if (!st.ok()) {
    ::unlink(dst.c_str());
    return st;
  }
  *sha256 = h.HexDigest();
  *size = total;
  return Status::Ok();
}

// One prepared statement (the one RAII wrapper for sqlite3_stmt*).
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Status::User(std::string("local store index: ") + sqlite3_errmsg(db_));
  }
  Stmt& Bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  // SQLITE_ROW -> true, SQLITE_DONE -> false, error -> *err.
  bool Step(Status* err) {
    if (rc_ != SQLITE_OK) {
      *err = status();
      return false;
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE)
      *err = Status::User(std::string("local store index: ") + sqlite3_errmsg(db_));
    return false;
  }
  Status Run() {
    Status err;
    while (Step(&err)) {
    }
    return err;
  }
  std::string Text(int col) {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Schema migrations: kMigrations[i] upgrades user_version i to i+1. Append only.
const char* const kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE blobs(sha256 TEXT PRIMARY KEY NOT NULL, size INTEGER NOT NULL,"
    "  added_at INTEGER NOT NULL, last_used INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE packages(sha256 TEXT PRIMARY KEY NOT NULL, bytes INTEGER NOT NULL,"
    "  extracted_at INTEGER NOT NULL, last_used INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE envs(env_id TEXT PRIMARY KEY NOT NULL, added_at INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL, materialized_at INTEGER) WITHOUT ROWID;"
    "CREATE TABLE env_blobs(env_id TEXT NOT NULL, sha256 TEXT NOT NULL,"
    "  PRIMARY KEY(env_id, sha256)) WITHOUT ROWID;"
    "CREATE INDEX env_blobs_by_blob ON env_blobs(sha256);"
    "CREATE TABLE counters(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kLocalStoreSchemaVersion);

// The owner token of a temp name "<hint>.<token>.<n>" ("" if it has no such shape).
std::string TempOwnerToken(const std::string& name) {
  size_t last = name.rfind('.');
  if (last == std::string::npos || last == 0) return "";
  size_t prev = name.rfind('.', last - 1);
  if (prev == std::string::npos) return "";
  std::string token = name.substr(prev + 1, last - prev - 1);
  bool ok = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
  });
  return ok ? token : "";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// FileLock

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}
FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

static Result<std::optional<FileLock>> AcquireImpl(const std::string& path, int op,
                                                   FileLock (*make)(int)) {
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoStatus("opening lock file", path);
    int rc;
    do {
      rc = ::flock(fd, op);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int e = errno;
      ::close(fd);
      if (e == EWOULDBLOCK) return std::optional<FileLock>();
      errno = e;
      return ErrnoStatus("locking", path);
    }
    // The lock file may have been unlinked (by prune) between open and flock: then the lock we
    // hold is on a dead inode. Retry on the current file.
    struct stat a, b;
    if (::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      return std::optional<FileLock>(make(fd));
    }
    ::close(fd);
  }
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(auto lock, AcquireImpl(path, LOCK_EX, [](int fd) { return FileLock(fd); }));
  return std::move(*lock);
}

Result<std::optional<FileLock>> FileLock::TryAcquire(const std::string& path) {
  return AcquireImpl(path, LOCK_EX | LOCK_NB, [](int fd) { return FileLock(fd); });
}

Result<FileLock> FileLock::AcquireShared(const std::string& path) {
  FERRY_ASSIGN_OR_RETURN(auto lock, AcquireImpl(path, LOCK_SH, [](int fd) { return FileLock(fd); }));
  return std::move(*lock);
}

// ---------------------------------------------------------------------------------------------
// LocalStore

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root) {
  if (root.empty()) return Status::Usage("the local store path (FERRY_HOME) is empty");
  std::unique_ptr<LocalStore> store(new LocalStore(root));
  FERRY_RETURN_IF_ERROR(store->Init().WithContext("opening local store " + root));
  return store;
}

LocalStore::~LocalStore() {
  if (db_) sqlite3_close_v2(db_);
}

Status LocalStore::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
      return Status::Integrity("index " + JoinPath(root_, "index.sqlite") + ": " + msg);
    return Status::User("index " + JoinPath(root_, "index.sqlite") + ": " + msg);
  }
  return Status::Ok();
}

Status LocalStore::Init() {
  for (const char* sub : {"blobs/sha256", "pkgs", "envs", "manifests", "locks", "tmp"})
    FERRY_RETURN_IF_ERROR(MakeDirs(JoinPath(root_, sub)));
  std::string db_path = JoinPath(root_, "index.sqlite");
  int rc = sqlite3_open_v2(db_path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    return Status::User("opening index " + db_path + ": " +
                        (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(db_, 60000);
  FERRY_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL;"));
  FERRY_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL;"));
  FERRY_RETURN_IF_ERROR(Migrate());

  // Owner token: names this instance's temp files; its lock is held until destruction.
  {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    owner_token_ = std::to_string(::getpid()) + "-" + buf;
    FERRY_ASSIGN_OR_RETURN(owner_lock_,
                           FileLock::Acquire(root_ + "/locks/owner-" + owner_token_ + ".lock"));
  }

  // Drop rows whose files vanished (e.g. removed by hand, or a crash before the file was synced).
  std::vector<std::string> gone;
  {
    Stmt q(db_, "SELECT sha256, size FROM blobs");
    Status err;
    while (q.Step(&err)) {
      std::string sha = q.Text(0);
      uint64_t size = 0;
      if (!IsSha256Hex(sha) || !FileExists(BlobPath(sha), &size) ||
          size != static_cast<uint64_t>(q.Int(1)))
        gone.push_back(sha);
    }
    FERRY_RETURN_IF_ERROR(err);
  }
  for (const auto& sha : gone) FERRY_RETURN_IF_ERROR(DeleteBlobRow(sha));
  std::vector<std::string> pkgs_gone;
  {
    Stmt q(db_, "SELECT sha256 FROM packages");
    Status err;
    while (q.Step(&err)) {
      std::string sha = q.Text(0);
      if (!IsSha256Hex(sha) || !IsPackageExtracted(sha)) pkgs_gone.push_back(sha);
    }
    FERRY_RETURN_IF_ERROR(err);
  }
  for (const auto& sha : pkgs_gone) {
    Stmt d(db_, "DELETE FROM packages WHERE sha256 = ?");
    FERRY_RETURN_IF_ERROR(d.Bind(1, sha).Run());
  }
  CleanStaleTemps();
  return Status::Ok();
}

Status LocalStore::Migrate() {
  FERRY_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE;"));
  int version = 0;
  {
    Stmt q(db_, "PRAGMA user_version");
    Status err;
    if (q.Step(&err)) version = static_cast<int>(q.Int(0));
    if (!err.ok()) {
      (void)Exec("ROLLBACK;");
      return err;
    }
  }
  if (version > kLocalStoreSchemaVersion) {
    (void)Exec("ROLLBACK;");
    return Status::User("index schema version " + std::to_string(version) +
                        " is newer than this ferry supports (" +
                        std::to_string(kLocalStoreSchemaVersion) + "); upgrade ferry");
  }
  for (int v = version; v < kLocalStoreSchemaVersion; ++v) {
    Status s = Exec(kMigrations[v]);
    if (!s.ok()) {
      (void)Exec("ROLLBACK;");
      return s.WithContext("migrating index schema " + std::to_string(v) + " -> " +
                           std::to_string(v + 1));
    }
  }
  if (version != kLocalStoreSchemaVersion) {
    Status s = Exec("PRAGMA user_version = " + std::to_string(kLocalStoreSchemaVersion) + ";");
    if (!s.ok()) {
      (void)Exec("ROLLBACK;");
      return s;
    }
  }
  return Exec("COMMIT;");
}

void LocalStore::CleanStaleTemps() {
  // A temp path belongs to the LocalStore instance whose owner lock (locks/owner-<token>.lock)
  // is held for its whole life. If that lock can be taken, the owner is gone (even if it lived in
  // another PID namespace sharing this FERRY_HOME), and its temp files are garbage.
  std::string tmp = JoinPath(root_, "tmp");
  std::map<std::string, bool> dead;  // token -> owner gone
  for (const auto& name : ListNames(tmp)) {
    std::string token = TempOwnerToken(name);
    if (token.empty() || token == owner_token_) continue;
    auto it = dead.find(token);
    if (it == dead.end()) {
      std::string lock_path = root_ + "/locks/owner-" + token + ".lock";
      bool gone = false;
      struct stat st;
      if (::stat(lock_path.c_str(), &st) != 0) {
        gone = true;  // the owner never existed or was already cleaned up
      } else {
        Result<std::optional<FileLock>> l = FileLock::TryAcquire(lock_path);
        if (l.ok() && l->has_value()) {
          gone = true;
          ::unlink(lock_path.c_str());  // we hold it: nobody else can be using it
        }
      }
      it = dead.emplace(token, gone).first;
    }
    if (it->second) RemoveTree(JoinPath(tmp, name));
  }
  // Owner lock files of dead instances that left no temp files.
  for (const auto& name : ListNames(root_ + "/locks")) {
    if (name.rfind("owner-", 0) != 0 || name == "owner-" + owner_token_ + ".lock") continue;
    std::string lock_path = root_ + "/locks/" + name;
    Result<std::optional<FileLock>> l = FileLock::TryAcquire(lock_path);
    if (l.ok() && l->has_value()) ::unlink(lock_path.c_str());
  }
}

std::string LocalStore::BlobPath(const std::string& sha256) const {
  return root_ + "/blobs/sha256/" + sha256.substr(0, 2) + "/" + sha256;
}

std::string LocalStore::PackageDir(const std::string& sha256) const {
  return root_ + "/pkgs/" + sha256;
}

std::string LocalStore::EnvDir(const std::string& env_id) const { return root_ + "/envs/" + env_id; }

std::string LocalStore::NewTempPath(const std::string& hint) {
  static std::atomic<uint64_t> counter{0};
  std::string clean = hint.empty() ? std::string("tmp") : hint;
  for (char& c : clean)
    if (c == '/') c = '_';
  return root_ + "/tmp/" + clean + "." + owner_token_ + "." + std::to_string(counter++);
}

std::optional<uint64_t> LocalStore::BlobRowSize(const std::string& sha256) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt q(db_, "SELECT size FROM blobs WHERE sha256 = ?");
  q.Bind(1, sha256);
  Status err;
  if (q.Step(&err)) return static_cast<uint64_t>(q.Int(0));
  return std::nullopt;
}

Status LocalStore::InsertBlobRow(const std::string& sha256, uint64_t size) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt q(db_,
         "INSERT INTO blobs(sha256, size, added_at, last_used) VALUES(?, ?, ?, ?) "
         "ON CONFLICT(sha256) DO UPDATE SET size = excluded.size, last_used = excluded.last_used");
  int64_t now = Now();
  q.Bind(1, sha256).Bind(2, static_cast<int64_t>(size)).Bind(3, now).Bind(4, now);
  return q.Run();
}

Status LocalStore::DeleteBlobRow(const std::string& sha256) {
  std::lock_guard<std::mutex> g(mu_);
  Stmt q(db_, "DELETE FROM blobs WHERE sha256 = ?");
  return q.Bind(1, sha256).Run();
}

bool LocalStore::HasBlob(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) return false;
  std::string path = BlobPath(sha256);
  std::optional<uint64_t> row = BlobRowSize(sha256);
  uint64_t size = 0;
  bool exists = FileExists(path, &size);
  if (row && exists && *row == size) return true;
  if (row) {
    // Row without a matching file: the file vanished or was truncated; stop trusting it.
    (void)DeleteBlobRow(sha256);
    if (exists) ::unlink(path.c_str());
    return false;
  }
  if (!exists) return false;
  // File without a row (crash between rename and insert, or an index that was reset):
  // trust it only after re-hashing.
  Result<std::string> actual = Sha256File(path);
  if (!actual.ok() || *actual != sha256) {
    ::unlink(path.c_str());
    return false;
  }
  return InsertBlobRow(sha256, size).ok();
}

Status LocalStore::Publish(const std::string& tmp_path, const std::string& sha256, uint64_t size) {
  std::string final_path = BlobPath(sha256);
  std::string dir = DirName(final_path);
  Status s = MakeDirs(dir);
  if (!s.ok()) {
    ::unlink(tmp_path.c_str());
    return s;
  }
  ::chmod(tmp_path.c_str(), 0444);
  if (::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    Status e = ErrnoStatus("publishing blob", final_path);
    ::unlink(tmp_path.c_str());
    return e;
  }
  FsyncDir(dir);
  return InsertBlobRow(sha256, size);
}

Status LocalStore::AddBlobFromFile(const std::string& src_path, const std::string& sha256,
                                   uint64_t size) {
  if (!IsSha256Hex(sha256)) return Status::User("invalid sha256 '" + sha256 + "'");
  std::string tmp_prefix = root_ + "/tmp/";
  bool consume = src_path.rfind(tmp_prefix, 0) == 0;
  if (HasBlob(sha256)) {
    if (consume) ::unlink(src_path.c_str());
    return Status::Ok();
  }
  std::string tmp = src_path;
  std::string actual;
  uint64_t actual_size = 0;
  if (consume) {
    if (!FileExists(src_path, &actual_size)) return ErrnoStatus("reading", src_path);
    if (actual_size == size) {
      Result<std::string> h = Sha256File(src_path);
      if (!h.ok()) {
        ::unlink(src_path.c_str());
        return h.status();
      }
      actual = *h;
    }
  } else {
    tmp = NewTempPath(sha256.substr(0, 16));
    FERRY_RETURN_IF_ERROR(CopyAndHash(src_path, tmp, &actual, &actual_size));
  }
  if (actual_size != size) {
    ::unlink(tmp.c_str());
    return Status::Integrity(src_path + ": size mismatch: expected " + std::to_string(size) +
                             " bytes, got " + std::to_string(actual_size));
  }
  if (actual != sha256) {
    ::unlink(tmp.c_str());
    return Status::Integrity(src_path + ": sha256 mismatch: expected " + sha256 + ", got " +
                             actual);
  }
  if (consume) {
    int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  return Publish(tmp, sha256, size);
}

Status LocalStore::AdoptVerifiedBlob(const std::string& tmp_path, const std::string& sha256,
                                     uint64_t size) {
  if (!IsSha256Hex(sha256)) return Status::User("invalid sha256 '" + sha256 + "'");
  if (tmp_path.rfind(root_ + "/tmp/", 0) != 0)
    return Status::User("AdoptVerifiedBlob: " + tmp_path + " is not under " + root_ + "/tmp");
  uint64_t actual_size = 0;
  if (!FileExists(tmp_path, &actual_size)) return ErrnoStatus("reading", tmp_path);
  if (actual_size != size) {
    ::unlink(tmp_path.c_str());
    return Status::Integrity(tmp_path + ": size mismatch: expected " + std::to_string(size) +
                             " bytes, got " + std::to_string(actual_size));
  }
  if (HasBlob(sha256)) {
    ::unlink(tmp_path.c_str());
    return Status::Ok();
  }
  int fd = ::open(tmp_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return Publish(tmp_path, sha256, size);
}

// ---- manifests ----

Status LocalStore::PutManifest(const std::string& env_id, const std::string& json,
                               const std::vector<std::string>& blob_sha256s) {
  if (!IsSha256Hex(env_id)) return Status::User("invalid env-id '" + env_id + "'");
  FERRY_RETURN_IF_ERROR(WriteAtomic(root_ + "/manifests/" + env_id + ".json", json));
  std::lock_guard<std::mutex> g(mu_);
  FERRY_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE;"));
  auto body = [&]() -> Status {
    int64_t now = Now();
    Stmt ins(db_,
             "INSERT INTO envs(env_id, added_at, last_used) VALUES(?, ?, ?) "
             "ON CONFLICT(env_id) DO UPDATE SET last_used = excluded.last_used");
    FERRY_RETURN_IF_ERROR(ins.Bind(1, env_id).Bind(2, now).Bind(3, now).Run());
    Stmt del(db_, "DELETE FROM env_blobs WHERE env_id = ?");
    FERRY_RETURN_IF_ERROR(del.Bind(1, env_id).Run());
    for (const auto& sha : blob_sha256s) {
      Stmt ref(db_, "INSERT OR IGNORE INTO env_blobs(env_id, sha256) VALUES(?, ?)");
      FERRY_RETURN_IF_ERROR(ref.Bind(1, env_id).Bind(2, sha).Run());
    }
    return Status::Ok();
  };
  Status s = body();
  if (!s.ok()) {
    (void)Exec("ROLLBACK;");
    return s;
  }
  return Exec("COMMIT;");
}

Result<std::optional<std::string>> LocalStore::GetManifest(const std::string& env_id) {
  if (!IsSha256Hex(env_id)) return std::optional<std::string>();
  std::string path = root_ + "/manifests/" + env_id + ".json";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return ErrnoStatus("reading", path);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus("reading", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

Result<std::vector<std::string>> LocalStore::ListManifests() {
  std::vector<std::string> ids;
  for (const auto& name : ListNames(root_ + "/manifests")) {
    if (name.size() == 64 + 5 && name.compare(64, 5, ".json") == 0 &&
        IsSha256Hex(name.substr(0, 64)))
      ids.push_back(name.substr(0, 64));
  }
  return ids;
}

// ---- packages / envs ----

bool LocalStore::IsPackageExtracted(const std::string& sha256) const {
  return IsSha256Hex(sha256) && FileExists(PackageDir(sha256) + "/" + kCompleteMarker);
}

Status LocalStore::MarkPackageExtracted(const std::string& sha256, uint64_t bytes) {
  if (!IsSha256Hex(sha256)) return Status::User("invalid sha256 '" + sha256 + "'");
  FERRY_RETURN_IF_ERROR(WriteAtomic(PackageDir(sha256) + "/" + kCompleteMarker, sha256 + "\n"));
  std::lock_guard<std::mutex> g(mu_);
  Stmt q(db_,
         "INSERT INTO packages(sha256, bytes, extracted_at, last_used) VALUES(?, ?, ?, ?) "
         "ON CONFLICT(sha256) DO UPDATE SET bytes = excluded.bytes, last_used = excluded.last_used");
  int64_t now = Now();
  return q.Bind(1, sha256).Bind(2, static_cast<int64_t>(bytes)).Bind(3, now).Bind(4, now).Run();
}

Result<std::string> LocalStore::EnsurePackageExtracted(const std::string& sha256,
                                                       const std::string& filename) {
  if (!IsSha256Hex(sha256)) return Status::User("invalid sha256 '" + sha256 + "'");
  std::string dir = PackageDir(sha256);
  if (IsPackageExtracted(sha256)) return dir;
  FERRY_ASSIGN_OR_RETURN(FileLock lock, LockBlob(sha256));
  if (IsPackageExtracted(sha256)) return dir;  // another process finished it meanwhile
  if (!HasBlob(sha256))
    return Status::User("extracting " + filename + ": package file " + sha256 +
                        " is not in the local store");
  RemoveTree(dir);  // an incomplete extraction (no marker) from a crashed process
  std::string staging = NewStagingDir("pkg-" + sha256.substr(0, 16));
  Status s = ExtractPackage(BlobPath(sha256), filename, staging);
  if (!s.ok()) {
    RemoveTree(staging);
    return s;
  }
  uint64_t bytes = TreeBytes(staging);
  if (::rename(staging.c_str(), dir.c_str()) != 0) {
    Status e = ErrnoStatus("renaming " + staging + " to", dir);
    RemoveTree(staging);
    return e;
  }
  FsyncDir(root_ + "/pkgs");
  FERRY_RETURN_IF_ERROR(MarkPackageExtracted(sha256, bytes));
  return dir;
}

Status LocalStore::MarkEnvMaterialized(const std::string& env_id) {
  if (!IsSha256Hex(env_id)) return Status::User("invalid env-id '" + env_id + "'");
  std::lock_guard<std::mutex> g(mu_);
  Stmt q(db_,
         "INSERT INTO envs(env_id, added_at, last_used, materialized_at) VALUES(?, ?, ?, ?) "
         "ON CONFLICT(env_id) DO UPDATE SET last_used = excluded.last_used, "
         "materialized_at = excluded.materialized_at");
  int64_t now = Now();
  return q.Bind(1, env_id).Bind(2, now).Bind(3, now).Bind(4, now).Run();
}

// ---- locks ----

Result<FileLock> LocalStore::LockBlob(const std::string& sha256) {
  if (!IsSha256Hex(sha256)) return Status::User("invalid sha256 '" + sha256 + "'");
  return FileLock::Acquire(root_ + "/locks/blob-" + sha256 + ".lock");
}

Result<FileLock> LocalStore::LockEnv(const std::string& env_id) {
  if (!IsSha256Hex(env_id)) return Status::User("invalid env-id '" + env_id + "'");
  return FileLock::Acquire(root_ + "/locks/env-" + env_id + ".lock");
}

Result<FileLock> LocalStore::LockForWrite() {
  return FileLock::AcquireShared(root_ + "/locks/gc.lock");
}

// ---- bookkeeping ----

Status LocalStore::RecordUse(const std::vector<std::string>& blob_sha256s,
                             const std::string& env_id) {
  std::lock_guard<std::mutex> g(mu_);
  FERRY_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE;"));
  int64_t now = Now();
  auto body = [&]() -> Status {
    for (const auto& sha : blob_sha256s) {
      Stmt b(db_, "UPDATE blobs SET last_used = ? WHERE sha256 = ?");
      FERRY_RETURN_IF_ERROR(b.Bind(1, now).Bind(2, sha).Run());
      Stmt p(db_, "UPDATE packages SET last_used = ? WHERE sha256 = ?");
      FERRY_RETURN_IF_ERROR(p.Bind(1, now).Bind(2, sha).Run());
    }
    if (!env_id.empty()) {
      Stmt e(db_, "UPDATE envs SET last_used = ? WHERE env_id = ?");
      FERRY_RETURN_IF_ERROR(e.Bind(1, now).Bind(2, env_id).Run());
    }
    return Status::Ok();
  };
  Status s = body();
  if (!s.ok()) {
    (void)Exec("ROLLBACK;");
    return s;
  }
  return Exec("COMMIT;");
}

Status LocalStore::RecordHits(uint64_t hits, uint64_t misses) {
  std::lock_guard<std::mutex> g(mu_);
  for (auto [name, v] : {std::pair<const char*, uint64_t>{"blob_hits", hits}, {"blob_misses", misses}}) {
    if (v == 0) continue;
    Stmt q(db_,
           "INSERT INTO counters(name, value) VALUES(?, ?) "
           "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value");
    FERRY_RETURN_IF_ERROR(q.Bind(1, std::string(name)).Bind(2, static_cast<int64_t>(v)).Run());
  }
  return Status::Ok();
}

Result<StoreStats> LocalStore::Stats() {
  StoreStats st;
  {
    std::lock_guard<std::mutex> g(mu_);
    Status err;
    {
      Stmt q(db_, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM blobs");
      if (q.Step(&err)) {
        st.blob_count = static_cast<uint64_t>(q.Int(0));
        st.blob_bytes = static_cast<uint64_t>(q.Int(1));
      }
      FERRY_RETURN_IF_ERROR(err);
    }
    {
      Stmt q(db_, "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM packages");
      if (q.Step(&err)) {
        st.package_count = static_cast<uint64_t>(q.Int(0));
        st.package_bytes = static_cast<uint64_t>(q.Int(1));
      }
      FERRY_RETURN_IF_ERROR(err);
    }
    {
      Stmt q(db_, "SELECT COUNT(*) FROM envs WHERE materialized_at IS NOT NULL");
      if (q.Step(&err)) st.env_count = static_cast<uint64_t>(q.Int(0));
      FERRY_RETURN_IF_ERROR(err);
    }
    {
      Stmt q(db_, "SELECT name, value FROM counters");
      while (q.Step(&err)) {
        if (q.Text(0) == "blob_hits") st.hits = static_cast<uint64_t>(q.Int(1));
        if (q.Text(0) == "blob_misses") st.misses = static_cast<uint64_t>(q.Int(1));
      }
      FERRY_RETURN_IF_ERROR(err);
    }
  }
  FERRY_ASSIGN_OR_RETURN(auto manifests, ListManifests());
  st.manifest_count = manifests.size();
  return st;
}

Result<PruneResult> LocalStore::Prune(std::optional<std::chrono::seconds> older_than,
                                      const std::set<std::string>& keep_env_ids) {
  // Exclusive against every writer holding LockForWrite (pull, push, import in progress).
  FERRY_ASSIGN_OR_RETURN(FileLock gc, FileLock::Acquire(root_ + "/locks/gc.lock"));
  PruneResult result;
  int64_t now = Now();
  std::optional<int64_t> cutoff;
  if (older_than) cutoff = now - static_cast<int64_t>(older_than->count());

  // 1. Environments not used since the cutoff.
  if (cutoff) {
    std::map<std::string, int64_t> envs;  // env_id -> last_used
    {
      std::lock_guard<std::mutex> g(mu_);
      Stmt q(db_, "SELECT env_id, last_used FROM envs");
      Status err;
      while (q.Step(&err)) envs[q.Text(0)] = q.Int(1);
      FERRY_RETURN_IF_ERROR(err);
    }
    FERRY_ASSIGN_OR_RETURN(auto manifest_ids, ListManifests());
    for (const auto& id : manifest_ids) {
      if (!envs.count(id)) {
        struct stat st;
        std::string p = root_ + "/manifests/" + id + ".json";
        envs[id] = ::stat(p.c_str(), &st) == 0 ? st.st_mtim.tv_sec : 0;
      }
    }
    for (const auto& [id, last_used] : envs) {
      if (last_used >= *cutoff || keep_env_ids.count(id) || !IsSha256Hex(id)) continue;
      FERRY_ASSIGN_OR_RETURN(FileLock lock, LockEnv(id));
      std::string dir = EnvDir(id);
      uint64_t bytes = TreeBytes(dir);
      RemoveTree(dir);
      ::unlink((root_ + "/manifests/" + id + ".json").c_str());
      {
        std::lock_guard<std::mutex> g(mu_);
        Stmt d1(db_, "DELETE FROM env_blobs WHERE env_id = ?");
        FERRY_RETURN_IF_ERROR(d1.Bind(1, id).Run());
        Stmt d2(db_, "DELETE FROM envs WHERE env_id = ?");
        FERRY_RETURN_IF_ERROR(d2.Bind(1, id).Run());
      }
      ::unlink((root_ + "/locks/env-" + id + ".lock").c_str());
      result.envs_removed++;
      result.bytes_freed += bytes;
    }
  }

  // 2. Blobs and extracted packages that no remaining environment references.
  struct Candidate {
    std::string sha;
    uint64_t size;
    bool is_blob;
  };
  std::vector<Candidate> candidates;
  {
    std::lock_guard<std::mutex> g(mu_);
    Status err;
    Stmt q(db_,
           "SELECT sha256, size, last_used FROM blobs WHERE sha256 NOT IN "
           "(SELECT sha256 FROM env_blobs)");
    while (q.Step(&err)) {
      if (!cutoff || q.Int(2) < *cutoff)
        candidates.push_back({q.Text(0), static_cast<uint64_t>(q.Int(1)), true});
    }
    FERRY_RETURN_IF_ERROR(err);
    Stmt p(db_,
           "SELECT sha256, bytes, last_used FROM packages WHERE sha256 NOT IN "
           "(SELECT sha256 FROM env_blobs)");
    while (p.Step(&err)) {
      if (!cutoff || p.Int(2) < *cutoff)
        candidates.push_back({p.Text(0), static_cast<uint64_t>(p.Int(1)), false});
    }
    FERRY_RETURN_IF_ERROR(err);
  }
  std::set<std::string> referenced;
  {
    std::lock_guard<std::mutex> g(mu_);
    Status err;
    Stmt q(db_, "SELECT DISTINCT sha256 FROM env_blobs");
    while (q.Step(&err)) referenced.insert(q.Text(0));
    FERRY_RETURN_IF_ERROR(err);
  }
  // Orphan blob files and package dirs (no row at all) are unreferenced too.
  for (const auto& sub : ListNames(root_ + "/blobs/sha256")) {
    for (const auto& name : ListNames(root_ + "/blobs/sha256/" + sub)) {
      if (IsSha256Hex(name) && !referenced.count(name) && !BlobRowSize(name)) {
        uint64_t size = 0;
        FileExists(BlobPath(name), &size);
        candidates.push_back({name, size, true});
      }
    }
  }
  for (const auto& name : ListNames(root_ + "/pkgs")) {
    if (!IsSha256Hex(name) || referenced.count(name)) continue;
    bool has_row = false;
    {
      std::lock_guard<std::mutex> g(mu_);
      Stmt q(db_, "SELECT 1 FROM packages WHERE sha256 = ?");
      Status err;
      has_row = q.Bind(1, name).Step(&err);
    }
    if (!has_row) candidates.push_back({name, TreeBytes(PackageDir(name)), false});
  }
  for (const auto& c : candidates) {
    if (!IsSha256Hex(c.sha)) continue;
    FERRY_ASSIGN_OR_RETURN(FileLock lock, LockBlob(c.sha));
    if (c.is_blob) {
      FERRY_RETURN_IF_ERROR(DeleteBlobRow(c.sha));
      ::unlink(BlobPath(c.sha).c_str());
      result.blobs_removed++;
    } else {
      {
        std::lock_guard<std::mutex> g(mu_);
        Stmt d(db_, "DELETE FROM packages WHERE sha256 = ?");
        FERRY_RETURN_IF_ERROR(d.Bind(1, c.sha).Run());
      }
      RemoveTree(PackageDir(c.sha));
      result.packages_removed++;
    }
    result.bytes_freed += c.size;
  }
  CleanStaleTemps();
  return result;
}

Result<std::vector<CorruptEntry>> LocalStore::Verify(bool repair) {
  std::vector<CorruptEntry> bad;
  std::set<std::string> seen;
  std::string base = root_ + "/blobs/sha256";
  for (const auto& sub : ListNames(base)) {
    for (const auto& name : ListNames(base + "/" + sub)) {
      std::string path = base + "/" + sub + "/" + name;
      if (!IsSha256Hex(name) || name.compare(0, 2, sub) != 0) {
        bad.push_back({path, "unexpected file in the blob directory"});
        if (repair) ::unlink(path.c_str());
        continue;
      }
      seen.insert(name);
      Result<std::string> actual = Sha256File(path);
      std::optional<uint64_t> row = BlobRowSize(name);
      uint64_t size = 0;
      FileExists(path, &size);
      std::string reason;
      if (!actual.ok()) {
        reason = actual.status().message();
      } else if (*actual != name) {
        reason = "sha256 mismatch: expected " + name + ", got " + *actual;
      } else if (row && *row != size) {
        reason = "size mismatch: index says " + std::to_string(*row) + " bytes, file has " +
                 std::to_string(size);
      }
      if (!reason.empty()) {
        bad.push_back({path, reason});
        if (repair) {
          FERRY_ASSIGN_OR_RETURN(FileLock lock, LockBlob(name));
          (void)DeleteBlobRow(name);
          ::unlink(path.c_str());
        }
      } else if (!row && repair) {
        FERRY_RETURN_IF_ERROR(InsertBlobRow(name, size));
      }
    }
  }
  std::vector<std::string> rows;
  {
    std::lock_guard<std::mutex> g(mu_);
    Stmt q(db_, "SELECT sha256 FROM blobs");
    Status err;
    while (q.Step(&err)) rows.push_back(q.Text(0));
    FERRY_RETURN_IF_ERROR(err);
  }
  for (const auto& sha : rows) {
    if (seen.count(sha)) continue;
    bad.push_back({IsSha256Hex(sha) ? BlobPath(sha) : sha, "indexed but missing"});
    if (repair) (void)DeleteBlobRow(sha);
  }
  return bad;
}

}  // namespace ferry::store
