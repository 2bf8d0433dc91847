#include <spdlog/spdlog.h>

#include "base/clock.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/wakeup.h"
#include "log/record_batch.h"
#include "log/segment_format.h"

namespace sluice::kafka {

namespace {

struct partition_result {
  int32_t index = 0;
  error_code err = error_code::none;
  std::string message;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start = -1;
  bool waiting_for_sync = false;
};

struct topic_result {
  std::string name;
  std::vector<partition_result> partitions;
};

// Shared between the handler (on its event loop) and the flusher's completions.
struct sync_state {
  std::shared_ptr<wakeup> wake;
  int pending = 0;
  std::vector<topic_result> results;  // here so that late completions never outlive it
};

// A transactional batch must belong to its producer's open transaction, which must already
// hold the partition (AddPartitionsToTxn); otherwise the partition would hold a transaction
// that no marker ever ends and its last stable offset would stop there.
errc check_transactional(const request_context& ctx, bool has_transactional_id, bytes_view records,
                         const group::topic_partition& tp) {
  if (records.size() < log::format::k_batch_header_size) return errc::ok;  // append refuses it
  auto h = log::parse_batch_header(records.data());
  if (!h.transactional()) return errc::ok;
  if (!has_transactional_id || !ctx.b.transactions) return errc::invalid_txn_state;
  return ctx.b.transactions->check_produce({h.producer_id, h.producer_epoch}, tp);
}

}  // namespace

boost::asio::awaitable<void> handle_produce(request_context& ctx) {
  auto& in = ctx.in;
  auto transactional_id = in.nullable_string();
  int16_t acks = in.i16();
  int32_t timeout_ms = in.i32();
  auto state = std::make_shared<sync_state>();
  auto& results = state->results;
  state->wake = std::make_shared<wakeup>(ctx.executor);
  bool acks_valid = acks == -1 || acks == 0 || acks == 1;
  int64_t now = now_ms();

  // The partitions of this request share one sync round (ends before the first co_await).
  std::optional<log::sync_batch> syncs(std::in_place, ctx.b.log);
  using security::acl_operation;
  bool txn_allowed = !transactional_id ||
                     ctx.allowed(acl_operation::write, security::resource_type::transactional_id,
                                 *transactional_id);
  int32_t n_topics = in.array_len();
  for (int32_t i = 0; i < n_topics; ++i) {
    topic_result tr;
    tr.name = in.string();
    bool topic_allowed = ctx.allowed(acl_operation::write, security::resource_type::topic, tr.name);
    auto topic = ctx.b.log.find_topic(tr.name);
    int32_t n_parts = in.array_len();
    for (int32_t j = 0; j < n_parts; ++j) {
      partition_result pr;
      pr.index = in.i32();
      auto records = in.nullable_bytes();
      in.tagged_fields();
      if (!acks_valid) {
        pr.err = error_code::invalid_required_acks;
      } else if (!txn_allowed) {
        pr.err = error_code::transactional_id_authorization_failed;
      } else if (!topic_allowed) {
        pr.err = error_code::topic_authorization_failed;
      } else if (!topic || !topic->get(pr.index)) {
        pr.err = error_code::unknown_topic_or_partition;
      } else if (!records || records->empty()) {
        pr.err = error_code::invalid_record;
        pr.message = "no records";
      } else if (auto e = check_transactional(ctx, transactional_id.has_value(), *records,
                                              {tr.name, pr.index});
                 e != errc::ok) {
        pr.err = to_kafka_txn(e, false);
        pr.message = transactional_id ? "the batch is not part of the producer's transaction"
                                      : "a transactional batch without a transactional id";
      } else {
        auto p = topic->get(pr.index);
        std::span<uint8_t> batch(in.mutable_data(*records), records->size());
        auto r = p->append(batch, now);
        if (!r) {
          pr.err = to_kafka(r.code());
          pr.message = r.error().message;
          spdlog::debug("produce {}-{} from {}: {}", tr.name, pr.index, ctx.client_id, pr.message);
        } else {
          pr.base_offset = r->base_offset.value();
          pr.log_append_time = r->log_append_time;
          pr.log_start = r->log_start.value();
          if (acks == -1) {
            // Answer only once the batch is on disk; the sync is shared with every other
            // producer of this partition (group commit).
            pr.waiting_for_sync = true;
            ++state->pending;
            auto ex = ctx.executor;
            size_t ti = results.size(), pi = tr.partitions.size();
            p->when_durable(r->last_offset, [state, ex, ti, pi](result<void> done) {
              boost::asio::post(ex, [state, ti, pi, done = std::move(done)] {
                auto& slot = state->results[ti].partitions[pi];
                if (!slot.waiting_for_sync) return;  // already answered (timeout)
                slot.waiting_for_sync = false;
                if (!done) {
                  slot.err = to_kafka(done.code());
                  slot.message = done.error().message;
                }
                if (--state->pending == 0) state->wake->notify_here();
              });
            });
          }
        }
      }
      tr.partitions.push_back(std::move(pr));
    }
    in.tagged_fields();
    results.push_back(std::move(tr));
  }
  in.tagged_fields();
  syncs.reset();
  ctx.expect_end();

  if (acks == 0) {
    ctx.send_response = false;
    co_return;
  }
  if (state->pending > 0) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(std::max<int32_t>(timeout_ms, 0));
    while (state->pending > 0) {
      if (!co_await state->wake->wait_until(deadline)) break;
    }
    for (auto& tr : results)
      for (auto& pr : tr.partitions)
        if (pr.waiting_for_sync) {
          pr.waiting_for_sync = false;
          pr.err = error_code::request_timed_out;
          pr.message = "the write did not reach the disk within timeout_ms";
        }
  }

  auto& out = ctx.out;
  out.array_len(results.size());
  for (const auto& tr : results) {
    out.string(tr.name);
    out.array_len(tr.partitions.size());
    for (const auto& pr : tr.partitions) {
      out.i32(pr.index);
      out.i16(code(pr.err));
      out.i64(pr.err == error_code::none ? pr.base_offset : -1);
      out.i64(pr.log_append_time);
      if (ctx.version >= 5) out.i64(pr.log_start);
      if (ctx.version >= 8) {
        out.array_len(0);  // record_errors
        out.string_or_null(pr.message);
      }
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  ctx.throttle_field();
  out.tagged_fields();
}

}  // namespace sluice::kafka
