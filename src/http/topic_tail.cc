#include "http/topic_tail.h"

#include <simdjson.h>

#include <boost/asio.hpp>
#include <chrono>

#include "http/json_payload.h"
#include "log/log.h"
#include "stream/io.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;

namespace {

class tail : public std::enable_shared_from_this<tail> {
 public:
  tail(beast::tcp_stream s, std::shared_ptr<log::topic> t)
      : ws_(std::move(s)),
        topic_(std::move(t)),
        alive_(std::make_shared<int>(0)),
        wake_(ws_.get_executor(), asio::steady_timer::time_point::max()) {}

  awaitable<void> run(bhttp::request<bhttp::string_body> req, bool from_beginning) {
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(64 * 1024);
    auto [aec] = co_await ws_.async_accept(req, asio::as_tuple(use_awaitable));
    if (aec) co_return;
    for (const auto& p : topic_->partitions())
      next_.push_back(from_beginning ? p->log_start()() : p->high_watermark()());
    asio::co_spawn(ws_.get_executor(), read_until_closed(), asio::detached);
    simdjson::dom::parser parser;
    bytes buf;
    while (!closed_) {
      std::string msg = "{\"type\":\"records\",\"records\":[";
      size_t count = 0;
      auto parts = topic_->partitions();
      while (next_.size() < parts.size())
        next_.push_back(0);
      for (size_t p = 0; p < parts.size() && msg.size() < (256u << 10); ++p) {
        arm(*parts[p], p);
        buf.clear();
        auto r = parts[p]->read(model::offset(next_[p]), 64 << 10);
        if (!r) {
          // Retention removed what this subscriber had not read: go on from the oldest kept.
          next_[p] = std::max(next_[p], parts[p]->log_start()());
          continue;
        }
        if (r->len == 0) continue;
        buf.resize(r->len);
        if (!r->copy_to(buf.data())) continue;
        auto end = stream::for_each_record(
            buf, next_[p],
            [&](int64_t offset, int64_t ts, std::optional<std::string_view> key,
                std::optional<std::string_view> value) {
              if (count++) msg += ',';
              msg += "{\"partition\":" + std::to_string(p) +
                     ",\"offset\":" + std::to_string(offset) +
                     ",\"timestamp\":" + std::to_string(ts) + ",\"key\":";
              append_json_payload(msg, key, parser);
              msg += ",\"value\":";
              append_json_payload(msg, value, parser);
              msg += '}';
            });
        if (end) next_[p] = *end;
      }
      if (count == 0) {
        // Woken by the next append to any partition (or every second, for new partitions).
        wake_.expires_after(std::chrono::seconds(1));
        co_await wake_.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      msg += "]}";
      auto [wec, wn] = co_await ws_.async_write(asio::buffer(msg), asio::as_tuple(use_awaitable));
      if (wec) break;
    }
    closed_ = true;
  }

 private:
  // At most one registered wake-up per partition (the partition keeps registrations until
  // its next append: one per poll of an idle partition would grow without bound).
  void arm(log::partition& part, size_t p) {
    if (armed_.size() <= p) armed_.resize(p + 1, false);
    if (armed_[p]) return;
    armed_[p] = true;
    std::weak_ptr<tail> w = shared_from_this();
    auto ex = ws_.get_executor();
    part.on_next_append(alive_, [w, ex, p] {
      asio::post(ex, [w, p] {
        if (auto t = w.lock()) {
          t->armed_[p] = false;
          t->wake_.cancel();
        }
      });
    });
  }
  awaitable<void> read_until_closed() {
    auto self = shared_from_this();
    beast::flat_buffer b;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(b, asio::as_tuple(use_awaitable));
      if (ec) break;
      b.consume(b.size());
    }
    closed_ = true;
    wake_.cancel();
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<log::topic> topic_;
  std::shared_ptr<int> alive_;  // pending append callbacks are dropped with the subscriber
  asio::steady_timer wake_;
  std::vector<int64_t> next_;
  std::vector<bool> armed_;
  bool closed_ = false;
};

}  // namespace

void serve_topic_tail(beast::tcp_stream stream, bhttp::request<bhttp::string_body> req,
                      std::shared_ptr<log::topic> topic, bool from_beginning) {
  auto ex = stream.get_executor();
  auto t = std::make_shared<tail>(std::move(stream), std::move(topic));
  asio::co_spawn(ex, t->run(std::move(req), from_beginning), asio::detached);
}

}  // namespace sluice::http
