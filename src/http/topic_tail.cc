#include "http/topic_tail.h"

#include "base/json_writer.h"

#include <simdjson.h>

#include <boost/asio.hpp>
#include <chrono>

#include "http/json_payload.h"
#include "log/log.h"
#include "schema/wire_format.h"
#include "stream/io.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {

class tail : public std::enable_shared_from_this<tail> {
 public:
  tail(push_channel::transport t, push_stream s, std::shared_ptr<log::topic> topic,
       std::shared_ptr<const schema::registry> schemas)
      : ch_(std::move(s), t),
        topic_(std::move(topic)),
        schemas_(std::move(schemas)),
        alive_(std::make_shared<int>(0)) {}

  awaitable<void> run(push_channel::request req, bool from_beginning) {
    auto self = shared_from_this();
    if (!co_await ch_.open(req)) co_return;
    for (const auto& p : topic_->partitions())
      next_.push_back(from_beginning ? p->log_start()() : p->high_watermark()());
    simdjson::dom::parser parser;
    bytes buf;
    while (!ch_.closed()) {
      json_writer msg;
      msg.begin_object().key("type").value("records").key("records").begin_array();
      size_t count = 0;
      auto parts = topic_->partitions();
      while (next_.size() < parts.size())
        next_.push_back(0);
      for (size_t p = 0; p < parts.size() && msg.str().size() < (256u << 10); ++p) {
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
              ++count;
              msg.begin_object().key("partition").value(static_cast<uint64_t>(p));
              msg.key("offset").value(offset).key("timestamp").value(ts);
              msg.key("key").raw_with([&](std::string& out) { payload(out, key, parser); });
              msg.key("value").raw_with([&](std::string& out) { payload(out, value, parser); });
              msg.end_object();
            });
        if (end) next_[p] = *end;
      }
      if (count == 0) {
        // Woken by the next append to any partition (or every second, for new partitions).
        co_await ch_.wait(std::chrono::seconds(1));
        continue;
      }
      msg.end_array().end_object();
      if (!co_await ch_.send("records", std::nullopt, msg.str())) break;
    }
    co_await ch_.close();
  }

 private:
  void payload(std::string& msg, std::optional<std::string_view> bytes,
               simdjson::dom::parser& parser) {
    if (schemas_ && bytes && !bytes->empty() && bytes->front() == schema::k_wire_magic) {
      std::string err;
      if (auto json = schema::framed_to_json(*schemas_, *bytes, false, err)) {
        msg += *json;
        return;
      }
    }
    append_json_payload(msg, bytes, parser);
  }

  // At most one registered wake-up per partition (the partition keeps registrations until
  // its next append: one per poll of an idle partition would grow without bound).
  void arm(log::partition& part, size_t p) {
    if (armed_.size() <= p) armed_.resize(p + 1, false);
    if (armed_[p]) return;
    armed_[p] = true;
    std::weak_ptr<tail> w = shared_from_this();
    auto ex = ch_.get_executor();
    part.on_next_append(alive_, [w, ex, p] {
      asio::post(ex, [w, p] {
        if (auto t = w.lock()) {
          t->armed_[p] = false;
          t->ch_.wake();
        }
      });
    });
  }

  push_channel ch_;
  std::shared_ptr<log::topic> topic_;
  std::shared_ptr<const schema::registry> schemas_;
  std::shared_ptr<int> alive_;  // pending append callbacks are dropped with the subscriber
  std::vector<int64_t> next_;
  std::vector<bool> armed_;
};

}  // namespace

void serve_topic_tail(push_channel::transport t, push_stream stream, asio::io_context& loop,
                      push_channel::request req, std::shared_ptr<log::topic> topic,
                      bool from_beginning, std::shared_ptr<const schema::registry> schemas) {
  auto s = std::make_shared<tail>(t, std::move(stream).moved_to(loop), std::move(topic),
                                  std::move(schemas));
  // The function object (and `s` with it) lives as long as the coroutine.
  asio::co_spawn(
      loop,
      [s, req = std::move(req), from_beginning]() mutable -> awaitable<void> {
        co_await s->run(std::move(req), from_beginning);
      },
      asio::detached);
}

}  // namespace sluice::http
