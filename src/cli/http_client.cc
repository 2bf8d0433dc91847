#include "cli/http_client.h"

#include <simdjson.h>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <iostream>

namespace sluice::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

result<http_answer> http_request(const std::string& addr, const std::string& method,
                                 const std::string& target, const std::string& body) {
  auto colon = addr.rfind(':');
  std::string host = addr.substr(0, colon);
  std::string port = colon == std::string::npos ? "8080" : addr.substr(colon + 1);
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    asio::ip::tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host, port));
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, host);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buf;
    bhttp::response_parser<bhttp::string_body> p;
    p.body_limit(boost::none);
    bhttp::read(stream, buf, p);
    auto res = p.release();
    return http_answer{res.result_int(), std::move(res.body())};
  } catch (const std::exception& e) {
    return make_error(errc::io_error,
                      "cannot reach sluice at " + host + ":" + port + ": " + e.what());
  }
}

bool api_call(const std::string& addr, const std::string& method, const std::string& target,
              const std::string& body, std::string& answer) {
  auto r = http_request(addr, method, target, body);
  if (!r) {
    std::cerr << "error: " << r.error().message << "\n";
    return false;
  }
  if (r->status >= 300) {
    simdjson::dom::parser p;
    std::string_view msg = r->body;
    if (auto m = p.parse(r->body)["message"].get_string(); !m.error() && !m.value().empty())
      msg = m.value();
    std::cerr << "error: " << msg << " (HTTP " << r->status << ")\n";
    return false;
  }
  answer = std::move(r->body);
  return true;
}

}  // namespace sluice::cli
