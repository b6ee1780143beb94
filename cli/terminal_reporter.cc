#include "cli/terminal_reporter.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace ferry::cli {
namespace {

class TerminalReporter : public Reporter {
 public:
  TerminalReporter(bool verbose, bool quiet)
      : verbose_(verbose), quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}

  void BeginPhase(std::string_view name, uint64_t total) override {
    std::lock_guard<std::mutex> lock(mu_);
    phase_ = std::string(name);
    total_ = total;
    done_ = 0;
    last_draw_ = {};
    Draw(true);
  }
  void Advance(uint64_t units) override {
    done_ += units;
    if (!tty_ || quiet_) return;
    std::lock_guard<std::mutex> lock(mu_);
    Draw(false);
  }
  void EndPhase() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (tty_ && !quiet_ && !phase_.empty()) std::fprintf(stderr, "\r\033[K");
    phase_.clear();
  }
  void Warn(std::string_view message) override {
    if (quiet_) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (tty_ && !phase_.empty()) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "ferry: warning: %.*s\n", static_cast<int>(message.size()), message.data());
  }
  void Info(std::string_view message) override {
    if (!verbose_ || quiet_) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (tty_ && !phase_.empty()) std::fprintf(stderr, "\r\033[K");
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  }

 private:
  void Draw(bool force) {
    if (!tty_ || quiet_ || phase_.empty()) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    uint64_t done = done_.load();
    if (total_ > 0) {
      int width = 30;
      int filled = static_cast<int>(width * std::min<double>(1.0, double(done) / double(total_)));
      std::fprintf(stderr, "\r\033[K%-12s [%s%s] %3d%%", phase_.c_str(),
                   std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                   static_cast<int>(100.0 * std::min<double>(1.0, double(done) / double(total_))));
    } else {
      std::fprintf(stderr, "\r\033[K%-12s %llu", phase_.c_str(),
                   static_cast<unsigned long long>(done));
    }
    std::fflush(stderr);
  }

  bool verbose_, quiet_, tty_;
  std::mutex mu_;
  std::string phase_;
  uint64_t total_ = 0;
  std::atomic<uint64_t> done_{0};
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace

std::unique_ptr<Reporter> MakeTerminalReporter(bool verbose, bool quiet) {
  return std::make_unique<TerminalReporter>(verbose, quiet);
}

}  // namespace ferry::cli
