#pragma once
// One client connection. Requests are read and started in order; their responses are written
// in the same order, but a request waiting (acks=all sync, long-poll fetch) does not stop the
// next ones from being read and appended (up to max_inflight_per_connection), so pipelining
// clients keep the disk and the network busy.
//
// Thread: lives on one event loop; every member runs there.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>

#include "base/bytes.h"
#include "kafka/server/broker.h"
#include "kafka/server/response.h"

namespace sluice::kafka {

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(boost::asio::ip::tcp::socket socket, broker& b);
  boost::asio::awaitable<void> run();
  void close();
  // Thread-safe: posts close() to the connection's loop.
  void close_from_any_thread();

 private:
  struct pending {
    bool done = false;
    std::optional<kafka::response> response;
  };

  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<void> write_loop();
  boost::asio::awaitable<void> handle(std::shared_ptr<pending> slot, bytes frame);
  // Writes a response with file slices: bytes with async writes, file ranges with sendfile.
  boost::asio::awaitable<void> write_spliced(const kafka::response& r);
  boost::asio::awaitable<void> send_file(const log::read_result& r);

  boost::asio::ip::tcp::socket socket_;
  broker& b_;
  std::string host_;
  std::string peer_;
  std::deque<std::shared_ptr<pending>> queue_;
  boost::asio::steady_timer writer_wake_;
  boost::asio::steady_timer reader_wake_;
  bool closing_ = false;
};

}  // namespace sluice::kafka
