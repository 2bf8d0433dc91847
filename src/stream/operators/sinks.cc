#include "stream/io.h"
#include "stream/operator.h"

namespace sluice::stream {

namespace {

class topic_writer final : public operator_node {
 public:
  topic_writer(std::unique_ptr<topic_sink> sink, std::vector<std::string> names,
               std::vector<std::string> key_names, std::string topic)
      : sink_(std::move(sink)),
        names_(std::move(names)),
        key_names_(std::move(key_names)),
        topic_(std::move(topic)) {}

  void process(element_batch& batch) override {
    records_.clear();
    for (const auto& e : batch) {
      output_record rec;
      rec.timestamp = e.ts;
      if (!e.key.empty()) {
        rec.key.emplace();
        append_json_row(*rec.key, key_names_, e.key);
      }
      if (e.op != change_op::remove) {
        rec.value.emplace();
        append_json_row(*rec.value, names_, e.r);
      }
      records_.push_back(std::move(rec));
    }
    if (records_.empty()) return;
    if (auto r = sink_->write(records_); !r)
      throw std::runtime_error("writing to topic '" + topic_ + "': " + r.error().message);
    if (ctx_) ctx_->output(records_.size());
  }

  std::string describe() const override { return "TopicSink '" + topic_ + "' (JSON)"; }

 private:
  std::unique_ptr<topic_sink> sink_;
  std::vector<std::string> names_, key_names_;
  std::string topic_;
  std::vector<output_record> records_;
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
                               std::vector<std::string> key_names, std::string topic) {
  return std::make_unique<topic_writer>(std::move(sink), std::move(names), std::move(key_names),
                                        std::move(topic));
}

operator_ptr make_collector(std::function<void(const element_batch&)> fn) {
  return std::make_unique<collector>(std::move(fn));
}

}  // namespace sluice::stream
