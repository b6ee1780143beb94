// PyPI simple repository API (PEP 503 HTML, PEP 691 JSON, PEP 592 yanked, PEP 658/714 core
// metadata, PEP 700 size/upload-time): parsing of one project page. Pure: bytes in, value out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::resolver::pypi {

struct IndexFile {
  std::string filename;
  std::string url;              // absolute, without the #sha256= fragment
  std::string sha256;           // lower-case hex, "" when the index gives none
  std::optional<uint64_t> size;  // PEP 700
  std::string requires_python;  // "" = any
  bool yanked = false;
  std::string yanked_reason;
  // PEP 658/714: a "<url>.metadata" file exists; its sha256 when the index gives it.
  bool has_core_metadata = false;
  std::string core_metadata_sha256;
};

struct ProjectPage {
  std::string name;  // as the page names it
  std::vector<IndexFile> files;
};

// The Accept header that prefers PEP 691 JSON and falls back to HTML.
inline constexpr const char* kSimpleAccept =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01";

// Parses a PEP 691 JSON project page. `page_url` resolves relative file URLs.
// Errors (kUser) name the page URL and what is malformed.
Result<ProjectPage> ParseProjectJson(std::string_view body, std::string_view page_url);

// Parses a PEP 503 HTML project page (anchors with data-requires-python, data-yanked,
// data-core-metadata / data-dist-info-metadata, #sha256= fragments; HTML entities decoded).
Result<ProjectPage> ParseProjectHtml(std::string_view body, std::string_view page_url);

// Chooses the parser from the response Content-Type (JSON for application/vnd.pypi.simple.v1+json
// or application/json, else HTML).
Result<ProjectPage> ParseProjectPage(std::string_view body, std::string_view content_type,
                                     std::string_view page_url);

// Resolves `ref` (absolute, scheme-relative, root-relative or relative) against `base`.
std::string ResolveUrl(std::string_view base, std::string_view ref);

// The project page URL of `normalized_name` under an index root ("http://h/simple/" →
// "http://h/simple/<name>/").
std::string ProjectUrl(std::string_view index_url, std::string_view normalized_name);

}  // namespace ferry::resolver::pypi
