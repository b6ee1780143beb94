// Prepare stage of the materializer: extracts package blobs into the store while their downloads
// are still running (pipelined). The downloader (store/sync.h) calls BlobReady() for each blob as
// soon as it is verified and published; a small pool of workers extracts it
// (LocalStore::EnsurePackageExtracted: once per digest across processes, staging dir + rename,
// completion marker last, so a killed process never leaves a half package that looks complete).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "src/lock/lock.h"
#include "src/reporter.h"
#include "src/status.h"
#include "store/local/local_store.h"

namespace ferry::store {

class ExtractPipeline {
 public:
  // `packages`: the packages to extract (duplicates by sha256 are extracted once). Starts
  // `threads` workers (0: 2 per core, 2 to 8; never more than the packages, nor 64) that
  // wait for BlobReady(). `local` and `reporter` (nullable) must outlive the pipeline.
  ExtractPipeline(LocalStore& local, const std::vector<LockedPackage>& packages, int threads = 0,
                  Reporter* reporter = nullptr);
  // Cancels pending work and joins the workers (an extraction in progress finishes or fails on
  // its own; its staging directory never becomes visible unless complete).
  ~ExtractPipeline();
  ExtractPipeline(const ExtractPipeline&) = delete;
  ExtractPipeline& operator=(const ExtractPipeline&) = delete;

  // The blob `sha256` is verified and published in `local`: queue its extraction. Unknown or
  // already queued digests are ignored. Thread-safe, never blocks on extraction.
  void BlobReady(const std::string& sha256);

  // Stops starting new extractions (after a download failure). Thread-safe.
  void Cancel();

  // Queues every package not yet queued (blobs that were already local, or that another process
  // published), waits for all extractions and returns the first error, prefixed with
  // "extracting <filename>" when the message does not already name the package (kIntegrity
  // errors take precedence). Shows an "extracting packages" phase on the reporter for the work
  // still left when it is called. Call at most once.
  Status Finish();

  // Number of packages this pipeline extracted (excluding ones found already extracted).
  size_t extracted() const;

 private:
  void Worker();

  LocalStore& local_;
  Reporter* reporter_;
  std::map<std::string, std::string> wanted_;  // sha256 -> filename
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::map<std::string, bool> queued_;  // sha256 -> queued
  size_t done_ = 0;
  size_t extracted_ = 0;
  bool closed_ = false;     // no more BlobReady: workers exit when the queue is empty
  bool cancelled_ = false;  // drop the queue
  bool reporting_ = false;  // Finish() opened a reporter phase
  Status first_;
  std::vector<std::thread> threads_;
};

}  // namespace ferry::store
