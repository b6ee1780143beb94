// Status and Result<T>: the one error type of ferry (no exceptions across module APIs).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ferry {

// Error categories map 1:1 to the process exit codes of SPEC.md §2.
enum class Code {
  kOk = 0,
  kUser = 1,       // bad input, unsolvable, not found
  kUsage = 2,      // bad command line
  kIntegrity = 3,  // hash mismatch, corrupt store
  kNetwork = 4,    // network / remote store error after retries
};

// Status: kOk or an error code with a human message that carries context
// ("extracting numpy-1.26.4-....conda: sha256 mismatch: expected X, got Y").
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status User(std::string m) { return Status(Code::kUser, std::move(m)); }
  static Status Usage(std::string m) { return Status(Code::kUsage, std::move(m)); }
  static Status Integrity(std::string m) { return Status(Code::kIntegrity, std::move(m)); }
  static Status Network(std::string m) { return Status(Code::kNetwork, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  int exit_code() const { return static_cast<int>(code_); }

  // Returns a copy whose message is "<context>: <message>". Ok stays Ok.
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ferry

#define FERRY_CONCAT_INNER(a, b) a##b
#define FERRY_CONCAT(a, b) FERRY_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if it is not ok.
#define FERRY_RETURN_IF_ERROR(expr)             \
  do {                                          \
    ::ferry::Status _st = (expr);               \
    if (!_st.ok()) return _st;                  \
  } while (0)

// FERRY_ASSIGN_OR_RETURN(auto x, ExprReturningResult());
#define FERRY_ASSIGN_OR_RETURN(lhs, expr) \
  FERRY_ASSIGN_OR_RETURN_IMPL(FERRY_CONCAT(_res_, __LINE__), lhs, expr)
#define FERRY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
