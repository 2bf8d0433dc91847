#include "http/queue_api.h"
#include "base/json_writer.h"

#include <simdjson.h>

#include <chrono>

#include "base/await_callback.h"
#include "base/clock.h"
#include "base/run_on.h"
#include "http/durable_append.h"
#include "http/error_body.h"
#include "http/json_payload.h"
#include "http/url.h"
#include "log/log.h"
#include "queue/manager.h"
#include "stream/value.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using asio::awaitable;
using asio::use_awaitable;
using request = bhttp::request<bhttp::string_body>;

namespace {

rest_answer fail(unsigned status, const std::string& message) {
  return {status, error_body(static_cast<int>(status), message)};
}

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

}  // namespace

awaitable<std::optional<rest_answer>> queue_api::handle(const request& req) {
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/v1/queues" && !path.starts_with("/v1/queues/")) co_return std::nullopt;
  auto method = req.method();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto parse_body = [&]() -> bool {
    std::string_view body = req.body();
    if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) body = "{}";
    return !parser.parse(body.data(), body.size()).get(doc) && doc.is_object();
  };

  if (path == "/v1/queues" || path == "/v1/queues/") {
    if (method == bhttp::verb::get) {
      json_writer w;
      w.begin_object().key("queues").begin_array();
      for (const auto& q : queues_.list())
        write_stats(w, *q);
      w.end_array().end_object();
      co_return rest_answer{200, std::move(w).str()};
    }
    if (method != bhttp::verb::post) co_return fail(405, "use GET or POST");
    auto s = queue::settings_from_json(req.body());
    if (!s) co_return fail(400, s.error().message);
    int64_t partitions = 1;
    if (parse_body()) {
      int64_t n = 0;
      if (!doc["partitions"].get_int64().get(n)) partitions = n;
    }
    if (partitions < 1 || partitions > 10'000) co_return fail(400, "partitions must be 1..10000");
    auto q = queues_.create(*s, static_cast<int32_t>(partitions));
    if (!q) {
      unsigned status = q.code() == errc::topic_exists ? 409
                        : q.code() == errc::io_error   ? 500
                                                       : 400;
      co_return fail(status, q.error().message);
    }
    co_return rest_answer{201, stats_json(**q)};
  }

  std::string_view rest = path.substr(11);
  auto slash = rest.find('/');
  std::string name = percent_decode(rest.substr(0, slash));
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  auto q = queues_.find(name);
  if (!q) co_return fail(404, "no queue '" + name + "'");

  if (action.empty()) {
    if (method == bhttp::verb::get) co_return rest_answer{200, stats_json(*q)};
    if (method == bhttp::verb::delete_) {
      q.reset();
      if (auto r = queues_.drop(name); !r) co_return fail(500, r.error().message);
      co_return rest_answer{204, {}};
    }
    co_return fail(405, "use GET or DELETE");
  }
  if (method != bhttp::verb::post) co_return fail(405, "use POST");
  if (!parse_body()) co_return fail(400, "expected a JSON object");
  // Sends go to the topic, which did not fail; everything else needs the journal.
  if (auto why = q->failure(); !why.empty() && action != "messages")
    co_return fail(503, "queue '" + name + "' failed (" + why +
                            "): deliveries and settlements are refused until a restart");

  if (action == "messages") {
    simdjson::dom::array msgs;
    if (doc["messages"].get_array().get(msgs) || msgs.size() == 0)
      co_return fail(400, "expected {\"messages\":[{\"value\":..},..]}");
    // The messages are records of the queue's topic (which a drop leaves in place).
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
            co_return fail(400, "message " + std::to_string(n) +
                                    ": headers starting with sluice. are reserved");
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
    co_return rest_answer{200, std::move(w).str()};
  }

  if (action == "receive") {
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
    std::string payload;
    auto write_payload = [&](const auto& p) {
      payload.clear();
      append_json_payload(payload, p, parser);
      w.raw(payload);
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
        payload.clear();
        append_json_text(payload, *hv);
        w.raw(payload);
      }
      w.end_object().end_object();
    }
    w.end_array().end_object();
    co_return rest_answer{200, std::move(w).str()};
  }

  if (action == "dlq-replay") {
    int64_t max = INT64_MAX;
    simdjson::dom::element e;
    if (!doc["max"].get(e) && (e.get_int64().get(max) || max < 1))
      co_return fail(400, "max must be >= 1");
    auto r = co_await run_on(workers_, [&] { return queues_.replay_dead_letters(name, max); });
    if (!r) co_return fail(500, r.error().message);
    json_writer w;
    w.begin_object().key("replayed").value(static_cast<uint64_t>(*r)).end_object();
    co_return rest_answer{200, std::move(w).str()};
  }

  std::vector<std::string> receipts;
  std::string err;
  if (!receipts_of(doc, receipts, err)) co_return fail(400, err);
  if (action == "ack") {
    auto [outcomes, r] =
        co_await settled([&](queue::queue::settle_done d) { q->ack(receipts, d); });
    if (!r) co_return fail(500, "not made durable: " + r.error().message);
    co_return rest_answer{200, results_json(outcomes)};
  }
  if (action == "reject") {
    std::string_view reason = "rejected by the consumer";
    simdjson::dom::element e;
    if (!doc["reason"].get(e) && e.get_string().get(reason))
      co_return fail(400, "reason must be a string");
    std::string why(reason);
    auto [outcomes, r] =
        co_await settled([&](queue::queue::settle_done d) { q->reject(receipts, why, d); });
    if (!r) co_return fail(500, "not dead-lettered: " + r.error().message);
    co_return rest_answer{200, results_json(outcomes)};
  }
  if (action == "nack") {
    std::optional<int64_t> delay;
    simdjson::dom::element e;
    if (!doc["delay_ms"].get(e)) {
      int64_t d = 0;
      if (e.get_int64().get(d) || d < 0) co_return fail(400, "delay_ms must be >= 0");
      delay = d;
    }
    co_return rest_answer{200, results_json(q->nack(receipts, delay))};
  }
  if (action == "extend") {
    int64_t visibility = 0;
    simdjson::dom::element e;
    if (!doc["visibility_timeout_ms"].get(e) && (e.get_int64().get(visibility) || visibility < 1))
      co_return fail(400, "visibility_timeout_ms must be >= 1");
    co_return rest_answer{200, results_json(q->extend(receipts, visibility))};
  }
  co_return fail(404, "no such endpoint: " + std::string(path));
}

}  // namespace sluice::http
