// conda package versions (CEP 33 / conda's VersionOrder): parsing and total ordering.
//
// Grammar: [EPOCH!]VERSION[+LOCAL], case-insensitive. VERSION and LOCAL are split into
// components on '.', '_' (and '-' when the string has no '_'); each component is split into runs
// of digits, of '*', and of other characters. Digit runs compare as integers; "post" is greater
// than every number; "dev" is lower than every other string; strings sort before numbers; a
// component that starts with a letter gets an implicit leading 0 ("1.1rc1" == "1.1.0rc1" is
// false, but "1.1.rc1" == "1.1.0rc1"). Missing components and runs compare as 0, so
// "1.0" == "1.0.0" and "1" == "1.0". A single trailing '_' stays on the last component
// (openssl-style "1.0.1_" < "1.0.1a"). The full ordering chain from conda's docs holds:
//   0.4 == 0.4.0 < 0.4.1.rc == 0.4.1.RC < 0.4.1 < 0.5a1 < 0.5b3 < 0.5C1 < 0.5 < 0.9.6 <
//   0.960923 < 1.0 < 1.1dev1 < 1.1_ < 1.1a1 < 1.1.0dev1 == 1.1.dev1 < 1.1.a1 < 1.1.0rc1 <
//   1.1.0 < 1.1.0post1 == 1.1.post1 < 1.1post1 < 1996.07.12 < 1!0.4.1 < 1!3.1.1.6 < 2!0.4.1
//
// Version is an immutable value type; comparisons never allocate. Thread-safe for concurrent
// const use.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::specs {

class Version {
 public:
  // The version "0".
  Version();

  // Parses a conda version. Leading/trailing whitespace is ignored. On error returns kUser with
  // `invalid conda version "<text>" at position <N>: <reason>` (N is a 0-based byte offset into
  // the given text). Reasons: empty version string, invalid character, mixed '-' and '_',
  // duplicated epoch separator '!', epoch must be an integer, duplicated local version separator
  // '+', missing version before '+', empty component.
  static Result<Version> Parse(std::string_view text);

  // The text as given (trimmed), for printing: "1.2.0RC1" stays "1.2.0RC1".
  const std::string& str() const { return text_; }
  std::string ToString() const { return text_; }

  // Total order of CEP 33: <0, 0, >0. Equal versions may have different text ("1.0", "1.0.0").
  int Compare(const Version& other) const;

  // conda's VersionOrder.startswith: true if this version matches the prefix `prefix.*`
  // component-wise (e.g. 1.2.3 starts with 1.2; 1.20 does not start with 1.2; 1.2rc1 starts
  // with 1.2rc; if `prefix` has a local part, the public parts must be equal).
  bool StartsWith(const Version& prefix) const;

  // Hash consistent with Compare()==0 (equal versions hash equal).
  size_t Hash() const;

  // True if the version has a "+local" part.
  bool has_local() const { return n_local_ > 0; }
  // Epoch as a number (0 when absent; saturates at UINT64_MAX).
  uint64_t epoch() const;

  friend bool operator==(const Version& a, const Version& b) { return a.Compare(b) == 0; }
  friend std::strong_ordering operator<=>(const Version& a, const Version& b) {
    int c = a.Compare(b);
    return c < 0 ? std::strong_ordering::less
                 : (c > 0 ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

 private:
  // One run of a component. kString < kNumber < kPost across kinds.
  struct Atom {
    uint32_t off = 0;  // into norm_ (lowercased text)
    uint32_t len = 0;  // numbers: digits without leading zeros (0 has len 0)
    uint8_t kind = 1;  // 0 = string, 1 = number, 2 = post
    bool dev = false;  // string "dev" (compares as "DEV", below every other string)
  };
  struct Part {
    uint32_t begin;  // first component index
    uint32_t end;
  };
  static int CompareAtom(const Version& va, const Atom* a, const Version& vb, const Atom* b);
  static int CompareParts(const Version& va, Part pa, const Version& vb, Part pb);
  static int CompareComp(const Version& va, uint32_t ca, const Version& vb, uint32_t cb,
                         uint32_t limit);
  std::string_view AtomText(const Atom& a) const;
  Part version_part() const { return {0, n_version_}; }
  Part local_part() const { return {n_version_, n_version_ + n_local_}; }
  uint32_t comp_size(uint32_t c) const { return comp_start_[c + 1] - comp_start_[c]; }

  std::string text_;                 // trimmed original
  std::string norm_;                 // lowercased text_
  std::vector<Atom> atoms_;          // all runs, component after component
  std::vector<uint32_t> comp_start_;  // size = components + 1
  uint32_t n_version_ = 0;           // components of the public part, epoch first
  uint32_t n_local_ = 0;             // components of the local part
};

struct VersionHash {
  size_t operator()(const Version& v) const { return v.Hash(); }
};

}  // namespace ferry::specs
