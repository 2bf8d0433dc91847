// `sluice sql`: the command-line client of POST /v1/sql. Runs -e text or a -f file, or reads
// statements at an interactive prompt (with line editing and history); a statement ends with
// ';'. Rows are printed as a table; SELECT ... EMIT CHANGES streams until Ctrl-C.

#include <editline/readline.h>
#include <signal.h>
#include <simdjson.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"

namespace sluice::cli {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct sql_settings {
  std::string http = "127.0.0.1:8080";
  std::string execute;
  std::string file;
};

std::string json_text(simdjson::dom::element v) {
  std::string_view s;
  if (!v.get_string().get(s)) return std::string(s);
  if (v.is_null()) return "NULL";
  return simdjson::minify(v);
}

// Prints one statement's answer: its message, or its rows as an aligned table.
void print_result(simdjson::dom::element r) {
  simdjson::dom::array cols, rows;
  if (r["columns"].get_array().get(cols)) {
    std::string_view msg;
    if (!r["message"].get_string().get(msg)) std::cout << msg << "\n";
    return;
  }
  if (r["rows"].get_array().get(rows)) return;
  std::vector<std::string> names;
  for (auto c : cols)
    names.push_back(json_text(c));
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  for (const auto& n : names)
    width.push_back(n.size());
  for (auto row : rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < names.size(); ++i) {
      simdjson::dom::element v;
      line.push_back(row[names[i]].get(v) ? "" : json_text(v));
      for (auto& ch : line.back())
        if (ch == '\n' || ch == '\t') ch = ' ';
      width[i] = std::max(width[i], std::min<size_t>(line.back().size(), 60));
    }
    cells.push_back(std::move(line));
  }
  auto print_line = [&](const std::vector<std::string>& l) {
    for (size_t i = 0; i < l.size(); ++i) {
      std::string c = l[i].size() > 60 ? l[i].substr(0, 57) + "..." : l[i];
      std::cout << (i ? " | " : "") << c << std::string(width[i] - c.size(), ' ');
    }
    std::cout << "\n";
  };
  print_line(names);
  for (size_t i = 0; i < names.size(); ++i)
    std::cout << (i ? "-+-" : "") << std::string(width[i], '-');
  std::cout << "\n";
  for (const auto& l : cells)
    print_line(l);
  std::cout << "(" << cells.size() << (cells.size() == 1 ? " row)\n" : " rows)\n");
}

class client {
 public:
  explicit client(std::string addr) {
    auto colon = addr.rfind(':');
    host_ = addr.substr(0, colon);
    port_ = colon == std::string::npos ? "8080" : addr.substr(colon + 1);
  }

  // Runs `text`; prints answers. False when the server refused it (message on stderr).
  bool run(const std::string& text) {
    asio::io_context io;
    beast::tcp_stream stream(io);
    try {
      tcp::resolver resolver(io);
      stream.connect(resolver.resolve(host_, port_));
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/sql", 11};
      req.set(bhttp::field::host, host_);
      req.set(bhttp::field::content_type, "text/plain");
      req.body() = text;
      req.prepare_payload();
      bhttp::write(stream, req);
      beast::flat_buffer buf;
      bhttp::response_parser<bhttp::string_body> p;
      p.body_limit(boost::none);
      bhttp::read_header(stream, buf, p);
      if (p.get()[bhttp::field::content_type] == "application/x-ndjson")
        return follow(stream, buf, p);
      bhttp::read(stream, buf, p);
      auto res = p.release();
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      if (parser.parse(res.body()).get(doc)) {
        std::cerr << "error: unreadable answer (HTTP " << res.result_int() << ")\n";
        return false;
      }
      if (res.result_int() != 200) {
        std::string_view msg = "(no message)";
        if (doc["message"].get_string().get(msg)) msg = "(no message)";
        std::cerr << "error: " << msg << "\n";
        return false;
      }
      simdjson::dom::array results;
      if (!doc["results"].get_array().get(results))
        for (auto r : results)
          print_result(r);
      return true;
    } catch (const std::exception& e) {
      std::cerr << "error: cannot reach sluice at " << host_ << ":" << port_ << ": " << e.what()
                << "\n";
      return false;
    }
  }

 private:
  // EMIT CHANGES: prints each change line as it arrives, until the server or Ctrl-C ends it.
  bool follow(beast::tcp_stream& stream, beast::flat_buffer& buf,
              bhttp::response_parser<bhttp::string_body>& p) {
    std::string pending;
    auto on_chunk = [&](std::uint64_t, beast::string_view body, beast::error_code&) {
      pending.append(body.data(), body.size());
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::cout << pending.substr(0, nl) << std::endl;
        pending.erase(0, nl + 1);
      }
      return body.size();
    };
    p.on_chunk_body(on_chunk);
    beast::error_code ec;
    while (!p.is_done() && !ec)
      bhttp::read(stream, buf, p, ec);
    return true;
  }

  std::string host_, port_;
};

// Statements ending with ';' (outside quotes) are complete.
bool complete(const std::string& s) {
  bool quote = false, dquote = false;
  char last = 0;
  for (char c : s) {
    if (c == '\'' && !dquote) quote = !quote;
    if (c == '"' && !quote) dquote = !dquote;
    if (!std::isspace(static_cast<unsigned char>(c))) last = c;
  }
  return !quote && !dquote && last == ';';
}

int interactive(client& c) {
  std::cout << "sluice SQL. End statements with ';'. \\q quits.\n";
  std::string buffer;
  for (;;) {
    char* line = readline(buffer.empty() ? "sluice> " : "   ...> ");
    if (!line) break;
    std::string l(line);
    free(line);
    if (buffer.empty() && (l == "\\q" || l == "quit" || l == "exit")) break;
    if (l.empty() && buffer.empty()) continue;
    buffer += (buffer.empty() ? "" : "\n") + l;
    if (!complete(buffer)) continue;
    add_history(buffer.c_str());
    c.run(buffer);
    buffer.clear();
  }
  return 0;
}

}  // namespace

action add_sql_command(CLI::App& app) {
  auto s = std::make_shared<sql_settings>();
  auto* cmd = app.add_subcommand("sql", "Run SQL statements against a sluice server");
  cmd->add_option("--http", s->http, "The server's HTTP address HOST:PORT")->capture_default_str();
  cmd->add_option("-e,--execute", s->execute, "Statements to run (else: an interactive prompt)");
  cmd->add_option("-f,--file", s->file, "A file of statements to run")->check(CLI::ExistingFile);
  return [cmd, s]() -> int {
    if (!cmd->parsed()) return -1;
    client c(s->http);
    if (!s->file.empty()) {
      std::ifstream in(s->file);
      std::stringstream text;
      text << in.rdbuf();
      if (!c.run(text.str())) return 1;
    }
    if (!s->execute.empty()) return c.run(s->execute) ? 0 : 1;
    if (!s->file.empty()) return 0;
    if (!isatty(0)) {
      std::stringstream text;
      text << std::cin.rdbuf();
      return c.run(text.str()) ? 0 : 1;
    }
    return interactive(c);
  };
}

}  // namespace sluice::cli
