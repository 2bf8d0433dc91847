#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_create_partitions(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  struct request_topic {
    std::string name;
    int32_t count;
  };
  std::vector<request_topic> req;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    request_topic t;
    t.name = in.string();
    t.count = in.i32();
    int32_t na = in.array_len();
    for (int32_t j = 0; j < na; ++j) {
      int32_t nb = in.array_len(4);
      for (int32_t k = 0; k < nb; ++k)
        in.i32();
      in.tagged_fields();
    }
    in.tagged_fields();
    req.push_back(std::move(t));
  }
  in.i32();  // timeout_ms
  bool validate_only = in.boolean();
  in.tagged_fields();
  ctx.expect_end();

  out.i32(0);  // throttle_time_ms
  out.array_len(req.size());
  for (const auto& t : req) {
    error_code err = error_code::none;
    std::string message;
    if (!ctx.allowed(security::acl_operation::alter, security::resource_type::topic, t.name)) {
      err = error_code::topic_authorization_failed;
    } else if (validate_only) {
      auto topic = ctx.b.log.find_topic(t.name);
      if (!topic) {
        err = error_code::unknown_topic_or_partition;
      } else if (t.count <= topic->partition_count()) {
        err = error_code::invalid_partitions;
        message = "the new partition count must be larger than the current one";
      }
    } else {
      auto r =
          co_await off_loop(ctx.b, [&] { return ctx.b.log.create_partitions(t.name, t.count); });
      if (!r) {
        err = to_kafka(r.code());
        message = r.error().message;
      }
    }
    out.string(t.name);
    out.i16(code(err));
    out.string_or_null(message);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
