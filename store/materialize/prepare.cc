#include "store/materialize/prepare.h"

#include <algorithm>

namespace ferry::store {

ExtractPipeline::ExtractPipeline(LocalStore& local, const std::vector<LockedPackage>& packages,
                                 int threads, Reporter* reporter)
    : local_(local), reporter_(reporter) {
  for (const auto& p : packages) wanted_.emplace(p.sha256, p.filename);
  // Extraction alternates CPU (zstd/bzip2, sha256) with waits on the file system (creates,
  // fsyncs), so two workers per core keep the cores busy; still a small pool.
  size_t n = threads > 0 ? static_cast<size_t>(threads)
                         : std::clamp<size_t>(2 * std::thread::hardware_concurrency(), 2, 8);
  n = std::min({n, wanted_.size(), size_t{64}});
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { Worker(); });
}

ExtractPipeline::~ExtractPipeline() {
  {
    std::lock_guard<std::mutex> g(mu_);
    cancelled_ = true;
    closed_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void ExtractPipeline::BlobReady(const std::string& sha256) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_ || cancelled_ || !wanted_.count(sha256) || queued_[sha256]) return;
    queued_[sha256] = true;
    queue_.push_back(sha256);
  }
  cv_.notify_one();
}

void ExtractPipeline::Cancel() {
  {
    std::lock_guard<std::mutex> g(mu_);
    cancelled_ = true;
    queue_.clear();
  }
  cv_.notify_all();
}

void ExtractPipeline::Worker() {
  for (;;) {
    std::string sha;
    {
      std::unique_lock<std::mutex> g(mu_);
      cv_.wait(g, [&] { return cancelled_ || closed_ || !queue_.empty(); });
      if (cancelled_ || queue_.empty()) return;  // cancelled, or closed and drained
      sha = std::move(queue_.front());
      queue_.pop_front();
    }
    const std::string& filename = wanted_.at(sha);
    bool was_extracted = local_.IsPackageExtracted(sha);
    Status s;
    if (!was_extracted) {
      auto r = local_.EnsurePackageExtracted(sha, filename);
      if (!r.ok()) {
        s = r.status();
        if (s.message().find(filename) == std::string::npos)
          s = s.WithContext("extracting " + filename);
      }
    }
    bool report;
    {
      std::lock_guard<std::mutex> g(mu_);
      ++done_;
      if (s.ok() && !was_extracted) ++extracted_;
      if (!s.ok()) {
        if (first_.ok() || (s.code() == Code::kIntegrity && first_.code() != Code::kIntegrity))
          first_ = s;
        cancelled_ = true;  // the environment cannot be built: stop early
        queue_.clear();
      }
      report = reporting_;
    }
    if (!s.ok()) cv_.notify_all();
    if (report && reporter_) reporter_->Advance(1);
  }
}

Status ExtractPipeline::Finish() {
  size_t remaining = 0;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!cancelled_) {
      for (const auto& [sha, filename] : wanted_) {
        if (queued_[sha]) continue;
        queued_[sha] = true;
        queue_.push_back(sha);
      }
    }
    closed_ = true;
    remaining = wanted_.size() - done_;
    reporting_ = reporter_ != nullptr && remaining > 0 && !cancelled_;
    // Under mu_: a worker that sees reporting_ advances a phase that has begun.
    if (reporting_) reporter_->BeginPhase("extracting packages", remaining);
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  if (reporting_) reporter_->EndPhase();
  std::lock_guard<std::mutex> g(mu_);
  if (first_.ok() && cancelled_ && done_ < wanted_.size())
    return Status::User("extraction cancelled");
  return first_;
}

size_t ExtractPipeline::extracted() const {
  std::lock_guard<std::mutex> g(mu_);
  return extracted_;
}

}  // namespace ferry::store
