#pragma once
// A topic's records as they are appended: GET /v1/topics/{t}/ws (WebSocket) and
// GET /v1/topics/{t}/events (Server-Sent Events).
//
//   ?from=end (default) | beginning
//
// Messages: {"type":"records","records":[{"partition":p,"offset":o,"timestamp":ms,
// "key":..,"value":..}, ...]} (SSE: `records` events); a key or value that is JSON is embedded
// as is, a registered Avro, Protobuf or JSON Schema value decoded to JSON, any other bytes as a
// JSON string (invalid UTF-8 replaced), null as null.
//
// Each subscriber reads the log at its own position and sends one message at a time, so a slow
// client only falls behind in the log; it never makes the server buffer more than one
// message for it.

#include <boost/asio.hpp>
#include <memory>
#include <string>

#include "http/push_channel.h"

namespace sluice::log {
class log;
class topic;
}  // namespace sluice::log

namespace sluice::schema {
class registry;
}

namespace sluice::http {

// Takes over the connection, on `loop` (a push loop). With `schemas`, Confluent-framed keys and
// values whose schemas are registered are shown as JSON (Avro unions unwrapped).
void serve_topic_tail(push_channel::transport t, push_stream stream, boost::asio::io_context& loop,
                      push_channel::request req, std::shared_ptr<log::topic> topic,
                      bool from_beginning, std::shared_ptr<const schema::registry> schemas);

}  // namespace sluice::http
