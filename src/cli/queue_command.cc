// `sluice queue`: work queues through the server's HTTP API (http/queue_api.h).
//
//   sluice queue create NAME [-p N] [--visibility-timeout-ms ..] [--max-deliveries ..] ...
//   sluice queue send NAME [VALUE...]         (else one message per line of stdin)
//   sluice queue receive NAME [-n N] [--wait-ms ..] [--ack] [--follow]
//   sluice queue ack|nack|reject NAME RECEIPT...
//   sluice queue stats [NAME]
//   sluice queue dlq-replay NAME [--max N]

#include <simdjson.h>

#include <iostream>

#include "base/json_writer.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "stream/value.h"

namespace sluice::cli {

namespace {

struct queue_options {
  std::string http = "127.0.0.1:8080";
  std::string name;
  std::vector<std::string> args;
  int partitions = 1;
  int64_t visibility_timeout_ms = 30'000;
  int64_t max_deliveries = 5;
  int64_t backoff_base_ms = 1'000;
  double backoff_factor = 2.0;
  int64_t backoff_max_ms = 300'000;
  double backoff_jitter = 0.1;
  std::string dead_letter_topic;
  int64_t max = 10;
  int64_t wait_ms = 0;
  int64_t delay_ms = 0;
  std::string key;
  bool ack = false;
  bool follow = false;
  std::string reason = "rejected from the command line";
};

std::string_view text_field(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v)) return {};
  return v;
}

int64_t int_field(simdjson::dom::element e, const char* key) {
  int64_t v = 0;
  if (e[key].get_int64().get(v)) return 0;
  return v;
}

// Sends `body` to `target`; prints the server's message and returns false on an error status.
bool call(const queue_options& o, const std::string& method, const std::string& target,
          const std::string& body, std::string& answer) {
  return api_call(o.http, method, target, body, answer);
}

// A message value from the command line: JSON when it parses, else a string.
std::string as_json_value(const std::string& text) {
  simdjson::dom::parser p;
  simdjson::dom::element e;
  if (!p.parse(text).get(e)) return simdjson::minify(e);
  std::string out;
  append_json_string(out, text);
  return out;
}

// {"receipts":[..]} and, when `reason` is given, {"reason":..}.
std::string receipts_body(const std::vector<std::string>& receipts,
                          const std::string* reason = nullptr) {
  json_writer w;
  w.begin_object().key("receipts").begin_array();
  for (const auto& r : receipts)
    w.value(r);
  w.end_array();
  if (reason) w.key("reason").value(*reason);
  w.end_object();
  return std::move(w).str();
}

int print_stats(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return 1;
  simdjson::dom::array qs;
  std::vector<simdjson::dom::element> list;
  if (!doc["queues"].get_array().get(qs))
    for (auto q : qs)
      list.push_back(q);
  else
    list.push_back(doc);
  std::printf("%-24s %10s %10s %10s %10s %12s %10s %10s\n", "queue", "ready", "in_flight",
              "delayed", "dead", "oldest_ms", "acked", "redeliv");
  for (auto q : list) {
    auto num = [&](const char* k) { return static_cast<long long>(int_field(q, k)); };
    std::string_view name = text_field(q, "name");
    std::printf("%-24s %10lld %10lld %10lld %10lld %12lld %10lld %10lld\n",
                std::string(name).c_str(), num("ready"), num("in_flight"), num("delayed"),
                num("dead_lettered"), num("oldest_age_ms"), num("acked"), num("redelivered"));
  }
  return 0;
}

}  // namespace

action add_queue_command(CLI::App& app) {
  auto o = std::make_shared<queue_options>();
  auto* cmd = app.add_subcommand("queue", "Work queues: create, send, receive, ack, stats");
  cmd->require_subcommand(1);
  cmd->add_option("--http", o->http, "The server's HTTP address HOST:PORT")->capture_default_str();

  auto* create = cmd->add_subcommand("create", "Create a queue (and its topic)");
  create->add_option("name", o->name, "Queue name")->required();
  create->add_option("-p,--partitions", o->partitions, "Partitions of its topic")
      ->capture_default_str();
  create->add_option("--visibility-timeout-ms", o->visibility_timeout_ms)->capture_default_str();
  create->add_option("--max-deliveries", o->max_deliveries)->capture_default_str();
  create->add_option("--backoff-base-ms", o->backoff_base_ms)->capture_default_str();
  create->add_option("--backoff-factor", o->backoff_factor)->capture_default_str();
  create->add_option("--backoff-max-ms", o->backoff_max_ms)->capture_default_str();
  create->add_option("--backoff-jitter", o->backoff_jitter)->capture_default_str();
  create->add_option("--dead-letter-topic", o->dead_letter_topic, "Default: NAME.dlq");

  auto* send = cmd->add_subcommand("send", "Send messages (arguments, else lines of stdin)");
  send->add_option("name", o->name, "Queue name")->required();
  send->add_option("values", o->args, "Message values (JSON, or text)");
  send->add_option("--delay-ms", o->delay_ms, "Deliver not before this many ms from now");
  send->add_option("--key", o->key, "Key of every message");

  auto* receive = cmd->add_subcommand("receive", "Lease messages: RECEIPT<TAB>ATTEMPT<TAB>VALUE");
  receive->add_option("name", o->name, "Queue name")->required();
  receive->add_option("-n,--max", o->max, "At most this many")->capture_default_str();
  receive->add_option("--wait-ms", o->wait_ms, "Wait this long for a message")
      ->capture_default_str();
  receive->add_option("--visibility-timeout-ms", o->visibility_timeout_ms,
                      "Lease length (default: the queue's)");
  receive->add_flag("--ack", o->ack, "Acknowledge what was printed");
  receive->add_flag("--follow", o->follow, "Keep receiving until interrupted");

  auto* ack = cmd->add_subcommand("ack", "Acknowledge received messages");
  auto* nack = cmd->add_subcommand("nack", "Return received messages (retried after backoff)");
  auto* reject = cmd->add_subcommand("reject", "Send received messages to the dead-letter topic");
  for (auto* c : {ack, nack, reject}) {
    c->add_option("name", o->name, "Queue name")->required();
    c->add_option("receipts", o->args, "Receipts printed by receive")->required();
  }
  reject->add_option("--reason", o->reason, "Why")->capture_default_str();

  auto* stats = cmd->add_subcommand("stats", "Depth, in flight, delayed, dead-lettered");
  stats->add_option("name", o->name, "Queue name (else every queue)");

  auto* replay = cmd->add_subcommand("dlq-replay", "Send dead-lettered messages back to the queue");
  replay->add_option("name", o->name, "Queue name")->required();
  replay->add_option("--max", o->max, "At most this many (default: all)");

  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    std::string answer;
    const std::string base = "/v1/queues/" + o->name;
    if (create->parsed()) {
      json_writer w;
      w.begin_object().key("name").value(o->name);
      w.key("partitions").value(int64_t{o->partitions});
      w.key("visibility_timeout_ms").value(o->visibility_timeout_ms);
      w.key("max_deliveries").value(o->max_deliveries);
      w.key("backoff_base_ms").value(o->backoff_base_ms);
      w.key("backoff_factor").value(o->backoff_factor);
      w.key("backoff_max_ms").value(o->backoff_max_ms);
      w.key("backoff_jitter").value(o->backoff_jitter);
      if (!o->dead_letter_topic.empty()) w.key("dead_letter_topic").value(o->dead_letter_topic);
      w.end_object();
      if (!call(*o, "POST", "/v1/queues", std::move(w).str(), answer)) return 1;
      std::cout << "created queue " << o->name << "\n";
      return 0;
    }
    if (send->parsed()) {
      auto values = o->args;
      if (values.empty())
        for (std::string line; std::getline(std::cin, line);)
          if (!line.empty()) values.push_back(line);
      for (size_t i = 0; i < values.size(); i += 1000) {
        json_writer w;
        w.begin_object().key("messages").begin_array();
        for (size_t j = i; j < values.size() && j < i + 1000; ++j) {
          w.begin_object().key("value").raw(as_json_value(values[j]));
          if (o->delay_ms > 0) w.key("delay_ms").value(o->delay_ms);
          if (!o->key.empty()) w.key("key").value(o->key);
          w.end_object();
        }
        w.end_array().end_object();
        if (!call(*o, "POST", base + "/messages", std::move(w).str(), answer)) return 1;
      }
      std::cerr << "sent " << values.size() << " messages to " << o->name << "\n";
      return 0;
    }
    if (receive->parsed()) {
      // --follow: keep receiving (long polls of at least a second) until interrupted.
      int64_t wait = o->follow ? std::max<int64_t>(o->wait_ms, 1000) : o->wait_ms;
      json_writer w;
      w.begin_object().key("max_messages").value(o->max).key("wait_ms").value(wait);
      if (receive->count("--visibility-timeout-ms"))
        w.key("visibility_timeout_ms").value(o->visibility_timeout_ms);
      w.end_object();
      const std::string body = std::move(w).str();
      do {
        if (!call(*o, "POST", base + "/receive", body, answer)) return 1;
        simdjson::dom::parser p;
        simdjson::dom::element doc;
        simdjson::dom::array msgs;
        if (p.parse(answer).get(doc) || doc["messages"].get_array().get(msgs)) return 1;
        std::vector<std::string> receipts;
        for (auto m : msgs) {
          std::string_view receipt = text_field(m, "receipt");
          int64_t attempt = int_field(m, "attempt");
          simdjson::dom::element value;
          std::string shown;
          std::string_view text;
          if (m["value"].get(value))
            shown = "null";
          else if (value.get_string().get(text))
            shown = simdjson::minify(value);
          else
            shown = std::string(text);
          std::cout << receipt << '\t' << attempt << '\t' << shown << '\n';
          receipts.emplace_back(receipt);
        }
        std::cout.flush();
        if (o->ack && !receipts.empty())
          if (!call(*o, "POST", base + "/ack", receipts_body(receipts), answer)) return 1;
      } while (o->follow);
      return 0;
    }
    for (auto [sub, action] : {std::pair{ack, "ack"}, {nack, "nack"}, {reject, "reject"}}) {
      if (!sub->parsed()) continue;
      auto body = receipts_body(o->args, sub == reject ? &o->reason : nullptr);
      if (!call(*o, "POST", base + "/" + action, body, answer)) return 1;
      std::cout << answer << "\n";
      return answer.find("\"stale\"") == std::string::npos &&
                     answer.find("\"bad_receipt\"") == std::string::npos
                 ? 0
                 : 1;
    }
    if (stats->parsed()) {
      if (!call(*o, "GET", o->name.empty() ? "/v1/queues" : base, "", answer)) return 1;
      return print_stats(answer);
    }
    if (replay->parsed()) {
      json_writer w;
      w.begin_object();
      if (replay->count("--max")) w.key("max").value(o->max);
      w.end_object();
      if (!call(*o, "POST", base + "/dlq-replay", std::move(w).str(), answer)) return 1;
      std::cout << answer << "\n";
      return 0;
    }
    return 1;
  };
}

}  // namespace sluice::cli
