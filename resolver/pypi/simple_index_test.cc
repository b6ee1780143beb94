#include "resolver/pypi/simple_index.h"

#include <catch2/catch.hpp>

#include "resolver/pypi/core_metadata.h"

using namespace ferry::resolver::pypi;

TEST_CASE("PEP 691 JSON project page") {
  const char* body = R"({"meta": {"api-version": "1.1"}, "name": "tinypkg", "files": [
    {"filename": "tinypkg-1.0-py3-none-any.whl", "url": "../../files/tinypkg-1.0-py3-none-any.whl",
     "hashes": {"sha256": "ABCDEF"}, "requires-python": ">=3.8", "size": 1234,
     "core-metadata": {"sha256": "00ff"}},
    {"filename": "tinypkg-0.9.tar.gz", "url": "https://files.example/tinypkg-0.9.tar.gz",
     "hashes": {}, "yanked": "broken build"},
    {"filename": "tinypkg-0.8-py3-none-any.whl", "url": "/f/t-0.8.whl", "hashes": {}, "yanked": false,
     "dist-info-metadata": true}]})";
  auto page = ParseProjectJson(body, "http://127.0.0.1:8000/simple/tinypkg/");
  REQUIRE(page.ok());
  REQUIRE(page->name == "tinypkg");
  REQUIRE(page->files.size() == 3);
  auto& f0 = page->files[0];
  CHECK(f0.url == "http://127.0.0.1:8000/files/tinypkg-1.0-py3-none-any.whl");
  CHECK(f0.sha256 == "abcdef");
  CHECK(f0.requires_python == ">=3.8");
  CHECK(f0.size == 1234u);
  CHECK(f0.has_core_metadata);
  CHECK(f0.core_metadata_sha256 == "00ff");
  CHECK(page->files[1].yanked);
  CHECK(page->files[1].yanked_reason == "broken build");
  CHECK_FALSE(page->files[2].yanked);
  CHECK(page->files[2].has_core_metadata);
  CHECK(page->files[2].url == "http://127.0.0.1:8000/f/t-0.8.whl");
}

TEST_CASE("PEP 503 HTML project page") {
  const char* body = R"(<!DOCTYPE html><html><body>
    <a href="../../files/tinypkg-1.0-py3-none-any.whl#sha256=abc123" data-requires-python="&gt;=3.8"
       data-core-metadata="sha256=beef">tinypkg-1.0-py3-none-any.whl</a><br/>
    <a href="../../files/tinypkg-0.9-py3-none-any.whl" data-yanked="">tinypkg-0.9-py3-none-any.whl</a>
    <a href='/x/tinypkg-0.8.tar.gz' data-dist-info-metadata="true">tinypkg-0.8.tar.gz</a>
    <abbr>not a link</abbr>
  </body></html>)";
  auto page = ParseProjectHtml(body, "http://h:1/simple/tinypkg/");
  REQUIRE(page.ok());
  REQUIRE(page->files.size() == 3);
  CHECK(page->files[0].url == "http://h:1/files/tinypkg-1.0-py3-none-any.whl");
  CHECK(page->files[0].sha256 == "abc123");
  CHECK(page->files[0].requires_python == ">=3.8");
  CHECK(page->files[0].core_metadata_sha256 == "beef");
  CHECK(page->files[1].yanked);
  CHECK_FALSE(page->files[1].has_core_metadata);
  CHECK(page->files[2].has_core_metadata);
  CHECK(page->files[2].filename == "tinypkg-0.8.tar.gz");
}

TEST_CASE("malformed pages name the URL") {
  auto bad = ParseProjectJson("{not json", "http://h/simple/x/");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("http://h/simple/x/") != std::string::npos);
  auto nofiles = ParseProjectJson(R"({"name": "x"})", "http://h/simple/x/");
  REQUIRE_FALSE(nofiles.ok());
  CHECK(nofiles.status().message().find("files") != std::string::npos);
  auto html = ParseProjectHtml("<a href='x'>unterminated", "http://h/simple/x/");
  REQUIRE_FALSE(html.ok());
}

TEST_CASE("URL resolution") {
  CHECK(ResolveUrl("http://h/simple/a/", "b.whl") == "http://h/simple/a/b.whl");
  CHECK(ResolveUrl("http://h/simple/a/", "../../f/b.whl") == "http://h/f/b.whl");
  CHECK(ResolveUrl("http://h/simple/a/", "/f/b.whl") == "http://h/f/b.whl");
  CHECK(ResolveUrl("https://h/simple/a/", "//cdn/f.whl") == "https://cdn/f.whl");
  CHECK(ResolveUrl("http://h/simple/a/", "http://o/f.whl") == "http://o/f.whl");
  CHECK(ProjectUrl("http://h/simple", "my-pkg") == "http://h/simple/my-pkg/");
}

TEST_CASE("core metadata") {
  const char* text =
      "Metadata-Version: 2.1\r\nName: tinypkg\nVersion: 1.0\nRequires-Python: >=3.8\n"
      "Requires-Dist: tinydep (>=1.0)\nRequires-Dist: extra-dep; extra == \"fast\"\n"
      "Provides-Extra: fast\nSummary: a\n  continued\n\nRequires-Dist: not-a-header\n";
  auto md = ParseCoreMetadata(text, "x.whl");
  REQUIRE(md.ok());
  CHECK(md->name == "tinypkg");
  CHECK(md->version == "1.0");
  CHECK(md->requires_python == ">=3.8");
  REQUIRE(md->requires_dist.size() == 2);
  CHECK(md->requires_dist[1] == "extra-dep; extra == \"fast\"");
  CHECK(md->provides_extra == std::vector<std::string>{"fast"});
  auto bad = ParseCoreMetadata("Name: x\n", "y.whl");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "y.whl: core metadata has no Version field");
}
