#include "store/remote/xml.h"
#include "src/utf8.h"

#include <cctype>
#include <cstdint>

namespace ferry::store {

namespace {

constexpr size_t kMaxDoc = 64u << 20;
constexpr int kMaxDepth = 64;

std::string_view Local(std::string_view name) {
  auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

class Parser {
 public:
  explicit Parser(std::string_view doc) : s_(doc) {}

  Result<XmlElement> Run() {
    if (s_.size() > kMaxDoc) return Error("document larger than 64 MiB");
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 BOM
    FERRY_RETURN_IF_ERROR(SkipMisc());
    if (pos_ >= s_.size() || s_[pos_] != '<') return Error("expected a root element");
    XmlElement root;
    FERRY_RETURN_IF_ERROR(ParseElement(root, 0));
    FERRY_RETURN_IF_ERROR(SkipMisc());
    if (pos_ != s_.size()) return Error("content after the root element");
    return root;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::User("malformed XML at byte " + std::to_string(pos_) + ": " + what);
  }

  bool StartsWith(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  Status SkipPast(std::string_view end, const char* what) {
    auto e = s_.find(end, pos_);
    if (e == std::string_view::npos) return Error(std::string("unterminated ") + what);
    pos_ = e + end.size();
    return Status::Ok();
  }

  // Whitespace, comments and processing instructions outside the root element.
  Status SkipMisc() {
    for (;;) {
      SkipSpace();
      if (StartsWith("<?")) {
        FERRY_RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
      } else if (StartsWith("<!--")) {
        FERRY_RETURN_IF_ERROR(SkipPast("-->", "comment"));
      } else if (StartsWith("<!")) {
        return Error("DOCTYPE and declarations are not supported");
      } else {
        return Status::Ok();
      }
    }
  }

  static bool NameChar(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '-' || c == '.' || c == ':' || u >= 0x80;
  }

  Result<std::string> ParseName() {
    size_t start = pos_;
    while (pos_ < s_.size() && NameChar(s_[pos_])) ++pos_;
    if (pos_ == start) return Error("expected a name");
    return std::string(s_.substr(start, pos_ - start));
  }

  // Decodes character data up to (not including) `stop`, appending to out.
  Status DecodeText(std::string_view raw, std::string& out) {
    for (size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c != '&') {
        out += c;
        continue;
      }
      auto semi = raw.find(';', i);
      if (semi == std::string_view::npos || semi - i > 12) return Error("bad entity reference");
      std::string_view ent = raw.substr(i + 1, semi - i - 1);
      if (ent == "amp")
        out += '&';
      else if (ent == "lt")
        out += '<';
      else if (ent == "gt")
        out += '>';
      else if (ent == "quot")
        out += '"';
      else if (ent == "apos")
        out += '\'';
      else if (ent.size() >= 2 && ent[0] == '#') {
        uint32_t cp = 0;
        bool hex = ent[1] == 'x' || ent[1] == 'X';
        std::string_view digits = ent.substr(hex ? 2 : 1);
        if (digits.empty()) return Error("bad character reference");
        for (char d : digits) {
          int v;
          if (d >= '0' && d <= '9')
            v = d - '0';
          else if (hex && d >= 'a' && d <= 'f')
            v = d - 'a' + 10;
          else if (hex && d >= 'A' && d <= 'F')
            v = d - 'A' + 10;
          else
            return Error("bad character reference");
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
          if (cp > 0x10FFFF) return Error("character reference out of range");
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return Error("invalid character reference");
        AppendUtf8(out, cp);
      } else {
        return Error("unknown entity &" + std::string(ent) + ";");
      }
      i = semi;
    }
    return Status::Ok();
  }

  Status ParseElement(XmlElement& el, int depth) {
    if (depth >= kMaxDepth) return Error("nesting deeper than 64 levels");
    ++pos_;  // '<'
    FERRY_ASSIGN_OR_RETURN(el.name, ParseName());
    // Attributes.
    for (;;) {
      SkipSpace();
      if (pos_ >= s_.size()) return Error("unterminated start tag <" + el.name + ">");
      if (StartsWith("/>")) {
        pos_ += 2;
        return Status::Ok();
      }
      if (s_[pos_] == '>') {
        ++pos_;
        break;
      }
      FERRY_ASSIGN_OR_RETURN(std::string attr, ParseName());
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '=') return Error("expected '=' after attribute");
      ++pos_;
      SkipSpace();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) {
        return Error("expected a quoted attribute value");
      }
      char q = s_[pos_++];
      auto end = s_.find(q, pos_);
      if (end == std::string_view::npos) return Error("unterminated attribute value");
      std::string value;
      FERRY_RETURN_IF_ERROR(DecodeText(s_.substr(pos_, end - pos_), value));
      pos_ = end + 1;
      el.attributes.emplace_back(std::move(attr), std::move(value));
    }
    // Content.
    for (;;) {
      if (pos_ >= s_.size()) return Error("unterminated element <" + el.name + ">");
      if (StartsWith("</")) {
        pos_ += 2;
        FERRY_ASSIGN_OR_RETURN(std::string closing, ParseName());
        if (closing != el.name) {
          return Error("</" + closing + "> does not close <" + el.name + ">");
        }
        SkipSpace();
        if (pos_ >= s_.size() || s_[pos_] != '>') return Error("expected '>'");
        ++pos_;
        return Status::Ok();
      }
      if (StartsWith("<!--")) {
        FERRY_RETURN_IF_ERROR(SkipPast("-->", "comment"));
      } else if (StartsWith("<![CDATA[")) {
        pos_ += 9;
        auto end = s_.find("]]>", pos_);
        if (end == std::string_view::npos) return Error("unterminated CDATA");
        el.text.append(s_.substr(pos_, end - pos_));
        pos_ = end + 3;
      } else if (StartsWith("<?")) {
        FERRY_RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
      } else if (StartsWith("<!")) {
        return Error("declarations are not allowed inside elements");
      } else if (s_[pos_] == '<') {
        el.children.emplace_back();
        FERRY_RETURN_IF_ERROR(ParseElement(el.children.back(), depth + 1));
      } else {
        auto lt = s_.find('<', pos_);
        if (lt == std::string_view::npos) lt = s_.size();
        FERRY_RETURN_IF_ERROR(DecodeText(s_.substr(pos_, lt - pos_), el.text));
        pos_ = lt;
      }
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view XmlElement::LocalName() const { return Local(name); }

const XmlElement* XmlElement::Child(std::string_view local_name) const {
  for (const auto& c : children)
    if (Local(c.name) == local_name) return &c;
  return nullptr;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view local_name) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children)
    if (Local(c.name) == local_name) out.push_back(&c);
  return out;
}

std::string XmlElement::ChildText(std::string_view local_name) const {
  const XmlElement* c = Child(local_name);
  return c ? c->text : std::string();
}

Result<XmlElement> ParseXml(std::string_view doc) { return Parser(doc).Run(); }

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace ferry::store
