#include <map>

#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/offset_commit_body.h"

namespace sluice::kafka {

// TxnOffsetCommit: offsets written in the producer's transaction, visible to the group once
// it commits (dropped if it aborts).
boost::asio::awaitable<void> handle_txn_offset_commit(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  auto id = in.string();
  auto group_id = in.string();
  group::producer_identity who;
  who.producer_id = in.i64();
  who.epoch = in.i16();
  int32_t generation = -1;
  group::member_identity member;
  if (v >= 3) {
    generation = in.i32();
    member.member_id = in.string();
    member.instance_id = in.nullable_string();
  }
  committed_offsets offsets;
  auto order = read_committed_offsets(in, v >= 2, false, offsets);
  in.tagged_fields();
  ctx.expect_end();

  std::map<group::topic_partition, error_code> errors;
  error_code denied = error_code::none;
  if (!ctx.allowed(security::acl_operation::write, security::resource_type::transactional_id, id))
    denied = error_code::transactional_id_authorization_failed;
  else if (!ctx.allowed(security::acl_operation::read, security::resource_type::group, group_id))
    denied = error_code::group_authorization_failed;
  std::erase_if(offsets, [&](const auto& e) {
    if (denied != error_code::none ||
        ctx.allowed(security::acl_operation::read, security::resource_type::topic, e.first.topic))
      return false;
    errors[e.first] = error_code::topic_authorization_failed;
    return true;
  });
  if (!ctx.b.transactions || !ctx.b.groups || denied != error_code::none) {
    for (const auto& [tp, o] : offsets)
      errors[tp] = denied != error_code::none ? denied : error_code::coordinator_not_available;
  } else {
    auto* txns = ctx.b.transactions;
    using outcome = std::pair<errc, group::partition_errors>;
    auto res = co_await await_callback<outcome>([&](auto done) {
      txns->commit_offsets(id, who, group_id, generation, member, std::move(offsets),
                           [done = std::move(done)](errc e, group::partition_errors pe) {
                             done(outcome{e, std::move(pe)});
                           });
    });
    for (const auto& [tp, e] : res.second)
      errors[tp] = to_kafka_txn(e, v >= 3);
  }
  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  write_partition_errors(out, order, errors);
  out.tagged_fields();
}

}  // namespace sluice::kafka
