#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

boost::asio::awaitable<void> handle_delete_topics(request_context& ctx) {
  auto& in = ctx.in;
  auto& out = ctx.out;
  const int16_t v = ctx.version;
  struct target {
    std::optional<std::string> name;
    uuid id{};
  };
  std::vector<target> targets;
  int32_t n = in.array_len();
  for (int32_t i = 0; i < n; ++i) {
    target t;
    if (v >= 6) {
      t.name = in.nullable_string();
      t.id = in.read_uuid();
      in.tagged_fields();
    } else {
      t.name = in.string();
    }
    targets.push_back(std::move(t));
  }
  in.i32();  // timeout_ms
  in.tagged_fields();
  ctx.expect_end();

  if (v >= 1) out.i32(0);  // throttle_time_ms
  out.array_len(targets.size());
  for (auto& t : targets) {
    error_code err = error_code::none;
    std::string message;
    if (!t.name) {
      for (auto& topic : ctx.b.log.topics())
        if (topic->id() == t.id) t.name = topic->name();
    }
    if (!t.name) {
      err = error_code::unknown_topic_id;
    } else if (!ctx.allowed(security::acl_operation::remove, security::resource_type::topic,
                            *t.name)) {
      err = error_code::topic_authorization_failed;
    } else {
      auto topic = ctx.b.log.find_topic(*t.name);
      if (topic) t.id = topic->id();
      auto r = co_await off_loop(ctx.b, [&] { return ctx.b.log.delete_topic(*t.name); });
      if (!r) {
        err = to_kafka(r.code());
        message = r.error().message;
      }
    }
    if (v >= 6) {
      out.nullable_string(t.name);
      out.write_uuid(t.id);
    } else {
      out.string(t.name.value_or(""));
    }
    out.i16(code(err));
    if (v >= 5) out.string_or_null(message);
    out.tagged_fields();
  }
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
