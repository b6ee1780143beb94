#include "store/materialize/activate.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "store/materialize/fsutil.h"

extern char** environ;

namespace ferry::store {

namespace {

std::vector<std::string> ListSorted(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(dir + "/" + n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

void ApplyJsonVars(const nlohmann::json& j, std::map<std::string, std::string>& env) {
  if (!j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) env[it.key()] = it.value().get<std::string>();
    else if (it.value().is_number() || it.value().is_boolean()) env[it.key()] = it.value().dump();
  }
}

std::map<std::string, std::string> ParseEnv0(std::string_view blob) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < blob.size()) {
    size_t z = blob.find('\0', pos);
    if (z == std::string_view::npos) z = blob.size();
    std::string_view kv = blob.substr(pos, z - pos);
    pos = z + 1;
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return out;
}

constexpr const char* kSplit = "__FERRY_ACTIVATE_SPLIT__";

Status RunActivateScripts(const std::vector<std::string>& scripts,
                          std::map<std::string, std::string>& env) {
  std::string program =
      "env -0; printf '\\000%s\\000' " + std::string(kSplit) +
      "; for __ferry_script in \"$@\"; do . \"$__ferry_script\" 1>&2 || exit 97; done; "
      "unset __ferry_script; env -0";
  std::vector<std::string> args = {"/bin/sh", "-c", program, "sh"};
  args.insert(args.end(), scripts.begin(), scripts.end());
  std::vector<std::string> env_strs;
  for (const auto& [k, v] : env) env_strs.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strs) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe for", "activation scripts");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return ErrnoStatus("fork for", "activation scripts");
  }
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::execve("/bin/sh", argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  std::string names;
  for (const auto& s : scripts) names += (names.empty() ? "" : ", ") + s;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
    return Status::User("activation script failed (" + names + "): /bin/sh exited with status " +
                        std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128));
  std::string marker = std::string("\0", 1) + kSplit + std::string("\0", 1);
  size_t at = out.find(marker);
  if (at == std::string::npos)
    return Status::User("activation scripts (" + names + "): could not read the environment");
  auto before = ParseEnv0(std::string_view(out).substr(0, at));
  auto after = ParseEnv0(std::string_view(out).substr(at + marker.size()));
  static const char* kIgnore[] = {"_", "SHLVL", "PWD", "OLDPWD"};
  auto ignored = [](const std::string& k) {
    for (const char* i : kIgnore)
      if (k == i) return true;
    return false;
  };
  for (const auto& [k, v] : after) {
    if (ignored(k)) continue;
    auto it = before.find(k);
    if (it == before.end() || it->second != v) env[k] = v;
  }
  for (const auto& [k, v] : before) {
    if (!ignored(k) && !after.count(k)) env.erase(k);
  }
  return Status::Ok();
}

}  // namespace

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const char* eq = std::strchr(*e, '=');
    if (!eq || eq == *e) continue;
    out.emplace(std::string(*e, static_cast<size_t>(eq - *e)), std::string(eq + 1));
  }
  return out;
}

Result<std::map<std::string, std::string>> ActivatedEnvironment(
    const std::string& prefix, std::map<std::string, std::string> env) {
  auto path = env.find("PATH");
  std::string old = path == env.end() || path->second.empty() ? "/usr/local/bin:/usr/bin:/bin"
                                                                : path->second;
  env["PATH"] = prefix + "/bin:" + old;
  env["CONDA_PREFIX"] = prefix;
  env["CONDA_DEFAULT_ENV"] = prefix;
  env["CONDA_SHLVL"] = "1";
  if (auto state = ReadWholeFile(prefix + "/conda-meta/state"); state.ok()) {
    auto j = nlohmann::json::parse(*state, nullptr, false);
    if (j.is_object() && j.contains("env_vars")) ApplyJsonVars(j["env_vars"], env);
  }
  for (const auto& f : ListSorted(prefix + "/etc/conda/env_vars.d", ".json")) {
    auto text = ReadWholeFile(f);
    if (!text.ok()) continue;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return Status::User("activation: " + f + " is not valid JSON");
    ApplyJsonVars(j, env);
  }
  auto scripts = ListSorted(prefix + "/etc/conda/activate.d", ".sh");
  if (!scripts.empty()) FERRY_RETURN_IF_ERROR(RunActivateScripts(scripts, env));
  return env;
}

}  // namespace ferry::store
