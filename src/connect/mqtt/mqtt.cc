#include "connect/mqtt/mqtt.h"

#include <mosquitto.h>
#include <simdjson.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <set>

#include "base/clock.h"

namespace sluice::connect {

namespace {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string mosq_error(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::string("mqtt: ") + std::strerror(errno);
  return std::string("mqtt: ") + mosquitto_strerror(rc);
}

// One connection to the broker, driven from the task's thread (mosquitto_loop). Its callbacks
// run inside loop().
class connection {
 public:
  std::function<void(const mosquitto_message*)> on_message;
  std::function<void(int)> on_published;  // a QoS 1 message's PUBACK, by message id
  std::function<void(int)> on_lost;       // the connection broke (not a disconnect of ours)

  connection(const config& c, const std::string& default_id, bool clean) {
    init_library();
    host_ = setting(c, "mqtt.host", "127.0.0.1");
    port_ = static_cast<int>(integer_or(c, "mqtt.port", 1883));
    m_ = mosquitto_new(setting(c, "mqtt.client.id", default_id).c_str(), clean, this);
    if (!m_) return;
    auto user = setting(c, "mqtt.username");
    if (!user.empty()) {
      auto pw = setting(c, "mqtt.password");
      mosquitto_username_pw_set(m_, user.c_str(), pw.empty() ? nullptr : pw.c_str());
    }
    mosquitto_connect_callback_set(
        m_, [](mosquitto*, void* self, int rc) { static_cast<connection*>(self)->connack_ = rc; });
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* m) {
      if (auto& fn = static_cast<connection*>(self)->on_message) fn(m);
    });
    mosquitto_publish_callback_set(m_, [](mosquitto*, void* self, int mid) {
      if (auto& fn = static_cast<connection*>(self)->on_published) fn(mid);
    });
    mosquitto_disconnect_callback_set(m_, [](mosquitto*, void* self, int rc) {
      if (auto& fn = static_cast<connection*>(self)->on_lost; fn && rc != 0) fn(rc);
    });
  }
  ~connection() {
    if (!m_) return;
    mosquitto_disconnect(m_);
    if (background_) mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  mosquitto* get() const { return m_; }

  // Connects and waits for the broker's answer.
  result<void> open() {
    std::string where = "mqtt broker at " + host_ + ":" + std::to_string(port_) + ": ";
    if (!m_) return make_error(errc::io_error, where + "cannot make a client");
    if (int rc = mosquitto_connect(m_, host_.c_str(), port_, 30); rc != MOSQ_ERR_SUCCESS)
      return make_error(errc::io_error, where + mosq_error(rc));
    auto deadline = now_ms() + 10'000;
    while (connack_ < 0 && now_ms() < deadline)
      if (auto r = loop(100); !r) return r;
    if (connack_ != 0)
      return make_error(
          errc::io_error,
          where + (connack_ < 0 ? std::string("no answer") : mosquitto_connack_string(connack_)));
    return {};
  }

  // From now on libmosquitto's own thread runs the network loop (and the callbacks). A lost
  // connection is reported through on_lost (the task then starts over on a new one).
  result<void> run_in_background() {
    if (int rc = mosquitto_loop_start(m_); rc != MOSQ_ERR_SUCCESS)
      return make_error(errc::io_error, mosq_error(rc));
    background_ = true;
    return {};
  }

  // Reads and writes what is ready, waiting up to `timeout_ms` for something.
  result<void> loop(int timeout_ms) {
    int rc = mosquitto_loop(m_, timeout_ms, 1);
    if (rc != MOSQ_ERR_SUCCESS) return make_error(errc::io_error, mosq_error(rc));
    return {};
  }

 private:
  mosquitto* m_ = nullptr;
  std::string host_;
  int port_ = 1883;
  int connack_ = -1;
  bool background_ = false;
};

// The network loop runs on its own thread (libmosquitto's), so that the broker keeps sending
// while the task writes a round to the log; poll() takes what has arrived.
class mqtt_source final : public source_task {
 public:
  explicit mqtt_source(const config& c) : c_(c) {}
  ~mqtt_source() override { stop(); }

  result<void> start(const std::map<std::string, std::string>&) override {
    topic_ = setting(c_, "kafka.topic");
    int qos = static_cast<int>(integer_or(c_, "mqtt.qos", 1));
    // A persistent session: the broker keeps QoS 1 messages for us while we are away, and sends
    // them as soon as we connect (they are queued from then on).
    conn_ = std::make_unique<connection>(c_, "sluice-" + topic_, false);
    conn_->on_message = [this](const mosquitto_message* m) { received(m); };
    conn_->on_lost = [this](int rc) {
      std::lock_guard lk(mu_);
      lost_ = "mqtt: the connection was lost (" + std::string(mosquitto_strerror(rc)) + ")";
      ready_.notify_all();
    };
    if (auto r = conn_->open(); !r) return r;
    for (const auto& f : list_setting(c_, "mqtt.topics"))
      if (int rc = mosquitto_subscribe(conn_->get(), nullptr, f.c_str(), qos);
          rc != MOSQ_ERR_SUCCESS)
        return make_error(errc::invalid_argument, "subscribing to '" + f + "': " + mosq_error(rc));
    return conn_->run_in_background();
  }

  result<void> poll(std::vector<source_record>& out, std::chrono::milliseconds wait) override {
    std::unique_lock lk(mu_);
    ready_.wait_for(lk, wait, [&] { return !queue_.empty() || !lost_.empty(); });
    if (queue_.empty() && !lost_.empty()) return make_error(errc::io_error, lost_);
    size_t n = std::min<size_t>(queue_.size(), 10'000);
    for (size_t i = 0; i < n; ++i) {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    room_.notify_all();
    return {};
  }

  void stop() override {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
      room_.notify_all();
    }
    conn_.reset();  // stops the network thread
  }

 private:
  static constexpr size_t k_max_queued = 20'000;

  void received(const mosquitto_message* m) {
    source_record r;
    r.topic = topic_;
    r.key = m->topic;
    r.value = std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen));
    r.timestamp = now_ms();
    r.headers.emplace_back("mqtt.qos", std::to_string(m->qos));
    if (m->retain) r.headers.emplace_back("mqtt.retain", "true");
    std::unique_lock lk(mu_);
    // Holding the network thread here stops reading: the broker queues for us meanwhile.
    room_.wait(lk, [&] { return queue_.size() < k_max_queued || stopping_; });
    queue_.push_back(std::move(r));
    ready_.notify_one();
  }

  config c_;
  std::string topic_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<source_record> queue_;
  std::string lost_;
  bool stopping_ = false;
  std::unique_ptr<connection> conn_;  // last: its thread stops before the rest goes
};

class mqtt_sink final : public sink_task {
 public:
  explicit mqtt_sink(const config& c) : c_(c) {}

  result<void> start() override {
    template_ = setting(c_, "mqtt.topic");
    qos_ = static_cast<int>(integer_or(c_, "mqtt.qos", 1));
    retain_ = setting(c_, "mqtt.retain", "false") == "true";
    conn_ = std::make_unique<connection>(c_, "sluice-sink-" + template_, true);
    conn_->on_published = [this](int mid) { unacked_.erase(mid); };
    return conn_->open();
  }

  result<void> put(std::span<const sink_record> records) override {
    simdjson::dom::parser parser;
    for (const auto& r : records) {
      if (!r.value && !retain_) continue;  // a delete: nothing to publish
      simdjson::dom::object row;
      bool has_row = r.value && !parser.parse(*r.value).get(row);
      auto topic = expand(r, has_row ? &row : nullptr);
      if (!topic) return topic.error();
      std::string_view payload = r.value ? std::string_view(*r.value) : std::string_view();
      int mid = 0;
      int rc = mosquitto_publish(conn_->get(), &mid, topic->c_str(),
                                 static_cast<int>(payload.size()), payload.data(), qos_, retain_);
      if (rc != MOSQ_ERR_SUCCESS) return make_error(errc::io_error, mosq_error(rc));
      if (qos_ > 0) unacked_.insert(mid);
      // Keep the socket moving so that what waits to be written stays small.
      if (++published_ % 256 == 0)
        if (auto l = conn_->loop(0); !l) return l;
    }
    return {};
  }

  result<void> flush() override {
    auto deadline = now_ms() + 30'000;
    while ((!unacked_.empty() || mosquitto_want_write(conn_->get())) && now_ms() < deadline)
      if (auto r = conn_->loop(50); !r) return r;
    if (!unacked_.empty()) {
      auto n = unacked_.size();
      unacked_.clear();  // the runtime puts them again: these ids are not waited for any more
      return make_error(errc::io_error,
                        "mqtt: " + std::to_string(n) + " messages not acknowledged by the broker");
    }
    return {};
  }

 private:
  // The topic of a record: the template with {column} and {key} filled in. A delete (no
  // row) can fill in only {key}.
  result<std::string> expand(const sink_record& r, const simdjson::dom::object* row) const {
    std::string out;
    size_t at = 0;
    while (at < template_.size()) {
      auto open = template_.find('{', at);
      auto close = open == std::string::npos ? open : template_.find('}', open);
      if (close == std::string::npos) {
        out += template_.substr(at);
        break;
      }
      out += template_.substr(at, open - at);
      auto name = template_.substr(open + 1, close - open - 1);
      at = close + 1;
      if (name == "key") {
        if (!r.key) return make_error(errc::invalid_argument, "a record without a key for {key}");
        out += *r.key;
        continue;
      }
      simdjson::dom::element v;
      if (!row || (*row)[name].get(v) || v.is_null())
        return make_error(errc::invalid_argument,
                          "a row without '" + name + "' for the MQTT topic '" + template_ + "'");
      std::string_view s;
      out += v.get(s) ? simdjson::minify(v) : std::string(s);
    }
    return out;
  }

  config c_;
  std::string template_;
  int qos_ = 1;
  bool retain_ = false;
  uint64_t published_ = 0;
  std::unique_ptr<connection> conn_;
  std::set<int> unacked_;
};

result<void> validate_connection(const config& c) {
  if (auto r = integer_setting(c, "mqtt.port", 1883, 1, 65535); !r) return r.error();
  if (auto r = integer_setting(c, "mqtt.qos", 1, 0, 1); !r) return r.error();
  return {};
}

}  // namespace

kind mqtt_source_kind() {
  kind k;
  k.name = "mqtt-source";
  k.type = connector_type::source;
  k.classes = {"sluice.connect.MqttSource"};
  k.version = "1";
  k.validate = [](const config& c) -> result<void> {
    if (auto r = required(c, "mqtt.topics"); !r) return r.error();
    if (auto r = required(c, "kafka.topic"); !r) return r.error();
    return validate_connection(c);
  };
  k.make_source = [](const config& c) { return std::make_unique<mqtt_source>(c); };
  return k;
}

kind mqtt_sink_kind() {
  kind k;
  k.name = "mqtt-sink";
  k.type = connector_type::sink;
  k.classes = {"sluice.connect.MqttSink"};
  k.version = "1";
  k.validate = [](const config& c) -> result<void> {
    if (auto r = required(c, "mqtt.topic"); !r) return r.error();
    return validate_connection(c);
  };
  k.make_sink = [](const config& c) { return std::make_unique<mqtt_sink>(c); };
  return k;
}

}  // namespace sluice::connect
