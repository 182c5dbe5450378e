// A small recursive-descent parser for conditions, and a scanner for
// "{{ path }}" templates. Expressions are short and written by the operator,
// so clarity beats speed; depth is bounded so a hostile file cannot blow
// the stack.
#include "runtime/base/expression.hpp"

#include <cctype>

namespace keel::wf {

namespace {

constexpr int max_depth = 64;

bool valid_path(const std::string& p) {
  if (p.empty() || p.front() == '.' || p.back() == '.') return false;
  for (char c : p)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  return p.find("..") == std::string::npos;
}

bool truthy(const nlohmann::json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get_ref<const std::string&>().empty();
  return true;
}

struct token {
  enum kind { end, path, number, string, kw_true, kw_false, kw_null, op, lparen, rparen } k = end;
  std::string text;
  std::size_t pos = 0;
};

class lexer {
 public:
  explicit lexer(const std::string& s) : s_(s) {}
  result<token> next() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    token t;
    t.pos = i_;
    if (i_ >= s_.size()) return t;
    char c = s_[i_];
    if (c == '(') { ++i_; t.k = token::lparen; return t; }
    if (c == ')') { ++i_; t.k = token::rparen; return t; }
    for (const char* o : {"==", "!=", "<=", ">=", "&&", "||"}) {
      if (s_.compare(i_, 2, o) == 0) {
        i_ += 2;
        t.k = token::op;
        t.text = o;
        return t;
      }
    }
    if (c == '<' || c == '>' || c == '!') {
      ++i_;
      t.k = token::op;
      t.text = std::string(1, c);
      return t;
    }
    if (c == '\'' || c == '"') {
      auto close = s_.find(c, i_ + 1);
      if (close == std::string::npos) return fail("unterminated string");
      t.k = token::string;
      t.text = s_.substr(i_ + 1, close - i_ - 1);
      i_ = close + 1;
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && i_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
      auto start = i_++;
      while (i_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.')) ++i_;
      t.k = token::number;
      t.text = s_.substr(start, i_ - start);
      return t;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      auto start = i_;
      while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '.' || s_[i_] == '-')) ++i_;
      t.text = s_.substr(start, i_ - start);
      if (t.text == "true") t.k = token::kw_true;
      else if (t.text == "false") t.k = token::kw_false;
      else if (t.text == "null") t.k = token::kw_null;
      else if (!valid_path(t.text)) return fail("'" + t.text + "' is not a valid path");
      else t.k = token::path;
      return t;
    }
    return fail(std::string("unexpected character '") + c + "'");
  }

 private:
  error fail(const std::string& what) const {
    return error{errc::bad_request, "condition '" + s_ + "' at " + std::to_string(i_ + 1) + ": " + what};
  }
  const std::string& s_;
  std::size_t i_ = 0;
};

// Parses and (when ctx is non-null) evaluates; collects paths either way.
class parser {
 public:
  parser(const std::string& s, const nlohmann::json* ctx, std::set<std::string>* paths)
      : s_(s), lex_(s), ctx_(ctx), paths_(paths) {}

  result<nlohmann::json> parse() {
    if (auto t = advance(); !t) return t.err();
    auto v = parse_or(0);
    if (!v) return v;
    if (cur_.k != token::end) return fail("unexpected '" + cur_.text + "'");
    return v;
  }

 private:
  using value = result<nlohmann::json>;

  status advance() {
    auto t = lex_.next();
    if (!t) return t.err();
    cur_ = *t;
    return ok_v;
  }
  error fail(const std::string& what) const {
    return error{errc::bad_request, "condition '" + s_ + "' at " + std::to_string(cur_.pos + 1) + ": " + what};
  }
  bool is_op(const char* o) const { return cur_.k == token::op && cur_.text == o; }

  value parse_or(int depth) {
    auto l = parse_and(depth);
    while (l && is_op("||")) {
      if (auto a = advance(); !a) return a.err();
      auto r = parse_and(depth);
      if (!r) return r;
      l = nlohmann::json(truthy(*l) || truthy(*r));
    }
    return l;
  }
  value parse_and(int depth) {
    auto l = parse_cmp(depth);
    while (l && is_op("&&")) {
      if (auto a = advance(); !a) return a.err();
      auto r = parse_cmp(depth);
      if (!r) return r;
      l = nlohmann::json(truthy(*l) && truthy(*r));
    }
    return l;
  }
  value parse_cmp(int depth) {
    auto l = parse_unary(depth);
    if (!l) return l;
    for (const char* o : {"==", "!=", "<", "<=", ">", ">="}) {
      if (!is_op(o)) continue;
      std::string op = o;
      if (auto a = advance(); !a) return a.err();
      auto r = parse_unary(depth);
      if (!r) return r;
      return nlohmann::json(compare(*l, op, *r));
    }
    return l;
  }
  value parse_unary(int depth) {
    if (depth > max_depth) return fail("nested too deeply");
    if (is_op("!")) {
      if (auto a = advance(); !a) return a.err();
      auto v = parse_unary(depth + 1);
      if (!v) return v;
      return nlohmann::json(!truthy(*v));
    }
    if (cur_.k == token::lparen) {
      if (auto a = advance(); !a) return a.err();
      auto v = parse_or(depth + 1);
      if (!v) return v;
      if (cur_.k != token::rparen) return fail("missing ')'");
      if (auto a = advance(); !a) return a.err();
      return v;
    }
    token t = cur_;
    nlohmann::json v;
    switch (t.k) {
      case token::number:
        try {
          v = t.text.find('.') != std::string::npos ? nlohmann::json(std::stod(t.text)) : nlohmann::json(std::stoll(t.text));
        } catch (...) {
          return fail("bad number '" + t.text + "'");
        }
        break;
      case token::string: v = t.text; break;
      case token::kw_true: v = true; break;
      case token::kw_false: v = false; break;
      case token::kw_null: v = nullptr; break;
      case token::path:
        if (paths_) paths_->insert(t.text);
        if (ctx_) {
          auto found = lookup(*ctx_, t.text);
          v = found ? *found : nlohmann::json();  // a missing path compares as null
        }
        break;
      case token::end: return fail("expression ends too early");
      default: return fail("unexpected '" + t.text + "'");
    }
    if (auto a = advance(); !a) return a.err();
    return v;
  }

  static bool compare(const nlohmann::json& l, const std::string& op, const nlohmann::json& r) {
    if (op == "==") return l == r;
    if (op == "!=") return l != r;
    bool both_num = l.is_number() && r.is_number();
    bool both_str = l.is_string() && r.is_string();
    if (!both_num && !both_str) return false;  // ordering across types is never true
    int c = both_num ? (l.get<double>() < r.get<double>() ? -1 : l.get<double>() > r.get<double>() ? 1 : 0)
                     : l.get_ref<const std::string&>().compare(r.get_ref<const std::string&>());
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    return c >= 0;
  }

  const std::string& s_;
  lexer lex_;
  const nlohmann::json* ctx_;
  std::set<std::string>* paths_;
  token cur_;
};

// Calls on_path(path, begin, end) for each {{ }} in s; errors on bad syntax.
template <class F>
status scan(const std::string& s, F&& on_path) {
  std::size_t i = 0;
  while ((i = s.find("{{", i)) != std::string::npos) {
    auto close = s.find("}}", i + 2);
    if (close == std::string::npos) return error{errc::bad_request, "template '" + s + "': '{{' without '}}'"};
    auto inner = s.substr(i + 2, close - i - 2);
    auto b = inner.find_first_not_of(' '), e = inner.find_last_not_of(' ');
    std::string path = b == std::string::npos ? "" : inner.substr(b, e - b + 1);
    if (!valid_path(path)) return error{errc::bad_request, "template '" + s + "': '" + path + "' is not a path such as input.name"};
    if (auto r = on_path(path, i, close + 2); !r) return r;
    i = close + 2;
  }
  return ok_v;
}

status collect(const nlohmann::json& t, std::set<std::string>& out, int depth) {
  if (depth > max_depth) return error{errc::bad_request, "template nests too deeply"};
  if (t.is_string())
    return scan(t.get_ref<const std::string&>(), [&](const std::string& p, std::size_t, std::size_t) -> status {
      out.insert(p);
      return ok_v;
    });
  if (t.is_array() || t.is_object())
    for (const auto& v : t)
      if (auto r = collect(v, out, depth + 1); !r) return r;
  return ok_v;
}

result<nlohmann::json> render_at(const nlohmann::json& t, const nlohmann::json& ctx, int depth) {
  if (depth > max_depth) return error{errc::bad_request, "template nests too deeply"};
  if (t.is_string()) {
    const auto& s = t.get_ref<const std::string&>();
    if (s.find("{{") == std::string::npos) return t;
    std::string out;
    std::size_t last = 0;
    nlohmann::json whole;
    bool only = false;
    auto r = scan(s, [&](const std::string& p, std::size_t b, std::size_t e) -> status {
      auto v = lookup(ctx, p);
      if (!v) return v.err();
      if (b == 0 && e == s.size()) {
        only = true;
        whole = *v;
      }
      out += s.substr(last, b - last);
      out += v->is_string() ? v->get<std::string>() : v->dump();
      last = e;
      return ok_v;
    });
    if (!r) return r.err();
    if (only) return whole;
    return nlohmann::json(out + s.substr(last));
  }
  if (t.is_array()) {
    auto out = nlohmann::json::array();
    for (const auto& v : t) {
      auto r = render_at(v, ctx, depth + 1);
      if (!r) return r;
      out.push_back(std::move(*r));
    }
    return out;
  }
  if (t.is_object()) {
    auto out = nlohmann::json::object();
    for (auto it = t.begin(); it != t.end(); ++it) {
      auto r = render_at(it.value(), ctx, depth + 1);
      if (!r) return r;
      out[it.key()] = std::move(*r);
    }
    return out;
  }
  return t;
}

}  // namespace

result<nlohmann::json> lookup(const nlohmann::json& context, const std::string& path) {
  const nlohmann::json* cur = &context;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto dot = path.find('.', start);
    auto part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (cur->is_object()) {
      auto it = cur->find(part);
      if (it == cur->end()) return error{errc::bad_request, "'" + path + "' has no '" + part + "'"};
      cur = &*it;
    } else if (cur->is_array() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      auto idx = std::stoul(part);
      if (idx >= cur->size()) return error{errc::bad_request, "'" + path + "': index " + part + " is out of range"};
      cur = &(*cur)[idx];
    } else {
      return error{errc::bad_request, "'" + path + "': cannot look up '" + part + "' in a " + cur->type_name()};
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *cur;
}

bool has_templates(const nlohmann::json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().find("{{") != std::string::npos;
  if (j.is_array() || j.is_object())
    for (const auto& v : j)
      if (has_templates(v)) return true;
  return false;
}

result<std::set<std::string>> template_paths(const nlohmann::json& tmpl) {
  std::set<std::string> out;
  if (auto r = collect(tmpl, out, 0); !r) return r.err();
  return out;
}

result<std::set<std::string>> condition_paths(const std::string& condition) {
  std::set<std::string> out;
  parser p(condition, nullptr, &out);
  if (auto r = p.parse(); !r) return r.err();
  return out;
}

result<nlohmann::json> render(const nlohmann::json& tmpl, const nlohmann::json& context) {
  return render_at(tmpl, context, 0);
}

result<bool> evaluate(const std::string& condition, const nlohmann::json& context) {
  std::set<std::string> ignored;
  parser p(condition, &context, &ignored);
  auto v = p.parse();
  if (!v) return v.err();
  return truthy(*v);
}

}  // namespace keel::wf
