#include "connect/redis/redis_sink.h"

#include <hiredis/hiredis.h>
#include <simdjson.h>

#include <memory>

namespace sluice::connect {

namespace {

struct reply_free {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_free>;
struct context_free {
  void operator()(redisContext* c) const { redisFree(c); }
};

class redis_sink final : public sink_task {
 public:
  explicit redis_sink(const config& c) : c_(c) {}

  result<void> start() override {
    mode_ = setting(c_, "mode", "hash");
    prefix_ = setting(c_, "key.prefix");
    stream_ = setting(c_, "stream");
    maxlen_ = setting(c_, "stream.maxlen");
    return connect();
  }

  result<void> put(std::span<const sink_record> records) override {
    if (!ctx_)
      if (auto r = connect(); !r) return r;
    size_t sent = 0;
    simdjson::dom::parser parser;
    std::vector<std::string> args;
    for (const auto& r : records) {
      args.clear();
      if (mode_ == "stream") {
        args = {"XADD", stream_};
        if (!maxlen_.empty()) {
          args.push_back("MAXLEN");
          args.push_back("~");
          args.push_back(maxlen_);
        }
        args.push_back("*");
        if (r.key) {
          args.push_back("key");
          args.push_back(*r.key);
        }
        args.push_back(r.value ? "value" : "op");
        args.push_back(r.value ? *r.value : "delete");
      } else {
        if (!r.key)
          return make_error(errc::invalid_argument,
                            "a record of " + r.topic + " at " + std::to_string(r.offset) +
                                " has no key (mode '" + mode_ + "' keys rows by it)");
        std::string key = prefix_ + *r.key;
        if (!r.value) {
          args = {"DEL", key};
        } else if (mode_ == "json") {
          args = {"SET", key, *r.value};
        } else {
          simdjson::dom::object obj;
          if (parser.parse(*r.value).get(obj))
            return make_error(errc::invalid_argument, "a record of " + r.topic + " at " +
                                                          std::to_string(r.offset) +
                                                          " is not a JSON object (mode 'hash')");
          // The row replaces the hash (a column that became null is not left behind).
          append({"DEL", key});
          ++sent;
          args = {"HSET", key};
          for (auto [field, v] : obj) {
            if (v.is_null()) continue;
            args.emplace_back(field);
            std::string_view s;
            args.push_back(v.is_string() && !v.get(s) ? std::string(s) : simdjson::minify(v));
          }
          if (args.size() == 2) continue;  // every column null: the key stays deleted
        }
      }
      append(args);
      ++sent;
    }
    // One round trip: read every reply, keep the first error.
    std::optional<error_info> failed;
    for (size_t i = 0; i < sent; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx_.get(), &raw) != REDIS_OK) {
        auto e = make_error(errc::io_error, std::string("redis: ") + ctx_->errstr);
        ctx_.reset();
        return e;
      }
      reply_ptr reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR && !failed)
        failed =
            make_error(errc::invalid_argument, "redis: " + std::string(reply->str, reply->len));
    }
    if (failed) return *failed;
    return {};
  }

  result<void> flush() override { return {}; }  // put() waits for every reply
  void stop() override { ctx_.reset(); }

 private:
  void append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(ctx_.get(), static_cast<int>(argv.size()), argv.data(), lens.data());
  }

  result<void> command(const std::vector<std::string>& args) {
    append(args);
    void* raw = nullptr;
    if (redisGetReply(ctx_.get(), &raw) != REDIS_OK)
      return make_error(errc::io_error, std::string("redis: ") + ctx_->errstr);
    reply_ptr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR)
      return make_error(errc::invalid_argument, "redis: " + std::string(reply->str, reply->len));
    return {};
  }

  result<void> connect() {
    auto host = setting(c_, "host", "127.0.0.1");
    auto port = static_cast<int>(integer_or(c_, "port", 6379));
    timeval tv{10, 0};
    ctx_.reset(redisConnectWithTimeout(host.c_str(), port, tv));
    if (!ctx_ || ctx_->err) {
      std::string why = ctx_ ? ctx_->errstr : "out of memory";
      ctx_.reset();
      return make_error(errc::io_error,
                        "redis at " + host + ":" + std::to_string(port) + ": " + why);
    }
    redisSetTimeout(ctx_.get(), tv);
    if (auto pw = setting(c_, "password"); !pw.empty()) {
      auto user = setting(c_, "user");
      auto r = user.empty() ? command({"AUTH", pw}) : command({"AUTH", user, pw});
      if (!r) {
        ctx_.reset();
        return r;
      }
    }
    if (auto db = setting(c_, "db", "0"); db != "0")
      if (auto r = command({"SELECT", db}); !r) {
        ctx_.reset();
        return r;
      }
    return {};
  }

  config c_;
  std::string mode_, prefix_, stream_, maxlen_;
  std::unique_ptr<redisContext, context_free> ctx_;
};

}  // namespace

kind redis_sink_kind() {
  kind k;
  k.name = "redis";
  k.type = connector_type::sink;
  k.classes = {"sluice.connect.RedisSink"};
  k.version = "1";
  k.validate = [](const config& c) -> result<void> {
    auto mode = setting(c, "mode", "hash");
    if (mode != "hash" && mode != "json" && mode != "stream")
      return make_error(errc::invalid_argument,
                        "'mode' must be 'hash', 'json' or 'stream', not '" + mode + "'");
    if (mode == "stream" && setting(c, "stream").empty())
      return make_error(errc::invalid_argument, "mode 'stream' needs 'stream' (the stream's key)");
    if (auto r = integer_setting(c, "port", 6379, 1, 65535); !r) return r.error();
    if (auto r = integer_setting(c, "db", 0, 0, 1 << 20); !r) return r.error();
    if (auto r = integer_setting(c, "stream.maxlen", 0, 1, INT64_MAX);
        !r && c.count("stream.maxlen"))
      return r.error();
    return {};
  };
  k.make_sink = [](const config& c) { return std::make_unique<redis_sink>(c); };
  return k;
}

}  // namespace sluice::connect
