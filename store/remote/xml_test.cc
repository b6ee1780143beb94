#include "store/remote/xml.h"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::store;

TEST_CASE("xml: ListObjectsV2 response", "[xml]") {
  const char* doc = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>ferry-test</Name><Prefix>v1/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents><Key>v1/a&amp;b</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>
  <Contents><Key>v1/caf&#xE9;&#233;</Key><Size>0</Size></Contents>
</ListBucketResult>)";
  auto r = ParseXml(doc);
  REQUIRE(r.ok());
  CHECK(r->name == "ListBucketResult");
  CHECK(r->attributes.size() == 1);
  CHECK(r->ChildText("IsTruncated") == "true");
  CHECK(r->ChildText("NextContinuationToken") == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  auto contents = r->Children("Contents");
  REQUIRE(contents.size() == 2);
  CHECK(contents[0]->ChildText("Key") == "v1/a&b");
  CHECK(contents[0]->ChildText("ETag") == "\"abc\"");
  CHECK(contents[1]->ChildText("Key") == "v1/caf\xC3\xA9\xC3\xA9");
  CHECK(r->ChildText("Missing").empty());
}

TEST_CASE("xml: namespaces prefixes, CDATA, comments, self-closing", "[xml]") {
  auto r =
      ParseXml("<a:Root xmlns:a='x'><!-- c --><a:Item/><a:V><![CDATA[<raw>&]]></a:V></a:Root>");
  REQUIRE(r.ok());
  CHECK(r->LocalName() == "Root");
  CHECK(r->Child("Item") != nullptr);
  CHECK(r->ChildText("V") == "<raw>&");
}

TEST_CASE("xml: malformed and hostile input is rejected", "[xml]") {
  CHECK_FALSE(ParseXml("").ok());
  CHECK_FALSE(ParseXml("<a>").ok());
  CHECK_FALSE(ParseXml("<a></b>").ok());
  CHECK_FALSE(ParseXml("<a>&bogus;</a>").ok());
  CHECK_FALSE(ParseXml("<a>&#0;</a>").ok());
  CHECK_FALSE(ParseXml("<a>&#x110000;</a>").ok());
  CHECK_FALSE(ParseXml("<a></a><b></b>").ok());
  CHECK_FALSE(ParseXml("<a x=1></a>").ok());
  CHECK_FALSE(ParseXml("<!DOCTYPE lol [<!ENTITY lol \"lol\">]><a>&lol;</a>").ok());
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  for (int i = 0; i < 100; ++i) deep += "</a>";
  auto d = ParseXml(deep);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().find("64 levels") != std::string::npos);
}

TEST_CASE("xml: escape", "[xml]") { CHECK(XmlEscape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;"); }
