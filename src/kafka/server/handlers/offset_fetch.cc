#include <map>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {

struct group_request {
  std::string group_id;
  std::optional<std::vector<group::topic_partition>> which;  // nullopt: every partition
};

// Topics requested as [name, [partition]] (null: all the group committed).
std::optional<std::vector<group::topic_partition>> read_topics(reader& in) {
  int32_t nt = in.array_len();
  if (nt < 0) return std::nullopt;
  std::vector<group::topic_partition> which;
  for (int32_t i = 0; i < nt; ++i) {
    std::string topic = in.string();
    int32_t np = in.array_len(4);
    for (int32_t j = 0; j < np; ++j)
      which.push_back({topic, in.i32()});
    in.tagged_fields();
  }
  return which;
}

bool may_describe_group(const request_context& ctx, const std::string& group_id) {
  return ctx.allowed(security::acl_operation::describe, security::resource_type::group, group_id);
}

// The committed offsets of one group, by topic in the order first seen (topics the principal
// may not describe left out).
void write_group(request_context& ctx, const group_request& g, bool require_stable) {
  auto& out = ctx.out;
  const int16_t v = ctx.version;
  std::vector<std::pair<group::topic_partition, group::committed_offset>> found;
  if (ctx.b.groups && may_describe_group(ctx, g.group_id))
    found = ctx.b.groups->fetch(g.group_id, g.which);
  std::erase_if(found, [&](const auto& e) {
    return !ctx.allowed(security::acl_operation::describe, security::resource_type::topic,
                        e.first.topic);
  });
  std::map<std::string, std::vector<std::pair<int32_t, group::committed_offset>>> by_topic;
  std::vector<std::string> topic_order;
  for (auto& [tp, o] : found) {
    if (!by_topic.contains(tp.topic)) topic_order.push_back(tp.topic);
    by_topic[tp.topic].emplace_back(tp.partition, o);
  }
  out.array_len(topic_order.size());
  for (const auto& t : topic_order) {
    out.string(t);
    out.array_len(by_topic[t].size());
    for (const auto& [p, o] : by_topic[t]) {
      // An offset an open transaction may still replace is not given to a consumer that
      // asked for stable offsets (read_committed); it retries.
      const bool unstable = require_stable && ctx.b.groups->unstable(g.group_id, {t, p});
      out.i32(p);
      out.i64(unstable ? -1 : o.offset);
      if (v >= 5) out.i32(o.leader_epoch);
      out.nullable_string(o.metadata);
      out.i16(code(unstable ? error_code::unstable_offset_commit : error_code::none));
      out.tagged_fields();
    }
    out.tagged_fields();
  }
}

}  // namespace

// OffsetFetch: one group (v1-7) or several in one request (v8, as admin tools and lag monitors
// ask).
boost::asio::awaitable<void> handle_offset_fetch(request_context& ctx) {
  auto& in = ctx.in;
  const int16_t v = ctx.version;
  std::vector<group_request> groups;
  if (v <= 7) {
    group_request g;
    g.group_id = in.string();
    g.which = read_topics(in);
    groups.push_back(std::move(g));
  } else {
    int32_t n = in.array_len();
    for (int32_t i = 0; i < n; ++i) {
      group_request g;
      g.group_id = in.string();
      g.which = read_topics(in);
      in.tagged_fields();
      groups.push_back(std::move(g));
    }
  }
  const bool require_stable = v >= 7 && in.boolean();
  in.tagged_fields();
  ctx.expect_end();

  auto top = [&](const group_request& g) {
    return !ctx.b.groups                          ? error_code::coordinator_not_available
           : !may_describe_group(ctx, g.group_id) ? error_code::group_authorization_failed
                                                  : error_code::none;
  };
  auto& out = ctx.out;
  if (v >= 3) out.i32(0);  // throttle_time_ms
  if (v <= 7) {
    write_group(ctx, groups.front(), require_stable);
    if (v >= 2) out.i16(code(top(groups.front())));
  } else {
    out.array_len(groups.size());
    for (const auto& g : groups) {
      out.string(g.group_id);
      write_group(ctx, g, require_stable);
      out.i16(code(top(g)));
      out.tagged_fields();
    }
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
