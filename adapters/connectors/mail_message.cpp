#include "adapters/connectors/mail_message.hpp"

#include <ctime>
#include <map>
#include <vector>

#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/hex.hpp"
#include "runtime/base/utf8.hpp"

namespace keel::connectors {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

// Headers (lower-case name -> first value, unfolded) and where the body starts.
std::map<std::string, std::string> read_headers(const std::string& raw, std::size_t& body_at) {
  std::map<std::string, std::string> h;
  std::string name, value;
  std::size_t pos = 0;
  auto flush = [&] {
    if (!name.empty() && !h.count(name)) h[name] = trim(value);
    name.clear();
    value.clear();
  };
  while (pos < raw.size()) {
    auto nl = raw.find('\n', pos);
    std::string line = raw.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? raw.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
      value += " " + trim(line);
      continue;
    }
    flush();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    name = lower(trim(line.substr(0, colon)));
    value = line.substr(colon + 1);
  }
  flush();
  body_at = pos;
  return h;
}

std::string decode_qp(const std::string& s, bool header) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (header && c == '_') out += ' ';
    else if (c == '=' && i + 2 < s.size() && hex_digit_value(s[i + 1]) >= 0 && hex_digit_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit_value(s[i + 1]) << 4 | hex_digit_value(s[i + 2]));
      i += 2;
    } else if (c == '=' && i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == '\r')) {  // soft line break
      i += s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n' ? 2 : 1;
    } else out += c;
  }
  return out;
}

std::string decode_b64(const std::string& s) {
  std::string clean;
  for (char c : s)
    if (!isspace(static_cast<unsigned char>(c))) clean += c;
  auto d = control::from_base64(clean);
  return d ? *d : std::string();
}

// Decoded bytes in a declared charset, as UTF-8. The latin1 family is
// read as Windows-1252 (as mail clients do); UTF-8, US-ASCII, no charset and
// anything else must already be UTF-8, and bytes that are not become U+FFFD
// rather than being guessed at.
std::string as_utf8(const std::string& bytes, std::string charset) {
  charset = lower(trim(charset));
  if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star);  // RFC 2231 language
  if (charset == "iso-8859-1" || charset == "latin1" || charset == "iso_8859-1" || charset == "windows-1252" ||
      charset == "cp1252" || charset == "iso-8859-15")
    return utf8::from_windows_1252(bytes);
  return utf8::repaired(bytes);
}

// RFC 2047 encoded words; whitespace between two encoded words is dropped.
std::string decode_words(const std::string& s) {
  std::string out;
  std::size_t pos = 0;
  bool last_encoded = false;
  while (pos < s.size()) {
    auto start = s.find("=?", pos);
    if (start == std::string::npos) {
      out += s.substr(pos);
      break;
    }
    auto q1 = s.find('?', start + 2);
    auto q2 = q1 == std::string::npos ? q1 : s.find('?', q1 + 1);
    auto end = q2 == std::string::npos ? q2 : s.find("?=", q2 + 1);
    if (end == std::string::npos) {
      out += s.substr(pos);
      break;
    }
    std::string between = s.substr(pos, start - pos);
    if (!(last_encoded && trim(between).empty())) out += between;
    char enc = static_cast<char>(toupper(static_cast<unsigned char>(s[q1 + 1])));
    std::string text = s.substr(q2 + 1, end - q2 - 1);
    out += as_utf8(enc == 'B' ? decode_b64(text) : decode_qp(text, true), s.substr(start + 2, q1 - start - 2));
    last_encoded = true;
    pos = end + 2;
  }
  return out;
}

std::string param(const std::string& header, const std::string& name) {
  auto l = lower(header);
  auto at = l.find(name + "=");
  while (at != std::string::npos && at > 0 && l[at - 1] != ';' && l[at - 1] != ' ' && l[at - 1] != '\t')
    at = l.find(name + "=", at + 1);
  if (at == std::string::npos) return {};
  auto v = header.substr(at + name.size() + 1);
  if (!v.empty() && v[0] == '"') {
    auto close = v.find('"', 1);
    return v.substr(1, close == std::string::npos ? std::string::npos : close - 1);
  }
  return trim(v.substr(0, v.find(';')));
}

// The text of a part: the first text/plain leaf, decoded.
std::string body_text(const std::map<std::string, std::string>& h, const std::string& body, int depth) {
  auto ct_it = h.find("content-type");
  std::string ct = ct_it == h.end() ? "text/plain" : ct_it->second;
  std::string type = lower(trim(ct.substr(0, ct.find(';'))));
  if (type.rfind("multipart/", 0) == 0 && depth < 5) {
    auto boundary = param(ct, "boundary");
    if (boundary.empty()) return {};
    std::string delim = "--" + boundary;
    std::size_t pos = body.find(delim);
    while (pos != std::string::npos) {
      pos += delim.size();
      if (body.compare(pos, 2, "--") == 0) break;
      auto next = body.find(delim, pos);
      std::string part = body.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      if (!part.empty() && part[0] == '\r') part.erase(0, 1);
      if (!part.empty() && part[0] == '\n') part.erase(0, 1);
      std::size_t at = 0;
      auto ph = read_headers(part, at);
      auto text = body_text(ph, part.substr(at), depth + 1);
      if (!text.empty()) return text;
      pos = next;
    }
    return {};
  }
  if (type != "text/plain") return {};
  auto cte_it = h.find("content-transfer-encoding");
  std::string cte = cte_it == h.end() ? "" : lower(cte_it->second);
  std::string text = as_utf8(cte == "base64" ? decode_b64(body) : cte == "quoted-printable" ? decode_qp(body, false) : body,
                             param(ct, "charset"));
  std::string out;  // normalise line ends
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
  return trim(out);
}

std::string rfc3339(const std::string& date) {
  std::tm tm{};
  const char* formats[] = {"%a, %d %b %Y %H:%M:%S %z", "%d %b %Y %H:%M:%S %z"};
  for (const char* f : formats) {
    tm = {};
    if (strptime(date.c_str(), f, &tm) != nullptr) {
      long off = tm.tm_gmtoff;
      auto t = timegm(&tm) - off;
      return format_timestamp(static_cast<std::int64_t>(t) * 1000);
    }
  }
  return {};
}

}  // namespace

nlohmann::json mail_message::to_json() const {
  return {{"from", from},       {"from_name", from_name},     {"to", to},
          {"subject", subject}, {"message_id", message_id},   {"in_reply_to", in_reply_to},
          {"thread_id", thread_id}, {"date", date},           {"text", text}};
}

mail_message parse_mail(const std::string& raw) {
  mail_message m;
  std::size_t body_at = 0;
  auto h = read_headers(raw, body_at);
  auto get = [&](const char* k) { auto it = h.find(k); return it == h.end() ? std::string() : it->second; };
  std::string from = decode_words(get("from"));
  auto lt = from.find('<'), gt = from.find('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    m.from = lower(trim(from.substr(lt + 1, gt - lt - 1)));
    m.from_name = trim(from.substr(0, lt));
    if (m.from_name.size() >= 2 && m.from_name.front() == '"' && m.from_name.back() == '"')
      m.from_name = m.from_name.substr(1, m.from_name.size() - 2);
  } else {
    m.from = lower(trim(from));
  }
  m.to = decode_words(get("to"));
  m.subject = decode_words(get("subject"));
  m.message_id = get("message-id");
  m.in_reply_to = get("in-reply-to");
  auto refs = get("references");
  auto first_ref = refs.substr(0, refs.find_first_of(" \t"));
  m.thread_id = !first_ref.empty() ? first_ref : !m.in_reply_to.empty() ? m.in_reply_to : m.message_id;
  m.date = rfc3339(get("date"));
  m.text = body_text(h, raw.substr(std::min(body_at, raw.size())), 0);
  // Headers may carry raw 8-bit bytes outside encoded words: everything in
  // the event must be UTF-8 (see as_utf8).
  for (auto* f : {&m.from, &m.from_name, &m.to, &m.subject, &m.message_id, &m.in_reply_to, &m.thread_id, &m.date})
    if (!utf8::valid(*f)) *f = utf8::repaired(*f);
  return m;
}

}  // namespace keel::connectors
