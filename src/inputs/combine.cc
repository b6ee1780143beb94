#include "src/inputs/combine.h"

#include <algorithm>
#include <map>

#include "src/digest.h"
#include "src/fs.h"
#include "src/inputs/environment_yml.h"
#include "src/inputs/pyproject.h"
#include "src/flow/tokenizer.h"
#include "src/specs/match_spec.h"

namespace ferry::inputs {

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

bool IsPythonSpec(const std::string& spec) {
  std::string s = spec;
  size_t colons = s.rfind("::");
  if (colons != std::string::npos) s = s.substr(colons + 2);
  if (s.rfind("python", 0) != 0) return false;
  return s.size() == 6 || std::string(" =<>!~[").find(s[6]) != std::string::npos;
}

std::string PythonSpecFor(const std::string& python) {
  if (python.empty()) return "";
  if (std::isdigit(static_cast<unsigned char>(python[0]))) {
    return python.back() == '*' ? "python " + python : "python " + python + ".*";
  }
  return "python " + python;
}

Status ValidateConda(const std::string& spec, const std::string& where) {
  auto parsed = specs::MatchSpec::Parse(spec);
  if (!parsed.ok()) {
    return Status::User(where + ": invalid conda spec '" + spec + "': " +
                        parsed.status().message());
  }
  return Status::Ok();
}

class Combiner {
 public:
  Combiner(const InputSpec& spec, const InputReaders& readers) : spec_(spec), readers_(readers) {}

  Result<CombinedInputs> Run() {
    std::vector<std::pair<std::string, InputKind>> kinds;
    int flows = 0;
    for (const std::string& p : spec_.paths) {
      FERRY_ASSIGN_OR_RETURN(InputKind k, DetectInputKind(p));
      kinds.emplace_back(p, k);
      flows += k == InputKind::kFlow;
    }
    if (flows > 0) {
      if (kinds.size() > 1 || !spec_.conda.empty() || !spec_.pypi.empty() ||
          !spec_.python.empty() || !spec_.extras.empty()) {
        return Status::Usage(
            "a flow file must be the only input: put its requirements in its decorators (no "
            "other input files, --conda, --pypi, --python or --extra)");
      }
      return Flow(kinds[0].first);
    }
    for (const auto& [path, kind] : kinds) {
      switch (kind) {
        case InputKind::kRequirementsTxt: FERRY_RETURN_IF_ERROR(Requirements(path)); break;
        case InputKind::kEnvironmentYml: FERRY_RETURN_IF_ERROR(EnvironmentFile(path)); break;
        case InputKind::kPyProject: FERRY_RETURN_IF_ERROR(PyProjectFile(path)); break;
        case InputKind::kFlow: break;
      }
    }
    if (!spec_.extras.empty() && !saw_pyproject_) {
      return Status::Usage("--extra selects optional dependencies of a pyproject.toml input, "
                           "and none was given");
    }
    for (const std::string& c : spec_.conda) {
      FERRY_RETURN_IF_ERROR(ValidateConda(c, "--conda"));
      AddUnique(env_.requirements.conda, c);
    }
    for (const std::string& p : spec_.pypi) {
      if (RequirementName(p).empty()) {
        return Status::User("--pypi: invalid requirement '" + p + "'");
      }
      AddUnique(env_.requirements.pypi, p);
    }
    ApplyConstraints();
    // python
    RequirementSet& req = env_.requirements;
    bool has_python_spec = std::any_of(req.conda.begin(), req.conda.end(), IsPythonSpec);
    if (!spec_.python.empty()) {
      req.conda.erase(std::remove_if(req.conda.begin(), req.conda.end(), IsPythonSpec),
                      req.conda.end());
      std::string ps = PythonSpecFor(spec_.python);
      FERRY_RETURN_IF_ERROR(ValidateConda(ps, "--python"));
      req.conda.push_back(ps);
      req.python = spec_.python;
    } else if (!python_.empty()) {
      req.python = python_;
    } else if (!requires_python_.empty() && !has_python_spec) {
      std::string ps = "python " + requires_python_;
      ps.erase(std::remove(ps.begin() + 7, ps.end(), ' '), ps.end());
      if (ValidateConda(ps, "").ok()) {
        req.conda.push_back(ps);
      } else {
        out_.warnings.push_back("requires-python '" + requires_python_ +
                                "' is not a conda version spec; ignored (use --python)");
      }
    }
    std::sort(req.conda.begin(), req.conda.end());
    std::sort(req.pypi.begin(), req.pypi.end());
    if (req.conda.empty() && req.pypi.empty()) {
      return Status::User("nothing to resolve: the inputs name no conda or PyPI requirement");
    }
    out_.environments.push_back(env_);
    return std::move(out_);
  }

 private:
  Result<std::string> Read(const std::string& path) {
    FERRY_ASSIGN_OR_RETURN(std::string bytes, readers_.read(path));
    FERRY_RETURN_IF_ERROR(flow::CheckUtf8(bytes, path));
    bool known = std::any_of(out_.inputs.begin(), out_.inputs.end(),
                             [&](const lock::LockInput& i) { return i.path == path; });
    if (!known) out_.inputs.push_back({path, Sha256Hex(bytes)});
    return bytes;
  }

  Result<CombinedInputs> Flow(const std::string& path) {
    FERRY_ASSIGN_OR_RETURN(std::string bytes, Read(path));
    FERRY_ASSIGN_OR_RETURN(flow::FlowFile f, flow::ReadFlow(bytes, path));
    out_.flow_file = path;
    out_.flow_class = f.flow_class;
    for (const flow::FlowEnvironment& fe : f.environments) {
      for (const std::string& c : fe.requirements.conda) {
        // name the first step using it for context
        FERRY_RETURN_IF_ERROR(ValidateConda(c, path + ": step '" + fe.steps.front() + "'"));
      }
      InputEnvironment e;
      e.requirements = fe.requirements;
      e.extra_index_urls = fe.requirements.indexes;
      e.requirements.indexes.clear();
      e.steps = fe.steps;
      out_.environments.push_back(std::move(e));
    }
    out_.steps = f.steps;
    return std::move(out_);
  }

  Status SetIndexUrl(const std::string& url, const std::string& where) {
    if (url.empty()) return Status::Ok();
    if (!env_.index_url.empty() && env_.index_url != url) {
      return Status::User(where + ": a second primary index '" + url + "' (already '" +
                          env_.index_url + "'); use --extra-index-url for more indexes");
    }
    env_.index_url = url;
    return Status::Ok();
  }

  Status Requirements(const std::string& path) {
    ReadFileFn read = [this](const std::string& p) { return Read(p); };
    FERRY_ASSIGN_OR_RETURN(RequirementsTxt r, ReadRequirementsTxt(path, read));
    if (r.no_index) {
      return Status::User(path + ": --no-index is not supported (ferry resolves from an index)");
    }
    FERRY_RETURN_IF_ERROR(SetIndexUrl(r.index_url, path));
    for (const auto& u : r.extra_index_urls) AddUnique(env_.extra_index_urls, u);
    for (const auto& q : r.requirements) {
      AddUnique(env_.requirements.pypi, q.requirement);
      direct_names_.push_back(q.name);
    }
    for (const auto& c : r.constraints) constraints_.push_back(c);
    return Status::Ok();
  }

  Status EnvironmentFile(const std::string& path) {
    if (!readers_.parse_yaml) {
      return Status::User(path + ": environment.yml inputs are not supported in this build");
    }
    FERRY_ASSIGN_OR_RETURN(std::string bytes, Read(path));
    FERRY_ASSIGN_OR_RETURN(TomlValue doc, readers_.parse_yaml(bytes, path));
    FERRY_ASSIGN_OR_RETURN(EnvironmentYml y, InterpretEnvironmentYml(doc, path));
    for (const auto& c : y.channels) AddUnique(env_.requirements.channels, c);
    for (const auto& c : y.conda) {
      FERRY_RETURN_IF_ERROR(ValidateConda(c, path));
      if (c == "pip") continue;  // pip itself is only how conda installs the pip list
      AddUnique(env_.requirements.conda, c);
    }
    for (const auto& p : y.pypi) {
      AddUnique(env_.requirements.pypi, p);
      direct_names_.push_back(NormalizePypiName(RequirementName(p)));
    }
    FERRY_RETURN_IF_ERROR(SetIndexUrl(y.index_url, path));
    for (const auto& u : y.extra_index_urls) AddUnique(env_.extra_index_urls, u);
    if (!y.python.empty()) {
      if (!python_.empty() && python_ != y.python) {
        return Status::User(path + ": python " + y.python + " conflicts with python " + python_ +
                            " from another input");
      }
      python_ = y.python;
    }
    return Status::Ok();
  }

  Status PyProjectFile(const std::string& path) {
    FERRY_ASSIGN_OR_RETURN(std::string bytes, Read(path));
    FERRY_ASSIGN_OR_RETURN(PyProject p, ReadPyProject(bytes, path));
    FERRY_ASSIGN_OR_RETURN(std::vector<std::string> deps,
                           SelectDependencies(p, spec_.extras, path));
    saw_pyproject_ = true;
    for (const auto& d : deps) {
      AddUnique(env_.requirements.pypi, d);
      direct_names_.push_back(NormalizePypiName(RequirementName(d)));
    }
    if (!p.requires_python.empty()) requires_python_ = p.requires_python;
    return Status::Ok();
  }

  void ApplyConstraints() {
    for (const PypiRequirement& c : constraints_) {
      if (std::find(direct_names_.begin(), direct_names_.end(), c.name) != direct_names_.end()) {
        AddUnique(env_.requirements.pypi, c.requirement);
      } else {
        out_.warnings.push_back(c.origin + ": constraint '" + c.requirement +
                                "' does not name a direct requirement; ferry applies "
                                "constraints to direct requirements only, so it is ignored");
      }
    }
  }

  const InputSpec& spec_;
  const InputReaders& readers_;
  CombinedInputs out_;
  InputEnvironment env_;
  std::vector<PypiRequirement> constraints_;
  std::vector<std::string> direct_names_;
  std::string python_;
  std::string requires_python_;
  bool saw_pyproject_ = false;
};

}  // namespace

Result<InputKind> DetectInputKind(std::string_view path) {
  std::string base = BaseName(path);
  std::string lower;
  for (char c : base) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (EndsWith(lower, ".py")) return InputKind::kFlow;
  if (EndsWith(lower, ".yml") || EndsWith(lower, ".yaml")) return InputKind::kEnvironmentYml;
  if (EndsWith(lower, ".toml")) return InputKind::kPyProject;
  if (EndsWith(lower, ".txt") || EndsWith(lower, ".in") || lower.rfind("requirements", 0) == 0) {
    return InputKind::kRequirementsTxt;
  }
  return Status::Usage("cannot tell what kind of input '" + std::string(path) +
                       "' is (expected a flow file *.py, requirements*.txt, environment.yml or "
                       "pyproject.toml)");
}

Result<CombinedInputs> CombineInputs(const InputSpec& spec, const InputReaders& readers) {
  for (const auto* list : {&spec.conda, &spec.pypi, &spec.extras}) {
    for (const auto& s : *list) FERRY_RETURN_IF_ERROR(flow::CheckUtf8(s, "command line"));
  }
  FERRY_RETURN_IF_ERROR(flow::CheckUtf8(spec.python, "command line"));
  if (spec.paths.empty() && spec.conda.empty() && spec.pypi.empty()) {
    return Status::Usage("nothing to resolve: give input files or --conda/--pypi requirements");
  }
  return Combiner(spec, readers).Run();
}

RequirementSet FinalizeRequirements(const InputEnvironment& env, const std::string& platform,
                                    const std::vector<std::string>& default_channels,
                                    const std::vector<std::string>& default_indexes) {
  RequirementSet r = env.requirements;
  r.platform = platform;
  if (r.channels.empty()) r.channels = default_channels;
  r.indexes.clear();
  if (!r.pypi.empty()) {
    if (!env.index_url.empty()) {
      r.indexes.push_back(env.index_url);
      for (size_t i = 1; i < default_indexes.size(); ++i) AddUnique(r.indexes, default_indexes[i]);
    } else {
      for (const auto& u : default_indexes) AddUnique(r.indexes, u);
    }
    for (const auto& u : env.extra_index_urls) AddUnique(r.indexes, u);
  }
  return r;
}

std::vector<lock::LockStep> StepMap(
    const CombinedInputs& inputs,
    const std::vector<std::map<std::string, std::string>>& req_ids) {
  std::vector<lock::LockStep> out;
  for (const flow::FlowStep& s : inputs.steps) {
    lock::LockStep ls;
    ls.name = s.name;
    switch (s.kind) {
      case flow::StepEnvKind::kEnvironment:
        ls.kind = lock::StepKind::kEnvironment;
        if (s.env_index >= 0 && static_cast<size_t>(s.env_index) < req_ids.size()) {
          ls.req_ids = req_ids[s.env_index];
        }
        break;
      case flow::StepEnvKind::kDisabled: ls.kind = lock::StepKind::kDisabled; break;
      case flow::StepEnvKind::kNamed:
        ls.kind = lock::StepKind::kNamed;
        ls.named_env = s.named_env;
        ls.fetch_at_exec = s.fetch_at_exec;
        break;
      case flow::StepEnvKind::kNone: ls.kind = lock::StepKind::kNone; break;
    }
    out.push_back(std::move(ls));
  }
  return out;
}

}  // namespace ferry::inputs
