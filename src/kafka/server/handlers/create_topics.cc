#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_create_topics(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  const int16_t v = ctx.version;
  struct request_topic {
    std::string name;
    int32_t partitions;
    int16_t replication;
    std::vector<std::vector<int32_t>> assignments;
    std::map<std::string, std::string> configs;
    std::optional<std::string> null_config;  // a config whose value was null
  };
  std::vector<request_topic> req;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    request_topic t;
    t.name = in.string();
    t.partitions = in.i32();
    t.replication = in.i16();
    int32_t na = in.array_len();
    for (int32_t j = 0; j < na; ++j) {
      in.i32();  // partition_index
      std::vector<int32_t> brokers;
      int32_t nb = in.array_len(4);
      for (int32_t k = 0; k < nb; ++k)
        brokers.push_back(in.i32());
      in.tagged_fields();
      t.assignments.push_back(std::move(brokers));
    }
    int32_t nc = in.array_len();
    for (int32_t j = 0; j < nc; ++j) {
      auto key = in.string();
      auto value = in.nullable_string();
      in.tagged_fields();
      if (value) {
        t.configs[key] = *value;
      } else {
        t.null_config = key;
      }
    }
    in.tagged_fields();
    req.push_back(std::move(t));
  }
  in.i32();  // timeout_ms
  bool validate_only = v >= 1 ? in.boolean() : false;
  in.tagged_fields();
  ctx.expect_end();

  if (v >= 2) out.i32(0);  // throttle_time_ms
  out.array_len(req.size());
  for (auto& t : req) {
    error_code err = error_code::none;
    std::string message;
    std::shared_ptr<log::topic> created;
    int32_t count = t.partitions == -1 ? ctx.b.log.options().default_partitions : t.partitions;
    if (!t.assignments.empty()) count = static_cast<int32_t>(t.assignments.size());
    bool bad_assignment = false;
    for (const auto& a : t.assignments)
      bad_assignment |= a.size() != 1 || a[0] != ctx.b.config.node_id;
    if (!ctx.allowed_on_cluster(security::acl_operation::create) &&
        !ctx.allowed(security::acl_operation::create, security::resource_type::topic, t.name)) {
      err = error_code::topic_authorization_failed;
      message = "no CREATE permission on the cluster or the topic";
    } else if (t.replication != -1 && t.replication != 1) {
      err = error_code::invalid_replication_factor;
      message = "replication factor " + std::to_string(t.replication) +
                " is larger than the 1 available broker";
    } else if (bad_assignment) {
      err = error_code::invalid_replica_assignment;
      message =
          "replicas must be exactly this broker (" + std::to_string(ctx.b.config.node_id) + ")";
    } else if (t.null_config) {
      err = error_code::invalid_config;
      message = "config " + *t.null_config + " has a null value";
    } else if (validate_only) {
      auto cfg = log::topic_config::with_overrides(ctx.b.log.options().defaults, t.configs);
      if (!log::log::valid_topic_name(t.name)) {
        err = error_code::invalid_topic_exception;
        message = "illegal topic name";
      } else if (ctx.b.log.find_topic(t.name)) {
        err = error_code::topic_already_exists;
      } else if (count <= 0) {
        err = error_code::invalid_partitions;
      } else if (!cfg) {
        err = error_code::invalid_config;
        message = cfg.error().message;
      }
    } else {
      auto r = co_await off_loop(ctx.b,
                                 [&] { return ctx.b.log.create_topic(t.name, count, t.configs); });
      if (r) {
        created = *r;
      } else {
        err = to_kafka(r.code());
        message = r.error().message;
      }
    }
    out.string(t.name);
    if (v >= 7) out.write_uuid(created ? created->id() : uuid{});
    out.i16(code(err));
    if (v >= 1) out.string_or_null(message);
    if (v >= 5) {
      out.i32(err == error_code::none ? count : -1);
      out.i16(err == error_code::none ? 1 : -1);
      if (created) {
        auto entries = created->config().entries();
        auto overrides = created->overrides();
        out.array_len(entries.size());
        for (const auto& [k, val] : entries) {
          out.string(k);
          out.nullable_string(val);
          out.boolean(false);                     // read_only
          out.i8(overrides.contains(k) ? 1 : 5);  // DYNAMIC_TOPIC_CONFIG : DEFAULT_CONFIG
          out.boolean(false);                     // is_sensitive
          out.tagged_fields();
        }
      } else {
        out.null_array();
      }
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
