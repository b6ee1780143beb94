#include "src/specs/wheel.h"

#include <algorithm>

#include "src/specs/platform.h"

namespace ferry::specs {
namespace {

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::vector<std::string> SplitDots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != '.') continue;
    out.emplace_back(s.substr(start, i - start));
    start = i + 1;
  }
  return out;
}

bool ValidDistName(std::string_view name) {
  if (name.empty() || !IsAlnum(name.front()) || !IsAlnum(name.back())) return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// "2.28" -> (2, 28).
bool ParseMajorMinor(std::string_view s, int* major, int* minor) {
  auto parts = SplitDots(s);
  if (parts.size() < 2) return false;
  int v[2];
  for (int i = 0; i < 2; ++i) {
    if (parts[i].empty() || parts[i].size() > 4) return false;
    v[i] = 0;
    for (char c : parts[i]) {
      if (c < '0' || c > '9') return false;
      v[i] = v[i] * 10 + (c - '0');
    }
  }
  *major = v[0];
  *minor = v[1];
  return true;
}

void MacBinaryFormats(int major, int minor, const std::string& arch, std::vector<std::string>* out) {
  out->clear();
  if (arch == "x86_64") {
    if (major == 10 && minor < 4) return;
    *out = {"x86_64", "intel", "fat64", "fat32", "universal2", "universal"};
  } else if (arch == "arm64") {
    *out = {"arm64", "universal2"};
  } else {
    *out = {arch};
  }
}

}  // namespace

Result<WheelFilename> WheelFilename::Parse(std::string_view filename) {
  auto error = [&](std::string_view reason) {
    return Status::User("invalid wheel filename \"" + std::string(filename) + "\": " +
                        std::string(reason));
  };
  if (filename.size() < 4 || filename.substr(filename.size() - 4) != ".whl") {
    return error("does not end with .whl");
  }
  std::string_view stem = filename.substr(0, filename.size() - 4);
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= stem.size(); ++i) {
    if (i < stem.size() && stem[i] != '-') continue;
    parts.push_back(stem.substr(start, i - start));
    start = i + 1;
  }
  if (parts.size() != 5 && parts.size() != 6) {
    return error("expected {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl");
  }
  WheelFilename w;
  if (!ValidDistName(parts[0])) return error("invalid distribution name \"" + std::string(parts[0]) + "\"");
  w.name.assign(parts[0]);
  auto v = Pep440Version::Parse(parts[1]);
  if (!v.ok()) return error(v.status().message());
  w.version = std::move(v).value();
  size_t t = 2;
  if (parts.size() == 6) {
    if (parts[2].empty() || parts[2][0] < '0' || parts[2][0] > '9') {
      return error("build tag \"" + std::string(parts[2]) + "\" must start with a digit");
    }
    for (char c : parts[2]) {
      if (!IsAlnum(c) && c != '_' && c != '.') return error("invalid build tag");
    }
    w.build_tag.assign(parts[2]);
    t = 3;
  }
  std::vector<std::string>* sets[] = {&w.python_tags, &w.abi_tags, &w.platform_tags};
  const char* what[] = {"python", "abi", "platform"};
  for (int k = 0; k < 3; ++k) {
    *sets[k] = SplitDots(parts[t + k]);
    for (const auto& tag : *sets[k]) {
      if (tag.empty()) return error(std::string("empty ") + what[k] + " tag");
      for (char c : tag) {
        if (!IsAlnum(c) && c != '_') {
          return error(std::string("invalid character in ") + what[k] + " tag \"" + tag + "\"");
        }
      }
    }
  }
  return w;
}

std::vector<WheelTag> WheelFilename::Tags() const {
  std::vector<WheelTag> out;
  for (const auto& py : python_tags) {
    for (const auto& abi : abi_tags) {
      for (const auto& plat : platform_tags) {
        // Tags are case-insensitive in practice; packaging lowercases them.
        WheelTag tag{py, abi, plat};
        for (std::string* s : {&tag.python, &tag.abi, &tag.platform}) {
          for (char& c : *s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
        out.push_back(std::move(tag));
      }
    }
  }
  return out;
}

Result<SdistFilename> SdistFilename::Parse(std::string_view filename) {
  auto error = [&](std::string_view reason) {
    return Status::User("invalid sdist filename \"" + std::string(filename) + "\": " +
                        std::string(reason));
  };
  static const std::string_view kExts[] = {".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tgz", ".tar"};
  SdistFilename s;
  std::string_view stem;
  for (std::string_view ext : kExts) {
    if (filename.size() > ext.size() && filename.substr(filename.size() - ext.size()) == ext) {
      s.extension.assign(ext);
      stem = filename.substr(0, filename.size() - ext.size());
      break;
    }
  }
  if (s.extension.empty()) return error("unknown extension (expected .tar.gz or .zip)");
  for (size_t i = 0; i < stem.size(); ++i) {
    if (stem[i] != '-') continue;
    std::string_view name = stem.substr(0, i);
    auto v = Pep440Version::Parse(stem.substr(i + 1));
    if (v.ok() && ValidDistName(name)) {
      s.name.assign(name);
      s.version = std::move(v).value();
      return s;
    }
  }
  return error("expected {name}-{version}" + s.extension + " with a PEP 440 version");
}

Result<WheelTarget> WheelTargetFor(std::string_view platform, std::string_view python_version,
                                   std::string_view os_version) {
  FERRY_ASSIGN_OR_RETURN(Platform p, ParsePlatform(platform));
  WheelTarget t;
  if (!ParseMajorMinor(python_version, &t.python_major, &t.python_minor)) {
    return Status::User("invalid python version \"" + std::string(python_version) +
                        "\" (expected X.Y)");
  }
  switch (p) {
    case Platform::kLinux64:
    case Platform::kLinuxAarch64:
    case Platform::kLinuxPpc64le: {
      t.os = WheelTarget::Os::kLinux;
      t.arch = PlatformArch(p);
      std::string_view glibc = os_version.empty() ? "2.28" : os_version;
      if (!ParseMajorMinor(glibc, &t.glibc_major, &t.glibc_minor)) {
        return Status::User("invalid glibc version \"" + std::string(glibc) + "\"");
      }
      break;
    }
    case Platform::kOsx64:
    case Platform::kOsxArm64: {
      t.os = WheelTarget::Os::kMacos;
      t.arch = PlatformArch(p);
      std::string_view def = p == Platform::kOsxArm64 ? "11.0" : "10.15";
      std::string_view osx = os_version.empty() ? def : os_version;
      std::string padded(osx);
      if (padded.find('.') == std::string::npos) padded += ".0";
      if (!ParseMajorMinor(padded, &t.macos_major, &t.macos_minor)) {
        return Status::User("invalid macOS version \"" + std::string(osx) + "\"");
      }
      break;
    }
    case Platform::kWin64:
      t.os = WheelTarget::Os::kWindows;
      t.arch = "amd64";
      break;
    case Platform::kNoarch:
      return Status::User("wheel tags need a concrete platform, not noarch");
  }
  return t;
}

std::vector<std::string> PlatformTags(const WheelTarget& t) {
  std::vector<std::string> out;
  switch (t.os) {
    case WheelTarget::Os::kLinux: {
      if (t.musl_major > 0) {
        for (int m = t.musl_minor; m >= 0; --m) {
          out.push_back("musllinux_" + std::to_string(t.musl_major) + "_" + std::to_string(m) +
                        "_" + t.arch);
        }
      } else if (t.glibc_major > 0) {
        bool x86 = t.arch == "x86_64" || t.arch == "i686";
        // Compatibility across glibc major versions: 2.x only exists today, but follow
        // packaging: for a major > 2, list its minors down to 0, then 2.x.
        for (int major = t.glibc_major; major >= 2; --major) {
          int top = major == t.glibc_major ? t.glibc_minor : 50;
          int min_minor = major == 2 ? (x86 ? 5 : 17) : 0;
          for (int minor = top; minor >= min_minor; --minor) {
            out.push_back("manylinux_" + std::to_string(major) + "_" + std::to_string(minor) +
                          "_" + t.arch);
            if (major == 2 && minor == 17) out.push_back("manylinux2014_" + t.arch);
            if (major == 2 && minor == 12 && x86) out.push_back("manylinux2010_" + t.arch);
            if (major == 2 && minor == 5 && x86) out.push_back("manylinux1_" + t.arch);
          }
        }
      }
      out.push_back("linux_" + t.arch);
      break;
    }
    case WheelTarget::Os::kMacos: {
      std::vector<std::string> formats;
      auto emit = [&](int major, int minor) {
        MacBinaryFormats(major, minor, t.arch, &formats);
        for (const auto& f : formats) {
          out.push_back("macosx_" + std::to_string(major) + "_" + std::to_string(minor) + "_" + f);
        }
      };
      if (t.macos_major == 10) {
        for (int minor = t.macos_minor; minor >= 0; --minor) emit(10, minor);
      } else if (t.macos_major >= 11) {
        for (int major = t.macos_major; major >= 11; --major) emit(major, 0);
        for (int minor = 16; minor >= 4; --minor) {
          if (t.arch == "x86_64") {
            emit(10, minor);
          } else {
            out.push_back("macosx_10_" + std::to_string(minor) + "_universal2");
          }
        }
      }
      break;
    }
    case WheelTarget::Os::kWindows:
      out.push_back(t.arch == "arm64" ? "win_arm64" : "win_amd64");
      break;
  }
  return out;
}

std::vector<WheelTag> CompatibleTags(const WheelTarget& t) {
  std::vector<WheelTag> out;
  const std::vector<std::string> plats = PlatformTags(t);
  const std::string x = std::to_string(t.python_major);
  const std::string cp = "cp" + x + std::to_string(t.python_minor);
  const bool abi3 = t.python_major == 3 && t.python_minor >= 2;
  for (const auto& p : plats) out.push_back({cp, cp, p});
  if (abi3) {
    for (const auto& p : plats) out.push_back({cp, "abi3", p});
  }
  for (const auto& p : plats) out.push_back({cp, "none", p});
  if (abi3) {
    for (int minor = t.python_minor - 1; minor >= 2; --minor) {
      for (const auto& p : plats) out.push_back({"cp" + x + std::to_string(minor), "abi3", p});
    }
  }
  std::vector<std::string> py_range = {"py" + x + std::to_string(t.python_minor), "py" + x};
  for (int minor = t.python_minor - 1; minor >= 0; --minor) {
    py_range.push_back("py" + x + std::to_string(minor));
  }
  for (const auto& py : py_range) {
    for (const auto& p : plats) out.push_back({py, "none", p});
  }
  out.push_back({cp, "none", "any"});
  for (const auto& py : py_range) out.push_back({py, "none", "any"});
  return out;
}

TagPriorities::TagPriorities(const std::vector<WheelTag>& ordered_tags) {
  index_.reserve(ordered_tags.size());
  for (size_t i = 0; i < ordered_tags.size(); ++i) {
    index_.emplace(ordered_tags[i].ToString(), static_cast<int>(i));  // first wins
  }
}

std::optional<int> TagPriorities::Priority(const WheelTag& tag) const {
  auto it = index_.find(tag.ToString());
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> TagPriorities::Priority(const WheelFilename& wheel) const {
  std::optional<int> best;
  for (const WheelTag& tag : wheel.Tags()) {
    auto p = Priority(tag);
    if (p && (!best || *p < *best)) best = p;
  }
  return best;
}

}  // namespace ferry::specs
