#include "store/materialize/manifest.h"

#include <charconv>

namespace ferry::store {

namespace {

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t t = line.find('\t', start);
    if (t == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, t - start));
    start = t + 1;
  }
}

}  // namespace

std::string SerializePackageManifest(const PackageManifest& m) {
  std::string out;
  out.reserve(64 + m.entries.size() * 120);
  out += "ferry-manifest\t1\t" + m.kind + "\t" + (m.noarch.empty() ? "-" : m.noarch) + "\n";
  for (const auto& e : m.entries) {
    switch (e.type) {
      case EntryType::kFile:
        out += "F\t" + e.path + "\t" + std::to_string(e.size) + "\t" + e.sha256 + "\t" +
               (e.no_link ? "c" : "-") + "\n";
        break;
      case EntryType::kPatched:
        out += "P\t" + e.path + "\t" + std::to_string(e.size) + "\t" + e.sha256 + "\t" +
               (e.binary ? "b" : "t") + "\t" + e.placeholder + "\n";
        break;
      case EntryType::kSymlink:
        out += "L\t" + e.path + "\t" + e.target + "\n";
        break;
      case EntryType::kDir:
        out += "D\t" + e.path + "\n";
        break;
    }
  }
  return out;
}

Result<PackageManifest> ParsePackageManifest(std::string_view text, const std::string& origin) {
  PackageManifest m;
  size_t pos = 0;
  int line_no = 0;
  auto bad = [&](const std::string& why) {
    return Status::Integrity(origin + ":" + std::to_string(line_no) + ": malformed manifest: " +
                             why);
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    auto f = SplitTabs(line);
    if (line_no == 1) {
      if (f.size() != 4 || f[0] != "ferry-manifest" || f[1] != "1") return bad("bad header");
      m.kind = std::string(f[2]);
      m.noarch = f[3] == "-" ? "" : std::string(f[3]);
      continue;
    }
    ManifestEntry e;
    auto parse_size = [&](std::string_view s) -> bool {
      auto r = std::from_chars(s.data(), s.data() + s.size(), e.size);
      return r.ec == std::errc() && r.ptr == s.data() + s.size();
    };
    if (f[0] == "F" && f.size() == 5) {
      e.type = EntryType::kFile;
      if (!parse_size(f[2])) return bad("bad size");
      e.sha256 = std::string(f[3]);
      e.no_link = f[4] == "c";
    } else if (f[0] == "P" && f.size() == 6) {
      e.type = EntryType::kPatched;
      if (!parse_size(f[2])) return bad("bad size");
      e.sha256 = std::string(f[3]);
      e.binary = f[4] == "b";
      e.placeholder = std::string(f[5]);
      if (e.placeholder.empty()) return bad("empty placeholder");
    } else if (f[0] == "L" && f.size() == 3) {
      e.type = EntryType::kSymlink;
      e.target = std::string(f[2]);
    } else if (f[0] == "D" && f.size() == 2) {
      e.type = EntryType::kDir;
    } else {
      return bad("unknown record");
    }
    e.path = std::string(f[1]);
    if (e.path.empty()) return bad("empty path");
    m.entries.push_back(std::move(e));
  }
  if (line_no == 0) return bad("empty");
  return m;
}

}  // namespace ferry::store
