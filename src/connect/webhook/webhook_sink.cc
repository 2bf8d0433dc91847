#include "connect/webhook/webhook_sink.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <simdjson.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <deque>
#include <optional>

#include "base/json_writer.h"
#include "base/strings.h"

namespace sluice::connect {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::use_awaitable;

struct target {
  std::string host, port, path;
};

result<target> parse_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme))
    return make_error(errc::invalid_argument,
                      "'url' must be an http:// URL (https is not supported yet): '" + url + "'");
  std::string rest = url.substr(scheme.size());
  target t;
  auto slash = rest.find('/');
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string authority = rest.substr(0, slash);
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    t.host = authority.substr(0, colon);
    t.port = authority.substr(colon + 1);
  } else {
    t.host = authority;
    t.port = "80";
  }
  if (t.host.empty()) return make_error(errc::invalid_argument, "'url' has no host: '" + url + "'");
  return t;
}

std::string hmac_hex(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

class webhook_sink final : public sink_task {
 public:
  explicit webhook_sink(const config& c) : c_(c) {}

  result<void> start() override {
    auto t = parse_url(setting(c_, "url"));
    if (!t) return t.error();
    target_ = std::move(*t);
    batch_ = static_cast<size_t>(integer_or(c_, "batch.size", 500));
    in_flight_ = static_cast<size_t>(integer_or(c_, "max.in.flight", 4));
    timeout_ = std::chrono::milliseconds(integer_or(c_, "request.timeout.ms", 10'000));
    retries_ = static_cast<int>(integer_or(c_, "retries", 3));
    secret_ = setting(c_, "secret");
    auto hs = setting(c_, "headers");
    for (size_t at = 0; at < hs.size();) {
      size_t nl = std::min(hs.find('\n', at), hs.size());
      auto line = hs.substr(at, nl - at);
      at = nl + 1;
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      auto value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      headers_.emplace_back(line.substr(0, colon), value);
    }
    return {};
  }

  result<void> put(std::span<const sink_record> records) override {
    for (size_t at = 0; at < records.size(); at += batch_) {
      std::string body = "[";
      simdjson::dom::parser parser;
      for (size_t i = at; i < std::min(records.size(), at + batch_); ++i) {
        const auto& r = records[i];
        json_writer w;
        w.begin_object()
            .key("topic")
            .value(r.topic)
            .key("partition")
            .value(r.partition)
            .key("offset")
            .value(r.offset)
            .key("timestamp")
            .value(r.timestamp)
            .key("key");
        if (r.key)
          w.value(*r.key);
        else
          w.null();
        w.key("value");
        if (!r.value)
          w.null();
        else if (simdjson::dom::element e; !parser.parse(*r.value).get(e))
          w.raw(*r.value);
        else
          w.value(*r.value);
        w.end_object();
        if (i > at) body += ',';
        body += w.str();
      }
      body += ']';
      pending_.push_back(std::move(body));
    }
    return {};
  }

  result<void> flush() override {
    if (pending_.empty()) return {};
    std::optional<error_info> failed;
    size_t workers = std::min(in_flight_, pending_.size());
    conns_.resize(std::max(conns_.size(), workers));
    for (size_t i = 0; i < workers; ++i)
      asio::co_spawn(io_, drain(i, failed), asio::detached);
    io_.restart();
    io_.run();
    // The runtime puts the records again after a failure: nothing is kept for it.
    if (failed) {
      pending_.clear();
      return *failed;
    }
    return {};
  }

  void stop() override { conns_.clear(); }

 private:
  // Sends pending bodies on connection `slot` until none is left or one fails for good.
  awaitable<void> drain(size_t slot, std::optional<error_info>& failed) {
    while (!pending_.empty() && !failed) {
      std::string body = std::move(pending_.front());
      pending_.pop_front();
      auto r = co_await send(slot, body);
      if (!r) {
        failed = r.error();
        pending_.push_front(std::move(body));
      }
    }
  }

  awaitable<result<void>> send(size_t slot, const std::string& body) {
    http::request<http::string_body> req{http::verb::post, target_.path, 11};
    req.set(http::field::host, target_.host + ":" + target_.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "sluice-webhook");
    for (const auto& [k, v] : headers_)
      req.set(k, v);
    if (!secret_.empty()) req.set("X-Sluice-Signature", "sha256=" + hmac_hex(secret_, body));
    req.body() = body;
    req.prepare_payload();
    req.keep_alive(true);
    auto delay = std::chrono::milliseconds(100);
    std::string last;
    for (int attempt = 0; attempt <= retries_; ++attempt) {
      if (attempt) {
        asio::steady_timer t(io_, delay);
        co_await t.async_wait(asio::as_tuple(use_awaitable));
        delay *= 2;
      }
      auto& conn = conns_[slot];
      try {
        if (!conn) {
          asio::ip::tcp::resolver resolver(io_);
          auto eps = co_await resolver.async_resolve(target_.host, target_.port, use_awaitable);
          conn = std::make_unique<beast::tcp_stream>(io_);
          conn->expires_after(timeout_);
          co_await conn->async_connect(eps, use_awaitable);
        }
        conn->expires_after(timeout_);
        co_await http::async_write(*conn, req, use_awaitable);
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        co_await http::async_read(*conn, buf, res, use_awaitable);
        if (!res.keep_alive()) conn.reset();
        unsigned status = res.result_int();
        if (status < 300) co_return result<void>();
        last = "HTTP " + std::to_string(status) + " from " + setting(c_, "url") +
               (res.body().empty() ? "" : ": " + res.body().substr(0, 200));
        bool transient = status >= 500 || status == 408 || status == 429;
        if (!transient) co_return make_error(errc::invalid_argument, last);
      } catch (const std::exception& e) {
        conn.reset();
        last = "POST " + setting(c_, "url") + ": " + e.what();
      }
    }
    co_return make_error(errc::io_error, last);
  }

  config c_;
  target target_;
  size_t batch_ = 500, in_flight_ = 4;
  std::chrono::milliseconds timeout_{10'000};
  int retries_ = 3;
  std::string secret_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::deque<std::string> pending_;
  asio::io_context io_;                                    // run by flush()
  std::vector<std::unique_ptr<beast::tcp_stream>> conns_;  // kept alive between flushes
};

}  // namespace

kind webhook_sink_kind() {
  kind k;
  k.name = "webhook";
  k.type = connector_type::sink;
  k.classes = {"sluice.connect.WebhookSink"};
  k.version = "1";
  k.validate = [](const config& c) -> result<void> {
    auto url = required(c, "url");
    if (!url) return url.error();
    if (auto t = parse_url(*url); !t) return t.error();
    for (auto [key, def, min, max] :
         {std::tuple{"batch.size", 500, 1, 100'000}, std::tuple{"max.in.flight", 4, 1, 64},
          std::tuple{"request.timeout.ms", 10'000, 1, 600'000}, std::tuple{"retries", 3, 0, 100}})
      if (auto r = integer_setting(c, key, def, min, max); !r) return r.error();
    return {};
  };
  k.make_sink = [](const config& c) { return std::make_unique<webhook_sink>(c); };
  return k;
}

}  // namespace sluice::connect
