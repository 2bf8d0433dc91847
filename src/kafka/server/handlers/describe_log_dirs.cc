#include <sys/statvfs.h>

#include <filesystem>

#include "kafka/server/handlers/handlers.h"

namespace sluice::kafka {

// DescribeLogDirs: one log directory (--data-dir) with the size of every partition, and (v4)
// the file system's total and usable bytes. UIs show topic sizes with it.
boost::asio::awaitable<void> handle_describe_log_dirs(request_context& ctx) {
  auto& in = ctx.in;
  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> wanted;
  int32_t nt = in.array_len();
  if (nt >= 0) {
    wanted.emplace();
    for (int32_t i = 0; i < nt; ++i) {
      auto name = in.string();
      std::vector<int32_t> parts;
      int32_t np = in.array_len(4);
      for (int32_t j = 0; j < np; ++j)
        parts.push_back(in.i32());
      in.tagged_fields();
      wanted->emplace_back(std::move(name), std::move(parts));
    }
  }
  in.tagged_fields();
  ctx.expect_end();

  // (topic, [(partition, bytes)]) for what was asked (everything when null).
  std::vector<std::pair<std::string, std::vector<std::pair<int32_t, int64_t>>>> topics;
  auto add = [&](const log::topic& t, const std::vector<int32_t>* only) {
    std::vector<std::pair<int32_t, int64_t>> parts;
    for (int32_t p = 0; p < t.partition_count(); ++p) {
      if (only && std::find(only->begin(), only->end(), p) == only->end()) continue;
      if (auto part = t.get(p)) parts.emplace_back(p, part->size_bytes());
    }
    topics.emplace_back(t.name(), std::move(parts));
  };
  const bool allowed = ctx.allowed_on_cluster(security::acl_operation::describe);
  if (!allowed) {
    // CLUSTER_AUTHORIZATION_FAILED, with no directories (v3+ says so in the error code).
  } else if (!wanted) {
    for (const auto& t : ctx.b.log.topics())
      add(*t, nullptr);
  } else {
    for (const auto& [name, parts] : *wanted)
      if (auto t = ctx.b.log.find_topic(name)) add(*t, &parts);
  }
  std::error_code ec;
  auto dir = std::filesystem::absolute(ctx.b.log.options().data_dir, ec).string();
  struct statvfs fs {};
  const bool have_fs = ::statvfs(dir.c_str(), &fs) == 0;

  auto& out = ctx.out;
  out.i32(0);  // throttle_time_ms
  if (ctx.version >= 3)
    out.i16(code(allowed ? error_code::none : error_code::cluster_authorization_failed));
  if (!allowed) {
    out.array_len(0);
    out.tagged_fields();
    co_return;
  }
  out.array_len(1);
  out.i16(code(error_code::none));
  out.string(dir);
  out.array_len(topics.size());
  for (const auto& [name, parts] : topics) {
    out.string(name);
    out.array_len(parts.size());
    for (const auto& [p, size] : parts) {
      out.i32(p);
      out.i64(size);
      out.i64(0);          // offset_lag: no replicas
      out.boolean(false);  // is_future_key
      out.tagged_fields();
    }
    out.tagged_fields();
  }
  if (ctx.version >= 4) {
    out.i64(have_fs ? static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize) : -1);
    out.i64(have_fs ? static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize) : -1);
  }
  out.tagged_fields();
  out.tagged_fields();
  co_return;
}

}  // namespace sluice::kafka
