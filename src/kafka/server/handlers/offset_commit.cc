#include <map>

#include "base/await_callback.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/handlers/offset_commit_body.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_offset_commit(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  group::commit_request r;
  r.group_id = in.string();
  if (v >= 1) {
    r.generation = in.i32();
    r.who.member_id = in.string();
  }
  if (v >= 7) r.who.instance_id = in.nullable_string();
  if (v >= 2 && v <= 4) in.i64();  // retention_time_ms: offsets are kept until deleted
  auto order = read_committed_offsets(in, v >= 6, /*commit_timestamp=*/v == 1, r.offsets);
  in.tagged_fields();
  ctx.expect_end();

  std::map<group::topic_partition, error_code> errors;
  // Committing needs READ on the group, and READ on each topic (those without are answered
  // TOPIC_AUTHORIZATION_FAILED and left out of the commit).
  bool group_allowed =
      ctx.allowed(security::acl_operation::read, security::resource_type::group, r.group_id);
  std::erase_if(r.offsets, [&](const auto& e) {
    if (!group_allowed ||
        ctx.allowed(security::acl_operation::read, security::resource_type::topic, e.first.topic))
      return false;
    errors[e.first] = error_code::topic_authorization_failed;
    return true;
  });
  if (!ctx.b.groups || !group_allowed) {
    for (auto& [tp, o] : r.offsets)
      errors[tp] = ctx.b.groups ? error_code::group_authorization_failed
                                : error_code::coordinator_not_available;
  } else {
    auto* groups = ctx.b.groups;
    using outcome = std::pair<errc, group::partition_errors>;
    auto res = co_await await_callback<outcome>([&](auto done) {
      groups->commit(std::move(r), [done = std::move(done)](errc e, group::partition_errors pe) {
        done(outcome{e, std::move(pe)});
      });
    });
    for (auto& [tp, e] : res.second)
      errors[tp] = e == errc::io_error ? error_code::coordinator_not_available : to_kafka(e);
  }
  auto& out = ctx.out;
  if (v >= 3) out.i32(0);  // throttle_time_ms
  write_partition_errors(out, order, errors);
  out.tagged_fields();
}

}  // namespace sluice::kafka
