#include "http/queue_api.h"
#include "base/json_writer.h"

#include <simdjson.h>

#include <chrono>

#include "base/await_callback.h"
#include "base/clock.h"
#include "base/run_on.h"
#include "http/durable_append.h"
#include "http/json_payload.h"
#include "http/rest_proxy.h"
#include "http/url.h"
#include "log/log.h"
#include "queue/manager.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;

namespace {

void write_stats(json_writer& w, const queue::queue& q) {
  auto st = q.stats();
  w.begin_object();
  queue::write_json_members(w, q.settings());
  w.key("ready").value(st.ready).key("in_flight").value(st.in_flight);
  w.key("delayed").value(st.delayed).key("dead_lettered").value(st.dead_lettered);
  w.key("oldest_age_ms").value(st.oldest_age_ms);
  w.key("acked").value(st.acked).key("nacked").value(st.nacked);
  w.key("rejected").value(st.rejected).key("expired").value(st.expired);
  w.key("redelivered").value(st.redelivered);
  if (auto why = q.failure(); !why.empty()) w.key("failed").value(why);
  w.end_object();
}

std::string stats_json(const queue::queue& q) {
  json_writer w;
  write_stats(w, q);
  return std::move(w).str();
}

const char* outcome_name(queue::outcome o) {
  switch (o) {
    case queue::outcome::ok:
      return "ok";
    case queue::outcome::stale:
      return "stale";
    case queue::outcome::bad_receipt:
      return "bad_receipt";
  }
  return "?";
}

std::string results_json(const std::vector<queue::outcome>& rs) {
  json_writer w;
  w.begin_object().key("results").begin_array();
  for (auto r : rs)
    w.value(outcome_name(r));
  w.end_array().end_object();
  return std::move(w).str();
}

// {"receipts":[..]} of a body; false with `err` otherwise.
bool receipts_of(simdjson::dom::element doc, std::vector<std::string>& out, std::string& err) {
  simdjson::dom::array arr;
  if (doc["receipts"].get_array().get(arr)) {
    err = "expected {\"receipts\":[\"...\",..]}";
    return false;
  }
  for (auto r : arr) {
    std::string_view s;
    if (r.get_string().get(s)) {
      err = "receipts must be strings";
      return false;
    }
    out.emplace_back(s);
  }
  return true;
}

// Runs a settlement whose answer comes from another thread; resumes on the loop.
awaitable<std::pair<std::vector<queue::outcome>, result<void>>> settled(
    std::function<void(queue::queue::settle_done)> start) {
  using outcome = std::pair<std::vector<queue::outcome>, result<void>>;
  co_return co_await await_callback<outcome>([&](auto done) {
    start([done](std::vector<queue::outcome> o, result<void> r) {
      done(outcome{std::move(o), std::move(r)});
    });
  });
}

// The JSON object of a request body (an empty body is {}); false if it is not one.
bool parse_object(const request& req, simdjson::dom::parser& parser, simdjson::dom::element& doc) {
  std::string_view body = req.body();
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) body = "{}";
  return !parser.parse(body.data(), body.size()).get(doc) && doc.is_object();
}

}  // namespace

void queue_api::add_routes(router& r) {
  using verb = bhttp::verb;
  using op = security::acl_operation;
  using api = queue_api;
  r.add(verb::post, "/v1/queues", needs::cluster(op::create), this, &api::create);
  r.add(verb::get, "/v1/queues", needs::cluster(op::describe), this, &api::list);
  r.add(verb::get, "/v1/queues/{q}", needs::topic(op::describe), this, &api::describe);
  r.add(verb::delete_, "/v1/queues/{q}", needs::topic(op::remove), this, &api::drop);
  r.add(verb::post, "/v1/queues/{q}/messages", needs::topic(op::write), this, &api::send);
  r.add(verb::post, "/v1/queues/{q}/receive", needs::topic(op::read), this, &api::receive);
  for (std::string_view action : {"ack", "nack", "reject", "extend"}) {
    std::string path = "/v1/queues/{q}/" + std::string(action);
    r.add({verb::post, path, path, needs::topic(op::read),
           [this, action](const call& c) { return settle(c, action); }});
  }
  r.add(verb::post, "/v1/queues/{q}/dlq-replay", needs::topic(op::write), this, &api::dlq_replay);
}

awaitable<reply> queue_api::list(const call&) {
  json_writer w;
  w.begin_object().key("queues").begin_array();
  for (const auto& q : queues_.list())
    write_stats(w, *q);
  w.end_array().end_object();
  co_return reply{200, std::move(w).str()};
}

awaitable<reply> queue_api::create(const call& c) {
  auto s = queue::settings_from_json(c.req.body());
  if (!s) co_return fail(400, s.error().message);
  int64_t partitions = 1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parse_object(c.req, parser, doc)) {
    int64_t n = 0;
    if (!doc["partitions"].get_int64().get(n)) partitions = n;
  }
  if (partitions < 1 || partitions > 10'000) co_return fail(400, "partitions must be 1..10000");
  auto q = queues_.create(*s, static_cast<int32_t>(partitions));
  if (!q) {
    unsigned status = q.code() == errc::topic_exists ? 409 : q.code() == errc::io_error ? 500 : 400;
    co_return fail(status, q.error().message);
  }
  co_return reply{201, stats_json(**q)};
}

awaitable<reply> queue_api::describe(const call& c) {
  auto q = queues_.find(c.params[0]);
  if (!q) co_return fail(404, "no queue '" + c.params[0] + "'");
  co_return reply{200, stats_json(*q)};
}

awaitable<reply> queue_api::drop(const call& c) {
  const auto& name = c.params[0];
  if (!queues_.find(name)) co_return fail(404, "no queue '" + name + "'");
  if (auto r = queues_.drop(name); !r) co_return fail(500, r.error().message);
  co_return reply{204, {}};
}

awaitable<reply> queue_api::send(const call& c) {
  const auto& name = c.params[0];
  auto q = queues_.find(name);
  if (!q) co_return fail(404, "no queue '" + name + "'");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (!parse_object(c.req, parser, doc)) co_return fail(400, "expected a JSON object");
  simdjson::dom::array msgs;
  if (doc["messages"].get_array().get(msgs) || msgs.size() == 0)
    co_return fail(400, "expected {\"messages\":[{\"value\":..},..]}");
  // The messages are records of the queue's topic (which a drop leaves in place). Sends go to
  // the topic, so a failed journal does not refuse them.
  std::string topic_name = q->settings().name;
  auto topic = log_.find_topic(topic_name);
  if (!topic) co_return fail(404, "the topic of queue '" + name + "' is gone");
  int32_t partitions = topic->partition_count();
  int64_t ts = now_ms();
  std::map<int32_t, log::batch_builder> batches;
  std::vector<std::pair<int32_t, int64_t>> where;
  std::map<int32_t, int64_t> counts;
  size_t n = 0;
  for (simdjson::dom::element m : msgs) {
    ++n;
    simdjson::dom::element key, value, headers;
    std::optional<std::string> k, v;
    if (!m["key"].get(key) && !key.is_null()) k = simdjson::minify(key);
    if (!m["value"].get(value) && !value.is_null()) v = simdjson::minify(value);
    std::vector<std::pair<std::string, std::string>> hs;
    if (!m["headers"].get(headers)) {
      simdjson::dom::object obj;
      if (headers.get_object().get(obj))
        co_return fail(400, "message " + std::to_string(n) + ": headers must be an object");
      for (auto [hk, hv] : obj) {
        std::string_view sv;
        if (hv.get_string().get(sv))
          co_return fail(400, "message " + std::to_string(n) + ": header values are strings");
        if (hk.starts_with("sluice."))
          co_return fail(
              400, "message " + std::to_string(n) + ": headers starting with sluice. are reserved");
        hs.emplace_back(std::string(hk), std::string(sv));
      }
    }
    int64_t delay = 0;
    simdjson::dom::element d;
    if (!m["delay_ms"].get(d)) {
      if (d.get_int64().get(delay) || delay < 0)
        co_return fail(400, "message " + std::to_string(n) + ": delay_ms must be >= 0");
      if (delay > 0) hs.emplace_back("sluice.deliver.after", std::to_string(ts + delay));
    }
    int32_t p = k ? kafka_partition_for_key(*k, partitions)
                  : static_cast<int32_t>(next_++ % static_cast<uint64_t>(partitions));
    auto view = [](const std::optional<std::string>& s) -> std::optional<bytes_view> {
      if (!s) return std::nullopt;
      return as_bytes(*s);
    };
    std::vector<std::pair<std::string_view, bytes_view>> hv;
    for (const auto& [hk, hval] : hs)
      hv.emplace_back(hk, as_bytes(hval));
    batches[p].add(view(k), view(v), ts, hv);
    where.emplace_back(p, counts[p]++);
  }
  auto done = co_await append_durably(*topic, batches, ts);
  if (done.append_error != errc::ok)
    co_return fail(done.append_error == errc::batch_too_large ? 413
                   : done.append_error == errc::no_space      ? 507
                                                              : 500,
                   done.message);
  if (done.sync_failed) co_return fail(500, done.message);
  json_writer w;
  w.begin_object().key("offsets").begin_array();
  for (const auto& [partition, index] : where)
    w.begin_object()
        .key("partition")
        .value(static_cast<int64_t>(partition))
        .key("offset")
        .value(static_cast<int64_t>(done.base_offsets[partition] + index))
        .end_object();
  w.end_array().end_object();
  co_return reply{200, std::move(w).str()};
}

// The queue a delivery or settlement names and the request's JSON object, or the refusal:
// no such queue, not an object, or the queue's journal has failed (until a restart).
std::optional<reply> queue_api::journaled(const call& c, std::shared_ptr<queue::queue>& q,
                                          simdjson::dom::parser& parser,
                                          simdjson::dom::element& doc) {
  const auto& name = c.params[0];
  q = queues_.find(name);
  if (!q) return fail(404, "no queue '" + name + "'");
  if (!parse_object(c.req, parser, doc)) return fail(400, "expected a JSON object");
  if (auto why = q->failure(); !why.empty())
    return fail(503, "queue '" + name + "' failed (" + why +
                         "): deliveries and settlements are refused until a restart");
  return std::nullopt;
}

awaitable<reply> queue_api::receive(const call& c) {
  std::shared_ptr<queue::queue> q;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto refused = journaled(c, q, parser, doc)) co_return std::move(*refused);
  int64_t max = 1, wait = 0, visibility = 0;
  std::string_view consumer = "";
  simdjson::dom::element e;
  if (!doc["max_messages"].get(e) && (e.get_int64().get(max) || max < 1 || max > 10'000))
    co_return fail(400, "max_messages must be 1..10000");
  if (!doc["wait_ms"].get(e) && (e.get_int64().get(wait) || wait < 0))
    co_return fail(400, "wait_ms must be >= 0");
  if (!doc["visibility_timeout_ms"].get(e) && (e.get_int64().get(visibility) || visibility < 1))
    co_return fail(400, "visibility_timeout_ms must be >= 1");
  if (!doc["consumer"].get(e) && e.get_string().get(consumer))
    co_return fail(400, "consumer must be a string");
  wait = std::min<int64_t>(wait, 30'000);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait);
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  auto alive = std::make_shared<int>(0);
  std::vector<queue::message> msgs;
  for (;;) {
    msgs = q->receive(static_cast<size_t>(max), 8 << 20, visibility, std::string(consumer));
    if (!msgs.empty() || std::chrono::steady_clock::now() >= deadline) break;
    // Until a record is appended, a backoff ends, or the deadline.
    auto until = deadline;
    if (auto due = q->next_due()) {
      // Leases end on the manager's next tick (every 10 ms): look again a little after.
      auto in = std::chrono::milliseconds(std::max<int64_t>(0, *due - now_ms()) + 15);
      until = std::min(until, std::chrono::steady_clock::now() + in);
    }
    timer.expires_at(until);
    auto* t = &timer;
    q->when_available(alive, [ex, t, w = std::weak_ptr<int>(alive)] {
      asio::post(ex, [t, w] {
        if (w.lock()) t->cancel();
      });
    });
    co_await timer.async_wait(asio::as_tuple(use_awaitable));
    alive = std::make_shared<int>(0);  // drops the registrations of this round
  }
  json_writer w;
  w.begin_object().key("messages").begin_array();
  auto write_payload = [&](const auto& p) {
    w.raw_with([&](std::string& out) { append_json_payload(out, p, parser); });
  };
  for (const auto& m : msgs) {
    w.begin_object().key("receipt").value(m.receipt);
    w.key("partition").value(static_cast<int64_t>(m.partition));
    w.key("offset").value(static_cast<int64_t>(m.offset));
    w.key("attempt").value(static_cast<int64_t>(m.attempt));
    w.key("timestamp").value(static_cast<int64_t>(m.timestamp));
    w.key("key");
    write_payload(m.key);
    w.key("value");
    write_payload(m.value);
    w.key("headers").begin_object();
    for (const auto& [hk, hv] : m.headers) {
      w.key(hk);
      if (!hv) {
        w.null();
        continue;
      }
      w.raw_with([&](std::string& out) { append_json_text(out, *hv); });
    }
    w.end_object().end_object();
  }
  w.end_array().end_object();
  co_return reply{200, std::move(w).str()};
}

awaitable<reply> queue_api::dlq_replay(const call& c) {
  std::shared_ptr<queue::queue> q;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto refused = journaled(c, q, parser, doc)) co_return std::move(*refused);
  int64_t max = INT64_MAX;
  simdjson::dom::element e;
  if (!doc["max"].get(e) && (e.get_int64().get(max) || max < 1))
    co_return fail(400, "max must be >= 1");
  const auto& name = c.params[0];
  auto r = co_await run_on(workers_, [&] { return queues_.replay_dead_letters(name, max); });
  if (!r) co_return fail(500, r.error().message);
  json_writer w;
  w.begin_object().key("replayed").value(static_cast<uint64_t>(*r)).end_object();
  co_return reply{200, std::move(w).str()};
}

awaitable<reply> queue_api::settle(const call& c, std::string_view action) {
  std::shared_ptr<queue::queue> q;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto refused = journaled(c, q, parser, doc)) co_return std::move(*refused);
  std::vector<std::string> receipts;
  std::string err;
  if (!receipts_of(doc, receipts, err)) co_return fail(400, err);
  simdjson::dom::element e;
  if (action == "ack") {
    auto [outcomes, r] =
        co_await settled([&](queue::queue::settle_done d) { q->ack(receipts, d); });
    if (!r) co_return fail(500, "not made durable: " + r.error().message);
    co_return reply{200, results_json(outcomes)};
  }
  if (action == "reject") {
    std::string_view reason = "rejected by the consumer";
    if (!doc["reason"].get(e) && e.get_string().get(reason))
      co_return fail(400, "reason must be a string");
    std::string why(reason);
    auto [outcomes, r] =
        co_await settled([&](queue::queue::settle_done d) { q->reject(receipts, why, d); });
    if (!r) co_return fail(500, "not dead-lettered: " + r.error().message);
    co_return reply{200, results_json(outcomes)};
  }
  if (action == "nack") {
    std::optional<int64_t> delay;
    if (!doc["delay_ms"].get(e)) {
      int64_t d = 0;
      if (e.get_int64().get(d) || d < 0) co_return fail(400, "delay_ms must be >= 0");
      delay = d;
    }
    co_return reply{200, results_json(q->nack(receipts, delay))};
  }
  int64_t visibility = 0;  // extend
  if (!doc["visibility_timeout_ms"].get(e) && (e.get_int64().get(visibility) || visibility < 1))
    co_return fail(400, "visibility_timeout_ms must be >= 1");
  co_return reply{200, results_json(q->extend(receipts, visibility))};
}

}  // namespace sluice::http
