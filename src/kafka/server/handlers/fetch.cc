#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/wakeup.h"

namespace sluice::kafka {

namespace {

struct fetch_partition {
  int32_t index = 0;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  std::shared_ptr<log::partition> p;
  // Filled by each pass:
  error_code err = error_code::none;
  bool denied = false;  // no READ on the topic
  log::read_result data;
  std::vector<log::aborted_transaction> aborted;  // read_committed only
};

struct fetch_topic {
  std::string name;
  std::vector<fetch_partition> partitions;
};

}  // namespace

boost::asio::awaitable<void> handle_fetch(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  in.i32();  // replica_id
  int32_t max_wait_ms = in.i32();
  int32_t min_bytes = in.i32();
  int32_t max_bytes = in.i32();
  const auto level =
      in.i8() == 1 ? log::isolation::read_committed : log::isolation::read_uncommitted;
  if (v >= 7) {
    in.i32();  // session_id: sessions are not kept; every fetch is a full fetch
    in.i32();  // session_epoch
  }
  std::vector<fetch_topic> topics;
  int32_t n_topics = in.array_len();
  for (int32_t i = 0; i < n_topics; ++i) {
    fetch_topic t;
    t.name = in.string();
    bool allowed =
        ctx.allowed(security::acl_operation::read, security::resource_type::topic, t.name);
    auto topic = allowed ? ctx.b.log.find_topic(t.name) : nullptr;
    int32_t n = in.array_len();
    for (int32_t j = 0; j < n; ++j) {
      fetch_partition fp;
      fp.index = in.i32();
      if (v >= 9) in.i32();  // current_leader_epoch
      fp.offset = in.i64();
      if (v >= 12) in.i32();  // last_fetched_epoch
      if (v >= 5) in.i64();   // log_start_offset (followers only)
      fp.max_bytes = in.i32();
      in.tagged_fields();
      fp.p = topic ? topic->get(fp.index) : nullptr;
      fp.denied = !allowed;
      t.partitions.push_back(std::move(fp));
    }
    in.tagged_fields();
    topics.push_back(std::move(t));
  }
  if (v >= 7) {
    int32_t n = in.array_len();
    for (int32_t i = 0; i < n; ++i) {
      in.string();
      int32_t m = in.array_len(4);
      for (int32_t j = 0; j < m; ++j)
        in.i32();
      in.tagged_fields();
    }
  }
  if (v >= 11) in.string();  // rack_id
  in.tagged_fields();
  ctx.expect_end();

  // max_bytes bounds the whole response, not only its records: clients size their receive
  // buffer from it (librdkafka allows fetch.max.bytes + 512), so the encoding overhead of the
  // response (generously 64 bytes a partition) comes out of the record budget.
  size_t overhead = 64;
  for (const auto& t : topics)
    overhead += 64 + t.name.size() + 64 * t.partitions.size();
  const size_t record_budget = static_cast<size_t>(std::max(max_bytes, 0)) > overhead
                                   ? static_cast<size_t>(max_bytes) - overhead
                                   : 0;
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(max_wait_ms, 0));
  auto wake = std::make_shared<wakeup>(ctx.executor);
  std::weak_ptr<wakeup> weak = wake;
  for (;;) {
    // Register before reading so that an append between the read and the wait is not missed.
    for (auto& t : topics)
      for (auto& fp : t.partitions)
        if (fp.p) fp.p->on_next_append(wake, [weak] { wakeup::notify(weak); });

    size_t total = 0;
    bool any_error = false;
    for (auto& t : topics) {
      for (auto& fp : t.partitions) {
        fp.data = {};
        fp.err = error_code::none;
        if (!fp.p) {
          fp.err = fp.denied ? error_code::topic_authorization_failed
                             : error_code::unknown_topic_or_partition;
          any_error = true;
          continue;
        }
        size_t budget = total >= record_budget ? 0 : record_budget - total;
        size_t limit = std::min(budget, static_cast<size_t>(std::max(fp.max_bytes, 0)));
        auto r = fp.p->read(model::offset(fp.offset), limit, level);
        if (!r) {
          fp.err = to_kafka(r.code());
          any_error = true;
          fp.data.high_watermark = fp.p->high_watermark();
          fp.data.last_stable = fp.p->last_stable_offset();
          fp.data.log_start = fp.p->log_start();
          continue;
        }
        // Only the first partition with data may exceed the limits (so that a batch larger
        // than max_bytes still makes progress, as KIP-74 says).
        if (r->len > limit && total > 0) {
          r->len = 0;
          r->seg.reset();
        }
        total += r->len;
        fp.data = std::move(*r);
      }
    }
    if (total >= static_cast<size_t>(std::max(min_bytes, 0)) || any_error ||
        std::chrono::steady_clock::now() >= deadline)
      break;
    co_await wake->wait_until(deadline);
  }
  // Clients drop the batches of these transactions (and skip their markers) themselves. Every
  // abort that overlaps the records returned, which all lie below the last stable offset.
  if (level == log::isolation::read_committed)
    for (auto& t : topics)
      for (auto& fp : t.partitions)
        if (fp.p && fp.data.len > 0)
          fp.aborted = fp.p->aborted_transactions(model::offset(fp.offset), fp.data.last_stable);

  auto& out = ctx.out;
  ctx.throttle_field();
  if (v >= 7) {
    out.i16(code(error_code::none));
    out.i32(0);  // session_id: no session
  }
  out.array_len(topics.size());
  for (auto& t : topics) {
    out.string(t.name);
    out.array_len(t.partitions.size());
    for (auto& fp : t.partitions) {
      out.i32(fp.index);
      out.i16(code(fp.err));
      out.i64(fp.p ? fp.data.high_watermark.value() : -1);
      out.i64(fp.p ? fp.data.last_stable.value() : -1);
      if (v >= 5) out.i64(fp.p ? fp.data.log_start.value() : -1);
      if (level == log::isolation::read_committed) {
        out.array_len(fp.aborted.size());
        for (const auto& a : fp.aborted) {
          out.i64(a.producer_id);
          out.i64(a.first_offset);
          out.tagged_fields();
        }
      } else {
        out.null_array();
      }
      if (v >= 11) out.i32(-1);  // preferred_read_replica
      ctx.out_file_bytes(std::move(fp.data));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
}

}  // namespace sluice::kafka
