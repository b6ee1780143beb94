// Reporter: progress and diagnostics sink. The CLI draws bars on a terminal (stderr only) and
// prints nothing when stderr is piped; libraries only ever talk to this interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry {

class Reporter {
 public:
  virtual ~Reporter() = default;
  // A new phase with `total` units (bytes or items; 0 = unknown). Thread-safe.
  virtual void BeginPhase(std::string_view name, uint64_t total) {}
  // Advances the current phase. Thread-safe, cheap enough for per-chunk calls.
  virtual void Advance(uint64_t units) {}
  virtual void EndPhase() {}
  // A warning the user should see even without -v (e.g. a skipped bad repodata record).
  virtual void Warn(std::string_view message) {}
  // Detail shown only with -v.
  virtual void Info(std::string_view message) {}
};

// A Reporter that drops everything; the default for libraries and tests.
inline Reporter& NullReporter() {
  static Reporter r;  // stateless
  return r;
}

}  // namespace ferry
