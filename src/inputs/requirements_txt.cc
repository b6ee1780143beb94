#include "src/inputs/requirements_txt.h"

#include <algorithm>
#include <cctype>

#include "src/fs.h"
#include "src/specs/pep440.h"

namespace ferry::inputs {

std::string NormalizePypiName(std::string_view name) { return specs::NormalizeName(name); }

std::string RequirementName(std::string_view req) {
  size_t i = 0;
  while (i < req.size() && (req[i] == ' ' || req[i] == '\t')) ++i;
  size_t b = i;
  if (i >= req.size() || !std::isalnum(static_cast<unsigned char>(req[i]))) return "";
  while (i < req.size() && (std::isalnum(static_cast<unsigned char>(req[i])) || req[i] == '-' ||
                            req[i] == '_' || req[i] == '.')) {
    ++i;
  }
  while (i > b && !std::isalnum(static_cast<unsigned char>(req[i - 1]))) --i;  // ends alnum
  return std::string(req.substr(b, i - b));
}

namespace {

// Lexical path normalization: drops "." segments and folds "dir/..".
std::string NormalizePath(const std::string& path) {
  bool abs = !path.empty() && path[0] == '/';
  std::vector<std::string> parts;
  size_t p = 0;
  while (p <= path.size()) {
    size_t n = path.find('/', p);
    if (n == std::string::npos) n = path.size();
    std::string seg = path.substr(p, n - p);
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!abs) {
        parts.push_back(seg);
      }
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    p = n + 1;
  }
  std::string out = abs ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> SplitWs(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

// Removes a pip comment: '#' at the start of the line or after whitespace.
std::string StripComment(const std::string& line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return line.substr(0, i);
    }
  }
  return line;
}

struct LogicalLine {
  int line;
  std::string text;
};

// pip's join_lines + ignore_comments.
std::vector<LogicalLine> LogicalLines(std::string_view bytes) {
  std::vector<std::string> physical;
  size_t p = 0;
  while (p < bytes.size()) {
    size_t n = bytes.find('\n', p);
    if (n == std::string_view::npos) n = bytes.size();
    std::string l(bytes.substr(p, n - p));
    if (!l.empty() && l.back() == '\r') l.pop_back();
    physical.push_back(std::move(l));
    p = n + 1;
  }
  std::vector<LogicalLine> out;
  std::string pending;
  int pending_line = 0;
  for (size_t i = 0; i < physical.size(); ++i) {
    std::string l = physical[i];
    int number = static_cast<int>(i) + 1;
    bool is_comment = Trim(l).rfind('#', 0) == 0;
    if (!l.empty() && l.back() == '\\' && !is_comment) {
      if (pending.empty() && pending_line == 0) pending_line = number;
      l.pop_back();
      pending += l;
      continue;
    }
    if (pending_line) {
      pending += is_comment ? "" : l;
      out.push_back({pending_line, pending});
      pending.clear();
      pending_line = 0;
    } else {
      out.push_back({number, l});
    }
  }
  if (pending_line) out.push_back({pending_line, pending});
  for (auto& l : out) l.text = Trim(StripComment(l.text));
  return out;
}

class Reader {
 public:
  Reader(const ReadFileFn& read, RequirementsTxt& out) : read_(read), out_(out) {}

  Status File(const std::string& path, bool constraints, std::vector<std::string>& stack) {
    std::string norm = NormalizePath(path);
    if (std::find(stack.begin(), stack.end(), norm) != stack.end()) {
      std::string chain;
      for (const auto& s : stack) chain += s + " -> ";
      return Status::User("include cycle (" + chain + norm + ")");
    }
    FERRY_ASSIGN_OR_RETURN(std::string bytes, read_(norm));
    if (std::find(out_.files.begin(), out_.files.end(), norm) == out_.files.end()) {
      out_.files.push_back(norm);
    }
    stack.push_back(norm);
    for (const LogicalLine& l : LogicalLines(bytes)) {
      if (l.text.empty()) continue;
      std::string where = norm + ":" + std::to_string(l.line);
      Status st = Line(norm, l, constraints, stack);
      if (!st.ok()) {
        // Errors are marked with a leading \x01 once they carry a file:line (the innermost
        // one); ReadRequirementsTxt strips the mark.
        if (st.message().rfind("\x01", 0) == 0) return st;
        return Status(st.code(), "\x01" + where + ": " + st.message());
      }
    }
    stack.pop_back();
    return Status::Ok();
  }

 private:
  Result<std::string> Include(const std::string& current, const std::string& target) {
    if (target.find("://") != std::string::npos) {
      return Status::User("remote includes are not supported ('" + target + "')");
    }
    if (!target.empty() && target[0] == '/') return target;
    std::string dir = current.find('/') == std::string::npos ? "" : DirName(current);
    return JoinPath(dir, target);
  }

  // Value of an option: "--opt=value", "--opt value", "-ovalue", "-o value".
  Result<std::string> OptionValue(const std::vector<std::string>& toks, size_t& i,
                                  const std::string& opt) {
    const std::string& t = toks[i];
    std::string value;
    if (t.size() > opt.size() && t.compare(0, opt.size(), opt) == 0) {
      value = t.substr(opt.size());
      if (opt.size() > 2 && value[0] == '=') value = value.substr(1);
      else if (opt.size() > 2) return Status::User("unknown option '" + t + "'");
    } else if (i + 1 < toks.size()) {
      value = toks[++i];
    }
    if (value.empty()) return Status::User("option '" + opt + "' needs a value");
    return value;
  }

  static bool Matches(const std::string& tok, const char* short_opt, const char* long_opt) {
    auto is = [&](const char* o) {
      if (!o) return false;
      std::string s(o);
      if (tok == s) return true;
      if (tok.compare(0, s.size(), s) != 0) return false;
      if (s.size() == 2) return true;  // -rfile
      return tok.size() > s.size() && tok[s.size()] == '=';
    };
    return is(short_opt) || is(long_opt);
  }

  Status Options(const std::string& file, const std::vector<std::string>& toks,
                 bool constraints, std::vector<std::string>& stack) {
    for (size_t i = 0; i < toks.size(); ++i) {
      const std::string& t = toks[i];
      if (Matches(t, "-r", "--requirement") || Matches(t, "-c", "--constraint")) {
        bool is_c = Matches(t, "-c", "--constraint");
        std::string opt = t.rfind("--", 0) == 0 ? (is_c ? "--constraint" : "--requirement")
                                                : (is_c ? "-c" : "-r");
        FERRY_ASSIGN_OR_RETURN(std::string target, OptionValue(toks, i, opt));
        FERRY_ASSIGN_OR_RETURN(std::string path, Include(file, target));
        Status st = File(path, constraints || is_c, stack);
        if (!st.ok()) {
          if (st.message().rfind("\x01", 0) == 0) return st;
          return Status(st.code(), opt + " " + target + ": " + st.message());
        }
      } else if (Matches(t, "-i", "--index-url")) {
        FERRY_ASSIGN_OR_RETURN(out_.index_url,
                               OptionValue(toks, i, t.rfind("--", 0) == 0 ? "--index-url" : "-i"));
      } else if (Matches(t, nullptr, "--extra-index-url")) {
        FERRY_ASSIGN_OR_RETURN(std::string url, OptionValue(toks, i, "--extra-index-url"));
        if (std::find(out_.extra_index_urls.begin(), out_.extra_index_urls.end(), url) ==
            out_.extra_index_urls.end()) {
          out_.extra_index_urls.push_back(url);
        }
      } else if (t == "--no-index") {
        out_.no_index = true;
      } else if (t == "--pre") {
        out_.pre = true;
      } else if (Matches(t, nullptr, "--trusted-host") || Matches(t, nullptr, "--only-binary") ||
                 Matches(t, nullptr, "--use-feature")) {
        std::string opt = t.substr(0, t.find('='));
        FERRY_ASSIGN_OR_RETURN(std::string ignored, OptionValue(toks, i, opt));
        (void)ignored;
      } else if (t == "--prefer-binary" || t == "--require-hashes") {
        // accepted: ferry resolves wheels only and always records hashes
      } else if (Matches(t, "-e", "--editable")) {
        return Status::User("-e/--editable requirements are not supported");
      } else if (Matches(t, "-f", "--find-links")) {
        return Status::User("-f/--find-links is not supported (use --index-url)");
      } else if (Matches(t, nullptr, "--no-binary")) {
        return Status::User("--no-binary is not supported (ferry installs wheels only)");
      } else {
        return Status::User("unknown option '" + t + "'");
      }
    }
    return Status::Ok();
  }

  Status Line(const std::string& file, const LogicalLine& l, bool constraints,
              std::vector<std::string>& stack) {
    if (l.text[0] == '-') return Options(file, SplitWs(l.text), constraints, stack);
    // pip's break_args_options: the requirement ends at the first token starting with '-'.
    std::vector<std::string> toks = SplitWs(l.text);
    std::string req;
    size_t i = 0;
    for (; i < toks.size() && toks[i][0] != '-'; ++i) req += (req.empty() ? "" : " ") + toks[i];
    PypiRequirement r;
    r.origin = file + ":" + std::to_string(l.line);
    for (; i < toks.size(); ++i) {
      if (Matches(toks[i], nullptr, "--hash")) {
        FERRY_ASSIGN_OR_RETURN(std::string h, OptionValue(toks, i, "--hash"));
        size_t colon = h.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == h.size()) {
          return Status::User("--hash must be ALGORITHM:HEXDIGEST, got '" + h + "'");
        }
        std::string algo = h.substr(0, colon);
        std::string hex = h.substr(colon + 1);
        if (algo != "sha256" && algo != "sha384" && algo != "sha512") {
          return Status::User("unsupported hash algorithm '" + algo + "' (use sha256)");
        }
        for (char& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (hex.find_first_not_of("0123456789abcdef") != std::string::npos ||
            (algo == "sha256" && hex.size() != 64)) {
          return Status::User("malformed " + algo + " digest '" + h.substr(colon + 1) + "'");
        }
        r.hashes.push_back(algo + ":" + hex);
      } else {
        return Status::User("option '" + toks[i] + "' is not supported on a requirement line");
      }
    }
    if (req.empty()) return Status::User("missing requirement before options");
    std::string name = RequirementName(req);
    bool looks_like_path = req[0] == '.' || req[0] == '/' || req[0] == '~' ||
                           req.find("://") != std::string::npos;
    if (name.empty() || (looks_like_path && req.find(" @ ") == std::string::npos &&
                         req.find('@') == std::string::npos)) {
      if (looks_like_path || req.find(".whl") != std::string::npos) {
        return Status::User("'" + req +
                            "': paths and URLs need a name: write 'NAME @ URL'");
      }
      return Status::User("invalid requirement '" + req + "'");
    }
    // After the name: extras, a specifier, '@ url' or '; markers' (or nothing).
    std::string rest = Trim(std::string_view(req).substr(req.find(name) + name.size()));
    if (!rest.empty() && std::string("[<>=!~;@(").find(rest[0]) == std::string::npos) {
      return Status::User("invalid requirement '" + req + "'");
    }
    r.requirement = req;
    r.name = NormalizePypiName(name);
    (constraints ? out_.constraints : out_.requirements).push_back(std::move(r));
    return Status::Ok();
  }

  const ReadFileFn& read_;
  RequirementsTxt& out_;
};

}  // namespace

Result<RequirementsTxt> ReadRequirementsTxt(const std::string& path, const ReadFileFn& read) {
  RequirementsTxt out;
  std::vector<std::string> stack;
  Status st = Reader(read, out).File(path, false, stack);
  if (!st.ok()) {
    std::string m = st.message();
    if (m.rfind("\x01", 0) == 0) m = m.substr(1);
    return Status(st.code(), m);
  }
  return out;
}

}  // namespace ferry::inputs
