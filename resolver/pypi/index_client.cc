#include "resolver/pypi/index_client.h"

namespace ferry::resolver::pypi {

namespace {
bool IsFileUrl(const std::string& url) { return url.rfind("file://", 0) == 0; }
}  // namespace

IndexClient::IndexClient(HttpClient& http, FileSystem& fs, Reporter& reporter, IndexOptions options)
    : http_(http), fs_(fs), reporter_(reporter), options_(std::move(options)) {}

HttpRequest IndexClient::PageRequest(const std::string& index_url, const std::string& name) const {
  HttpRequest r;
  r.url = ProjectUrl(index_url, name);
  r.headers.emplace_back("Accept", kSimpleAccept);
  r.use_cache = !IsFileUrl(index_url);
  return r;
}

Status IndexClient::Prefetch(const std::vector<std::string>& names) {
  // Pending names, and for each the position in the index list being tried.
  std::vector<std::string> pending;
  for (const auto& n : names)
    if (!pages_.count(n) && std::find(pending.begin(), pending.end(), n) == pending.end())
      pending.push_back(n);
  if (pending.empty()) return Status::Ok();
  if (options_.index_urls.empty())
    return Status::Usage("no PyPI index configured: pass --index-url or set FERRY_INDEX_URL");

  std::map<std::string, Entry> found;
  for (size_t index_pos = 0; index_pos < options_.index_urls.size() && !pending.empty();
       ++index_pos) {
    const std::string& index_url = options_.index_urls[index_pos];
    std::vector<Result<HttpResponse>> responses;
    std::vector<std::string> content_types;
    if (IsFileUrl(index_url)) {
      // A directory index on disk: <root>/<name>/index.json (PEP 691) or index.html (PEP 503).
      std::string root = index_url.substr(7);
      for (const auto& name : pending) {
        std::string dir = JoinPath(root, name);
        auto json = fs_.ReadFile(JoinPath(dir, "index.json"));
        HttpResponse resp;
        if (json.ok()) {
          resp.status = 200;
          resp.body = std::move(json).value();
          resp.headers.emplace_back("content-type", "application/vnd.pypi.simple.v1+json");
        } else if (auto html = fs_.ReadFile(JoinPath(dir, "index.html")); html.ok()) {
          resp.status = 200;
          resp.body = std::move(html).value();
          resp.headers.emplace_back("content-type", "text/html");
        } else {
          resp.status = 404;
        }
        responses.push_back(std::move(resp));
      }
    } else {
      std::vector<HttpRequest> reqs;
      for (const auto& name : pending) reqs.push_back(PageRequest(index_url, name));
      requests_ += static_cast<int>(reqs.size());
      responses = http_.SendAll(reqs);
    }
    std::vector<std::string> still;
    for (size_t i = 0; i < pending.size(); ++i) {
      const std::string& name = pending[i];
      std::string page_url = ProjectUrl(index_url, name);
      if (!responses[i].ok()) {
        return responses[i].status().WithContext("fetching project " + name + " from index " +
                                                 RedactUrl(index_url));
      }
      const HttpResponse& resp = responses[i].value();
      if (resp.status == 404 || resp.status == 410) {
        still.push_back(name);
        continue;
      }
      if (resp.status != 200) {
        return Status::Network("index " + RedactUrl(index_url) + ": project " + name + ": HTTP " +
                               std::to_string(resp.status));
      }
      auto page = ParseProjectPage(resp.body, resp.Header("content-type"), RedactUrl(page_url));
      if (!page.ok()) return page.status();
      auto& entry = found[name];
      if (!entry.page) {
        entry.page = std::move(page).value();
        entry.source = index_url;
      } else {
        for (auto& f : page->files) entry.page->files.push_back(std::move(f));
      }
      if (options_.merge_indexes) still.push_back(name);
    }
    pending = std::move(still);
  }
  for (auto& name : pending) found.try_emplace(name);  // in no index
  for (auto& [name, entry] : found) pages_[name] = std::move(entry);
  return Status::Ok();
}

Result<const ProjectPage*> IndexClient::Page(const std::string& name) {
  FERRY_RETURN_IF_ERROR(Prefetch({name}));
  const Entry& e = pages_.at(name);
  return e.page ? &*e.page : static_cast<const ProjectPage*>(nullptr);
}

std::string IndexClient::SourceIndex(const std::string& name) const {
  auto it = pages_.find(name);
  return it == pages_.end() ? std::string() : it->second.source;
}

}  // namespace ferry::resolver::pypi
