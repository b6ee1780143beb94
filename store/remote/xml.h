// A small, strict XML reader for S3/STS responses (ListObjectsV2, errors, multipart, STS
// credentials). It builds an element tree; it does not support DTDs (a <!DOCTYPE> is rejected,
// so entity-expansion attacks are impossible), decodes the five predefined entities and
// numeric character references, accepts CDATA, comments and processing instructions, and
// limits nesting depth and input size. Namespace prefixes are kept in `name`; use LocalName
// matching through Child()/Children(), which ignore any "prefix:".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/status.h"

namespace ferry::store {

struct XmlElement {
  std::string name;  // as written, e.g. "ListBucketResult" or "s3:Key"
  std::string text;  // concatenated decoded character data directly inside this element
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<XmlElement> children;

  // First direct child whose local name (after any "prefix:") is `local_name`, or nullptr.
  const XmlElement* Child(std::string_view local_name) const;
  // All direct children with that local name.
  std::vector<const XmlElement*> Children(std::string_view local_name) const;
  // Text of the first child with that local name, or "" if there is none.
  std::string ChildText(std::string_view local_name) const;
  // Local name of this element.
  std::string_view LocalName() const;
};

// Parses a whole document and returns its root element. Malformed input (unbalanced tags,
// bad entities, DOCTYPE, more than 64 levels, more than 64 MiB) is kUser with a position.
Result<XmlElement> ParseXml(std::string_view doc);

// Escapes text for element content / attribute values (&, <, >, ", ').
std::string XmlEscape(std::string_view s);

}  // namespace ferry::store
