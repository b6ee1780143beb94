#include "resolver/pypi/simple_index.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace ferry::resolver::pypi {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Splits "url#sha256=abc" into the URL and a hex sha256 (other hash names are ignored).
void SplitFragment(std::string& url, std::string& sha256) {
  auto hash = url.find('#');
  if (hash == std::string::npos) return;
  std::string frag = url.substr(hash + 1);
  url.resize(hash);
  if (frag.rfind("sha256=", 0) == 0) sha256 = Lower(frag.substr(7));
}

std::string DecodeEntities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    std::string rep;
    if (ent == "lt") rep = "<";
    else if (ent == "gt") rep = ">";
    else if (ent == "amp") rep = "&";
    else if (ent == "quot") rep = "\"";
    else if (ent == "apos") rep = "'";
    else if (!ent.empty() && ent[0] == '#') {
      long code = 0;
      try {
        code = (ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X'))
                   ? std::stol(std::string(ent.substr(2)), nullptr, 16)
                   : std::stol(std::string(ent.substr(1)));
      } catch (...) {
        code = -1;
      }
      if (code > 0 && code < 128) rep = std::string(1, static_cast<char>(code));
    }
    if (rep.empty()) {
      out.push_back('&');
      continue;
    }
    out += rep;
    i = semi;
  }
  return out;
}

// Reads the attributes of one start tag body (the text between "<a" and ">").
std::vector<std::pair<std::string, std::string>> ParseAttributes(std::string_view tag) {
  std::vector<std::pair<std::string, std::string>> attrs;
  size_t i = 0;
  while (i < tag.size()) {
    while (i < tag.size() && (std::isspace(static_cast<unsigned char>(tag[i])) || tag[i] == '/')) ++i;
    size_t name_start = i;
    while (i < tag.size() && !std::isspace(static_cast<unsigned char>(tag[i])) && tag[i] != '=' &&
           tag[i] != '/')
      ++i;
    std::string name = Lower(tag.substr(name_start, i - name_start));
    if (name.empty()) break;
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
    std::string value;
    if (i < tag.size() && tag[i] == '=') {
      ++i;
      while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
      if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
        char q = tag[i++];
        size_t end = tag.find(q, i);
        if (end == std::string_view::npos) end = tag.size();
        value = DecodeEntities(tag.substr(i, end - i));
        i = end + 1;
      } else {
        size_t start = i;
        while (i < tag.size() && !std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
        value = DecodeEntities(tag.substr(start, i - start));
      }
    }
    attrs.emplace_back(std::move(name), std::move(value));
  }
  return attrs;
}

void ParseMetadataAttr(const std::string& value, IndexFile& f) {
  // "true", or "sha256=<hex>"; "false" means absent.
  if (value.empty() || Lower(value) == "false") return;
  f.has_core_metadata = true;
  if (value.rfind("sha256=", 0) == 0) f.core_metadata_sha256 = Lower(value.substr(7));
}

}  // namespace

std::string ResolveUrl(std::string_view base, std::string_view ref) {
  if (ref.find("://") != std::string_view::npos) return std::string(ref);
  auto scheme_end = base.find("://");
  if (scheme_end == std::string_view::npos) return std::string(ref);
  if (ref.rfind("//", 0) == 0) return std::string(base.substr(0, scheme_end + 1)) + std::string(ref);
  auto host_end = base.find('/', scheme_end + 3);
  std::string origin(base.substr(0, host_end == std::string_view::npos ? base.size() : host_end));
  if (!ref.empty() && ref.front() == '/') return origin + std::string(ref);
  // Relative: strip query/fragment and last segment of base, then collapse "." and "..".
  std::string_view b = base.substr(0, base.find_first_of("?#"));
  std::string path = host_end == std::string_view::npos ? "/" : std::string(b.substr(host_end));
  path = path.substr(0, path.rfind('/') + 1) + std::string(ref);
  std::vector<std::string> segs;
  size_t pos = 1;
  std::string tail;
  auto q = path.find_first_of("?#");
  if (q != std::string::npos) {
    tail = path.substr(q);
    path.resize(q);
  }
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string seg = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
    } else if (seg != ".") {
      segs.push_back(seg);
    }
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  std::string out = origin;
  for (size_t i = 0; i < segs.size(); ++i) out += "/" + segs[i];
  if (segs.empty()) out += "/";
  return out + tail;
}

std::string ProjectUrl(std::string_view index_url, std::string_view normalized_name) {
  std::string out(index_url);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out.append(normalized_name);
  out.push_back('/');
  return out;
}

Result<ProjectPage> ParseProjectJson(std::string_view body, std::string_view page_url) {
  auto fail = [&](const std::string& what) {
    return Status::User("malformed PEP 691 page " + std::string(page_url) + ": " + what);
  };
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  ProjectPage page;
  if (j.contains("name") && j["name"].is_string()) page.name = j["name"].get<std::string>();
  if (!j.contains("files") || !j["files"].is_array()) return fail("no \"files\" array");
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("filename") || !f["filename"].is_string() ||
        !f.contains("url") || !f["url"].is_string())
      return fail("a file entry lacks \"filename\" or \"url\"");
    IndexFile file;
    file.filename = f["filename"].get<std::string>();
    file.url = ResolveUrl(page_url, f["url"].get<std::string>());
    SplitFragment(file.url, file.sha256);
    if (f.contains("hashes") && f["hashes"].is_object() && f["hashes"].contains("sha256") &&
        f["hashes"]["sha256"].is_string())
      file.sha256 = Lower(f["hashes"]["sha256"].get<std::string>());
    if (f.contains("size") && f["size"].is_number_unsigned()) file.size = f["size"].get<uint64_t>();
    if (f.contains("requires-python") && f["requires-python"].is_string())
      file.requires_python = f["requires-python"].get<std::string>();
    if (f.contains("yanked")) {
      const auto& y = f["yanked"];
      if (y.is_boolean()) {
        file.yanked = y.get<bool>();
      } else if (y.is_string()) {
        file.yanked = true;
        file.yanked_reason = y.get<std::string>();
      }
    }
    for (const char* key : {"core-metadata", "dist-info-metadata", "data-dist-info-metadata"}) {
      if (!f.contains(key) || file.has_core_metadata) continue;
      const auto& m = f[key];
      if (m.is_boolean() && m.get<bool>()) {
        file.has_core_metadata = true;
      } else if (m.is_object()) {
        file.has_core_metadata = true;
        if (m.contains("sha256") && m["sha256"].is_string())
          file.core_metadata_sha256 = Lower(m["sha256"].get<std::string>());
      }
    }
    page.files.push_back(std::move(file));
  }
  return page;
}

Result<ProjectPage> ParseProjectHtml(std::string_view body, std::string_view page_url) {
  ProjectPage page;
  size_t pos = 0;
  std::string lower_body = Lower(body);
  while (true) {
    size_t a = lower_body.find("<a", pos);
    if (a == std::string::npos) break;
    char after = a + 2 < lower_body.size() ? lower_body[a + 2] : '>';
    if (!std::isspace(static_cast<unsigned char>(after)) && after != '>') {
      pos = a + 2;
      continue;
    }
    size_t gt = body.find('>', a);
    if (gt == std::string_view::npos)
      return Status::User("malformed PEP 503 page " + std::string(page_url) + ": unterminated <a> tag");
    size_t close = lower_body.find("</a>", gt);
    if (close == std::string::npos)
      return Status::User("malformed PEP 503 page " + std::string(page_url) + ": <a> without </a>");
    auto attrs = ParseAttributes(body.substr(a + 2, gt - a - 2));
    IndexFile file;
    std::string href;
    for (auto& [k, v] : attrs) {
      if (k == "href") href = v;
      else if (k == "data-requires-python") file.requires_python = v;
      else if (k == "data-yanked") {
        file.yanked = true;
        file.yanked_reason = v;
      } else if (k == "data-core-metadata" ||
                 (k == "data-dist-info-metadata" && !file.has_core_metadata))
        ParseMetadataAttr(v, file);
    }
    std::string text = DecodeEntities(body.substr(gt + 1, close - gt - 1));
    auto trimmed_start = text.find_first_not_of(" \t\r\n");
    auto trimmed_end = text.find_last_not_of(" \t\r\n");
    file.filename = trimmed_start == std::string::npos
                        ? std::string()
                        : text.substr(trimmed_start, trimmed_end - trimmed_start + 1);
    pos = close + 4;
    if (href.empty()) continue;
    file.url = ResolveUrl(page_url, href);
    SplitFragment(file.url, file.sha256);
    if (file.filename.empty()) {
      file.filename = file.url.substr(file.url.rfind('/') + 1);
    }
    page.files.push_back(std::move(file));
  }
  return page;
}

Result<ProjectPage> ParseProjectPage(std::string_view body, std::string_view content_type,
                                     std::string_view page_url) {
  std::string ct = Lower(content_type);
  if (ct.find("json") != std::string::npos) return ParseProjectJson(body, page_url);
  return ParseProjectHtml(body, page_url);
}

}  // namespace ferry::resolver::pypi
