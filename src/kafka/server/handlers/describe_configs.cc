#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

namespace {

constexpr int8_t k_resource_topic = 2;
constexpr int8_t k_resource_broker = 4;
constexpr int8_t k_source_dynamic_topic = 1;
constexpr int8_t k_source_static_broker = 4;
constexpr int8_t k_source_default = 5;
constexpr int8_t k_type_string = 2;
constexpr int8_t k_type_int = 3;
constexpr int8_t k_type_long = 5;

int8_t config_type_of(std::string_view key) {
  if (key == "cleanup.policy" || key == "message.timestamp.type") return k_type_string;
  if (key == "max.message.bytes" || key == "index.interval.bytes") return k_type_int;
  return k_type_long;
}

struct config_entry {
  std::string name;
  std::string value;
  int8_t source;
};

}  // namespace

boost::asio::awaitable<void> handle_describe_configs(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  const int16_t v = ctx.version;
  struct resource {
    int8_t type;
    std::string name;
    std::optional<std::vector<std::string>> keys;
  };
  std::vector<resource> req;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    resource r;
    r.type = in.i8();
    r.name = in.string();
    int32_t nk = in.array_len();
    if (nk >= 0) {
      r.keys.emplace();
      for (int32_t k = 0; k < nk; ++k)
        r.keys->push_back(in.string());
    }
    in.tagged_fields();
    req.push_back(std::move(r));
  }
  bool include_synonyms = v >= 1 ? in.boolean() : false;
  if (v >= 3) in.boolean();  // include_documentation
  in.tagged_fields();
  ctx.expect_end();

  out.i32(0);  // throttle_time_ms
  out.array_len(req.size());
  for (const auto& r : req) {
    error_code err = error_code::none;
    std::string message;
    std::vector<config_entry> entries;
    if (r.type == k_resource_topic && !ctx.allowed(security::acl_operation::describe_configs,
                                                   security::resource_type::topic, r.name)) {
      err = error_code::topic_authorization_failed;
    } else if (r.type == k_resource_broker &&
               !ctx.allowed_on_cluster(security::acl_operation::describe_configs)) {
      err = error_code::cluster_authorization_failed;
    } else if (r.type == k_resource_topic) {
      auto t = ctx.b.log.find_topic(r.name);
      if (!t) {
        err = error_code::unknown_topic_or_partition;
        message = "topic '" + r.name + "' does not exist";
      } else {
        auto overrides = t->overrides();
        for (auto& [k, val] : t->config().entries())
          entries.push_back(
              {k, val, overrides.contains(k) ? k_source_dynamic_topic : k_source_default});
      }
    } else if (r.type == k_resource_broker) {
      const auto& o = ctx.b.log.options();
      entries = {
          {"auto.create.topics.enable", ctx.b.config.auto_create_topics ? "true" : "false",
           k_source_static_broker},
          {"num.partitions", std::to_string(o.default_partitions), k_source_static_broker},
          {"log.dirs", o.data_dir.string(), k_source_static_broker},
          {"socket.request.max.bytes", std::to_string(ctx.b.config.max_request_bytes),
           k_source_static_broker},
      };
    } else {
      err = error_code::invalid_request;
      message = "resource type " + std::to_string(r.type) + " is not supported";
    }
    if (r.keys) {
      std::erase_if(entries, [&](const config_entry& e) {
        return std::find(r.keys->begin(), r.keys->end(), e.name) == r.keys->end();
      });
    }
    out.i16(code(err));
    out.string_or_null(message);
    out.i8(r.type);
    out.string(r.name);
    out.array_len(entries.size());
    for (const auto& e : entries) {
      out.string(e.name);
      out.nullable_string(e.value);
      out.boolean(false);  // read_only
      if (v == 0) {
        out.boolean(e.source == k_source_default);  // is_default
      } else {
        out.i8(e.source);
      }
      out.boolean(false);  // is_sensitive
      if (v >= 1) {
        if (include_synonyms) {
          out.array_len(1);
          out.string(e.name);
          out.nullable_string(e.value);
          out.i8(e.source);
          out.tagged_fields();
        } else {
          out.array_len(0);
        }
      }
      if (v >= 3) {
        out.i8(config_type_of(e.name));
        out.nullable_string(std::nullopt);  // documentation
      }
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
