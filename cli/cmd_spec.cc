// `ferry spec sort|match --kind conda|pep440`: plumbing over the version and spec value types of
// src/specs (SPEC.md §2). See docs/spec-plumbing.md.
//
//   ferry spec sort --kind conda < versions.txt      ascending, one per line (stable for equal)
//   ferry spec match --kind pep440 '>=1.0,<2' 1.5 2.0  prints true / false per VERSION
//
// conda SPECs are read like the version part of a match spec: "1.2" means "1.2.*", "==1.2" is
// exact, ">=1.2,<2|3.*" etc. PEP 440 SPECs are specifier sets; pre-releases are excluded unless
// the set names one or --pre is given. Invalid input: exit 1 with a message naming the input and
// position (and the stdin line for sort).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/context.h"
#include "src/specs/conda_version.h"
#include "src/specs/conda_version_spec.h"
#include "src/specs/match_spec.h"
#include "src/specs/pep440.h"

namespace ferry::cli {
namespace {

struct SpecOptions {
  std::string kind = "conda";
  std::string spec;
  std::vector<std::string> versions;
  bool pre = false;
};

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

template <typename V>
int SortLines(Context& ctx, const std::vector<std::string>& lines) {
  std::vector<V> parsed;
  std::vector<std::string> texts;
  parsed.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view t = TrimLine(lines[i]);
    if (t.empty()) continue;
    auto v = V::Parse(t);
    if (!v.ok()) {
      return ReportError(ctx, v.status().WithContext("stdin line " + std::to_string(i + 1)));
    }
    parsed.push_back(std::move(v).value());
    texts.emplace_back(t);
  }
  std::vector<size_t> order(parsed.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return parsed[a].Compare(parsed[b]) < 0; });
  if (ctx.opts.json) {
    nlohmann::json out = nlohmann::json::array();
    for (size_t i : order) out.push_back(texts[i]);
    std::cout << out.dump() << "\n";
  } else {
    std::string buf;
    for (size_t i : order) {
      buf += texts[i];
      buf += '\n';
    }
    std::cout << buf;
  }
  return 0;
}

int RunSort(Context& ctx, const SpecOptions& opts) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(std::cin, line)) lines.push_back(std::move(line));
  if (opts.kind == "conda") return SortLines<specs::Version>(ctx, lines);
  return SortLines<specs::Pep440Version>(ctx, lines);
}

int RunMatch(Context& ctx, const SpecOptions& opts) {
  std::vector<bool> results;
  if (opts.kind == "conda") {
    auto spec = specs::ParseMatchSpecVersion(opts.spec, /*has_build=*/false);
    if (!spec.ok()) return ReportError(ctx, spec.status());
    for (const auto& text : opts.versions) {
      auto v = specs::Version::Parse(text);
      if (!v.ok()) return ReportError(ctx, v.status());
      results.push_back(spec->Matches(*v));
    }
  } else {
    auto spec = specs::SpecifierSet::Parse(opts.spec);
    if (!spec.ok()) return ReportError(ctx, spec.status());
    for (const auto& text : opts.versions) {
      auto v = specs::Pep440Version::Parse(text);
      if (!v.ok()) return ReportError(ctx, v.status());
      results.push_back(spec->Contains(*v, opts.pre));
    }
  }
  if (ctx.opts.json) {
    nlohmann::json out = nlohmann::json::array();
    for (bool b : results) out.push_back(b);
    std::cout << out.dump() << "\n";
  } else {
    for (bool b : results) std::cout << (b ? "true" : "false") << "\n";
  }
  return 0;
}

}  // namespace

void RegisterSpec(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<SpecOptions>();
  auto* spec = app.add_subcommand("spec", "Plumbing: sort versions and match version specs");
  spec->require_subcommand(1);

  auto* sort = spec->add_subcommand(
      "sort", "Sort versions read one per line from stdin (ascending, stable for equal versions)");
  sort->add_option("--kind", opts->kind, "Version scheme: conda or pep440")
      ->check(CLI::IsMember({"conda", "pep440"}))
      ->default_str("conda");
  sort->callback([&ctx, opts] { ctx.exit_code = RunSort(ctx, *opts); });

  auto* match = spec->add_subcommand(
      "match", "Print true/false per VERSION for whether SPEC matches it");
  match->add_option("--kind", opts->kind, "Version scheme: conda or pep440")
      ->check(CLI::IsMember({"conda", "pep440"}))
      ->default_str("conda");
  match->add_flag("--pre", opts->pre, "pep440: allow pre-releases even if SPEC names none");
  match->add_option("SPEC", opts->spec, "conda version spec or PEP 440 specifier set")->required();
  match->add_option("VERSION", opts->versions, "Versions to test")->required();
  match->callback([&ctx, opts] { ctx.exit_code = RunMatch(ctx, *opts); });
}

}  // namespace ferry::cli
