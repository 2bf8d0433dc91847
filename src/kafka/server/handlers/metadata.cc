#include <spdlog/spdlog.h>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {

struct topic_query {
  std::optional<std::string> name;
  uuid id{};
};

void write_topic(request_context& ctx, error_code err, std::optional<std::string_view> name,
                 const uuid& id, const log::topic* t) {
  auto& out = ctx.out;
  out.i16(code(err));
  if (ctx.version >= 12) {
    out.nullable_string(name);
  } else {
    out.string(name.value_or(""));
  }
  if (ctx.version >= 10) out.write_uuid(t ? t->id() : id);
  if (ctx.version >= 1) out.boolean(name && name->starts_with("__"));  // is_internal
  int32_t n = t ? t->partition_count() : 0;
  out.array_len(static_cast<size_t>(n));
  for (int32_t p = 0; p < n; ++p) {
    out.i16(code(error_code::none));
    out.i32(p);
    out.i32(ctx.b.config.node_id);     // leader
    if (ctx.version >= 7) out.i32(0);  // leader_epoch
    out.array_len(1);
    out.i32(ctx.b.config.node_id);  // replicas
    out.array_len(1);
    out.i32(ctx.b.config.node_id);           // isr
    if (ctx.version >= 5) out.array_len(0);  // offline replicas
    out.tagged_fields();
  }
  if (ctx.version >= 8) out.i32(INT32_MIN);  // topic_authorized_operations: not requested
  out.tagged_fields();
}

}  // namespace

boost::asio::awaitable<void> handle_metadata(request_context& ctx) {
  auto& in = ctx.in;
  int32_t n = in.array_len();
  std::optional<std::vector<topic_query>> wanted;
  if (n >= 0 && !(ctx.version == 0 && n == 0)) {
    wanted.emplace();
    for (int32_t i = 0; i < n; ++i) {
      topic_query q;
      if (ctx.version >= 10) q.id = in.read_uuid();
      q.name = ctx.version >= 10 ? in.nullable_string() : std::optional(in.string());
      in.tagged_fields();
      wanted->push_back(std::move(q));
    }
  }
  bool allow_auto_create = ctx.version >= 4 ? in.boolean() : true;
  if (ctx.version >= 8 && ctx.version <= 10) in.boolean();  // include_cluster_authorized_ops
  if (ctx.version >= 8) in.boolean();                       // include_topic_authorized_ops
  in.tagged_fields();
  ctx.expect_end();

  auto& out = ctx.out;
  if (ctx.version >= 3) out.i32(0);  // throttle_time_ms
  out.array_len(1);
  out.i32(ctx.b.config.node_id);
  out.string(ctx.where().advertised_host);
  out.i32(ctx.where().advertised_port);
  if (ctx.version >= 1) out.nullable_string(std::nullopt);  // rack
  out.tagged_fields();
  if (ctx.version >= 2) out.nullable_string(ctx.b.config.cluster_id);
  if (ctx.version >= 1) out.i32(ctx.b.config.node_id);  // controller

  using security::acl_operation;
  using security::resource_type;
  auto may_describe = [&](std::string_view name) {
    return ctx.allowed(acl_operation::describe, resource_type::topic, name);
  };
  if (!wanted) {
    // Topics the principal may not describe are left out, as if they did not exist.
    auto all = ctx.b.log.topics();
    std::erase_if(all, [&](const auto& t) { return !may_describe(t->name()); });
    out.array_len(all.size());
    for (const auto& t : all)
      write_topic(ctx, error_code::none, t->name(), t->id(), t.get());
  } else {
    out.array_len(wanted->size());
    for (const auto& q : *wanted) {
      if (!q.name) {
        // Lookup by topic id (v10+).
        std::shared_ptr<log::topic> found;
        for (auto& t : ctx.b.log.topics())
          if (t->id() == q.id) found = t;
        if (found && !may_describe(found->name()))
          write_topic(ctx, error_code::topic_authorization_failed, std::nullopt, q.id, nullptr);
        else if (found)
          write_topic(ctx, error_code::none, found->name(), found->id(), found.get());
        else
          write_topic(ctx, error_code::unknown_topic_id, std::nullopt, q.id, nullptr);
        continue;
      }
      if (!may_describe(*q.name)) {
        write_topic(ctx, error_code::topic_authorization_failed, *q.name, q.id, nullptr);
        continue;
      }
      auto t = ctx.b.log.find_topic(*q.name);
      // Creating on first use needs CREATE on the cluster or on the topic, as CreateTopics.
      if (!t && allow_auto_create && ctx.b.config.auto_create_topics &&
          (ctx.allowed_on_cluster(acl_operation::create) ||
           ctx.allowed(acl_operation::create, resource_type::topic, *q.name))) {
        auto created = co_await off_loop(ctx.b, [&] {
          return ctx.b.log.create_topic(*q.name, ctx.b.log.options().default_partitions, {});
        });
        if (created) {
          t = *created;
        } else if (created.code() == errc::topic_exists) {
          t = ctx.b.log.find_topic(*q.name);  // another client created it just now
        } else {
          write_topic(ctx, to_kafka(created.code()), *q.name, q.id, nullptr);
          continue;
        }
      }
      if (t) {
        write_topic(ctx, error_code::none, t->name(), t->id(), t.get());
      } else {
        write_topic(ctx,
                    log::log::valid_topic_name(*q.name) ? error_code::unknown_topic_or_partition
                                                        : error_code::invalid_topic_exception,
                    *q.name, q.id, nullptr);
      }
    }
  }
  if (ctx.version >= 8 && ctx.version <= 10) out.i32(INT32_MIN);  // cluster_authorized_ops
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
