#pragma once
// GET /v1/topics/{t}/ws: a topic's records over WebSocket, as they are appended.
//
//   ?from=end (default) | beginning
//
// Messages: {"type":"records","records":[{"partition":p,"offset":o,"timestamp":ms,
// "key":..,"value":..}, ...]}; a key or value that is JSON is embedded as is, any other bytes
// as a JSON string (invalid UTF-8 replaced), null as null.
//
// Each subscriber reads the log at its own position and sends one message at a time, so a slow
// client only falls behind in the log; it never makes the server buffer more than one
// message for it.

#include <boost/beast.hpp>
#include <memory>
#include <string>

namespace sluice::log {
class log;
class topic;
}  // namespace sluice::log

namespace sluice::http {

void serve_topic_tail(boost::beast::tcp_stream stream,
                      boost::beast::http::request<boost::beast::http::string_body> req,
                      std::shared_ptr<log::topic> topic, bool from_beginning);

}  // namespace sluice::http
