#include "http/query_push.h"
#include "base/json_writer.h"

#include "sql/engine.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
using asio::awaitable;

query_push::query_push(push_channel::transport t, asio::io_context& loop, size_t max_buffer_bytes)
    : transport_(t), loop_(loop), limit_(max_buffer_bytes) {}

std::shared_ptr<query_push> query_push::create(push_channel::transport t, asio::io_context& loop,
                                               size_t max_buffer_bytes) {
  return std::make_shared<query_push>(t, loop, max_buffer_bytes);
}

std::function<void(const stream::element_batch&)> query_push::sink() {
  std::weak_ptr<query_push> w = shared_from_this();
  return [w](const stream::element_batch& b) {
    auto self = w.lock();
    if (!self) return;
    bool wake = false;
    {
      std::lock_guard lk(self->mu_);
      if (self->gone_ || self->overflow_) return;
      char sep = self->transport_ == push_channel::transport::ndjson ? '\n' : ',';
      wake = self->pending_.empty();
      for (const auto& e : b) {
        if (!self->pending_.empty()) self->pending_ += sep;
        self->pending_ += e.op == stream::change_op::insert   ? "{\"change\":\"insert\",\"row\":"
                          : e.op == stream::change_op::upsert ? "{\"change\":\"upsert\",\"row\":"
                                                              : "{\"change\":\"delete\",\"row\":";
        stream::append_json_row(self->pending_, self->columns_, e.r);
        self->pending_ += '}';
      }
      if (self->pending_.size() > self->limit_) self->overflow_ = true;
    }
    if (wake)
      asio::post(self->loop_, [w] {
        if (auto s = w.lock(); s && s->ch_) s->ch_->wake();
      });
  };
}

void query_push::serve(push_stream stream, push_channel::request req,
                       std::unique_ptr<sql::push_query> q,
                       std::function<void(std::unique_ptr<sql::push_query>)> stopper) {
  {
    std::lock_guard lk(mu_);
    columns_ = q->columns();
  }
  query_ = std::move(q);
  stopper_ = std::move(stopper);
  auto moved = std::move(stream).moved_to(loop_);
  // The function object (and `self` with it) lives as long as the coroutine.
  asio::co_spawn(
      loop_,
      [self = shared_from_this(), moved = std::move(moved), req = std::move(req)]() mutable
      -> awaitable<void> { co_await self->run(std::move(moved), std::move(req)); },
      asio::detached);
}

awaitable<void> query_push::run(push_stream stream, push_channel::request req) {
  auto self = shared_from_this();
  ch_ = std::make_unique<push_channel>(std::move(stream), transport_);
  bool ndjson = transport_ == push_channel::transport::ndjson;
  std::string reason;
  if (co_await ch_->open(req)) {
    json_writer first;
    first.begin_object();
    if (!ndjson) first.key("type").value("columns");
    first.key("columns").begin_array();
    for (const auto& c : columns_)
      first.value(c);
    first.end_array().end_object();
    bool ok = co_await ch_->send("columns", std::nullopt, first.str());
    std::string out;
    while (ok && !ch_->closed()) {
      bool overflow;
      {
        std::lock_guard lk(mu_);
        out.swap(pending_);
        pending_.clear();
        overflow = overflow_;
      }
      if (overflow) {
        reason =
            "the client fell more than " + std::to_string(limit_) + " bytes behind; disconnected";
        break;
      }
      if (out.empty()) {
        co_await ch_->wait(std::chrono::hours(1));
        continue;
      }
      if (ndjson) {
        ok = co_await ch_->send("changes", std::nullopt, out);
      } else {
        static constexpr std::string_view head = "{\"type\":\"changes\",\"changes\":[";
        asio::const_buffer parts[] = {asio::buffer(head), asio::buffer(out), asio::buffer("]}", 2)};
        ok = co_await ch_->send("changes", std::nullopt, parts);
      }
    }
  }
  {
    std::lock_guard lk(mu_);
    gone_ = true;
  }
  co_await ch_->close(1008, reason);
  stopper_(std::move(query_));  // the query's thread stops and is joined off this loop
}

}  // namespace sluice::http
