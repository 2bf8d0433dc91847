#include "stream/io.h"
#include "stream/operator.h"

namespace sluice::stream {

namespace {

class topic_writer final : public operator_node {
 public:
  topic_writer(std::unique_ptr<topic_sink> sink, std::vector<std::string> names,
               std::vector<std::string> key_names, std::string topic,
               std::unique_ptr<record_encoder> encoder, std::unique_ptr<record_encoder> key_encoder)
      : sink_(std::move(sink)),
        names_(std::move(names)),
        key_names_(std::move(key_names)),
        topic_(std::move(topic)),
        encoder_(std::move(encoder)),
        key_encoder_format_(std::move(key_encoder)) {}

  void process(element_batch& batch) override {
    for (const auto& e : batch) {
      std::optional<std::string_view> key, value;
      if (!e.key.empty()) {
        key_.clear();
        if (key_encoder_format_)
          key_encoder_format_->append(key_, e.key);
        else
          key_encoder_.append(key_, e.key);
        key = key_;
      }
      if (e.op != change_op::remove) {
        value_.clear();
        if (encoder_)
          encoder_->append(value_, e.r);
        else
          value_encoder_.append(value_, e.r);
        value = value_;
      }
      if (auto r = sink_->add(key, value, e.ts); !r) fail(r.error().message);
    }
    if (batch.empty()) return;
    if (auto r = sink_->flush(); !r) fail(r.error().message);
    if (ctx_) ctx_->output(batch.size());
  }

  // Two-phase commit with the checkpoint (io.h, topic_sink::prepare).
  void snapshot(state_writer& w) override {
    auto prepared = sink_->prepare();
    if (!prepared) fail(prepared.error().message);
    w.put_string(*prepared);
  }
  void restore(state_reader& r) override { prepared_ = r.at_end() ? std::string() : r.string(); }
  void checkpoint_written() override {
    if (auto r = sink_->commit(); !r) fail(r.error().message);
  }
  void resume() override {
    if (auto r = sink_->recover(prepared_); !r) fail(r.error().message);
    prepared_.clear();
  }

  std::string describe() const override {
    return "TopicSink '" + topic_ + "' (" + std::string(encoder_ ? encoder_->format() : "JSON") +
           ")";
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw std::runtime_error("writing to topic '" + topic_ + "': " + message);
  }

 private:
  std::unique_ptr<topic_sink> sink_;
  std::vector<std::string> names_, key_names_;
  std::string topic_;
  std::string key_, value_;  // one record's JSON, reused
  std::string prepared_;     // from the checkpoint, until resume()
  json_row_encoder key_encoder_{key_names_}, value_encoder_{names_};
  std::unique_ptr<record_encoder> encoder_;             // null: JSON
  std::unique_ptr<record_encoder> key_encoder_format_;  // null: JSON
};

class collector final : public operator_node {
 public:
  explicit collector(std::function<void(const element_batch&)> fn) : fn_(std::move(fn)) {}
  void process(element_batch& batch) override {
    if (batch.empty()) return;
    fn_(batch);
    if (ctx_) ctx_->output(batch.size());
  }
  std::string describe() const override { return "Collect"; }

 private:
  std::function<void(const element_batch&)> fn_;
};

}  // namespace

operator_ptr make_topic_writer(std::unique_ptr<topic_sink> sink, std::vector<std::string> names,
                               std::vector<std::string> key_names, std::string topic,
                               std::unique_ptr<record_encoder> encoder,
                               std::unique_ptr<record_encoder> key_encoder) {
  return std::make_unique<topic_writer>(std::move(sink), std::move(names), std::move(key_names),
                                        std::move(topic), std::move(encoder),
                                        std::move(key_encoder));
}

operator_ptr make_collector(std::function<void(const element_batch&)> fn) {
  return std::make_unique<collector>(std::move(fn));
}

}  // namespace sluice::stream
