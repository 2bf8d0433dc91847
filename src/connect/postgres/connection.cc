#include "connect/postgres/connection.h"

namespace sluice::connect::pg {

std::string connection_string(const config& c) {
  auto url = setting(c, "database.url");
  if (!url.empty()) return url;
  std::string s;
  auto add = [&](const char* key, const std::string& name, const std::string& def) {
    auto v = setting(c, name, def);
    if (v.empty()) return;
    std::string q = "'";
    for (char ch : v) {
      if (ch == '\'' || ch == '\\') q += '\\';
      q += ch;
    }
    s += std::string(s.empty() ? "" : " ") + key + "=" + q + "'";
  };
  add("host", "database.hostname", "127.0.0.1");
  add("port", "database.port", "5432");
  add("user", "database.user", "");
  add("password", "database.password", "");
  add("dbname", "database.dbname", "");
  return s + " application_name=sluice connect_timeout=10";
}

result<void> validate_connection(const config& c) {
  if (setting(c, "database.url").empty() && setting(c, "database.dbname").empty())
    return make_error(errc::invalid_argument,
                      "'database.dbname' (or a 'database.url' connection string) is required");
  if (auto r = integer_setting(c, "database.port", 5432, 1, 65535); !r) return r.error();
  return {};
}

std::string quote_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string quote_literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string quote_table(std::string_view qualified) {
  auto dot = qualified.find('.');
  if (dot == std::string_view::npos) return quote_ident(qualified);
  return quote_ident(qualified.substr(0, dot)) + "." + quote_ident(qualified.substr(dot + 1));
}

error_info failure(const std::string& who, const std::string& doing, PGconn* c) {
  std::string why = c ? PQerrorMessage(c) : "out of memory";
  while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
    why.pop_back();
  return make_error(errc::io_error, who + ": " + doing + ": " + why);
}

}  // namespace sluice::connect::pg
