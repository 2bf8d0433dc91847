#pragma once
// Live push of a view's changes to HTTP subscribers: Server-Sent Events
// (GET /v1/views/{name}/events) and WebSocket (GET /v1/views/{name}/ws). Messages and change
// encodings: http/view_frames.h; the framings: http/push_channel.h.
//
// A subscriber first gets the view's rows (a snapshot with its sequence number) or, when it
// resumes with the last sequence number it saw (?since=N, SSE's Last-Event-ID), the changes
// after it; then `changes` messages, each saying the position it brings the reader to.
// Delivery modes (?mode=):
//   every   every change, in order. A subscriber that falls behind is served from the view's
//           feed while it holds the changes, and disconnected with a reason once it does not
//           (SSE an `error` event, WebSocket close 1008). A resume gets exactly the changes
//           after its position while the feed holds them, else a fresh snapshot.
//   latest  (the default for keyed views) a subscriber that falls behind gets, per key, only
//           the newest row or its delete, in sequence order; it is never disconnected for
//           being slow, and what it is owed is bounded by the view, not by the backlog. A
//           resume likewise gets each key's newest change since its position.
//
// Fan-out: one feed per view with subscribers. The query's thread only flags that the view
// changed; the feed (on the HTTP server's loop) reads the new changes once per round, encodes
// them once, and hands the frame (immutable, shared) to every push loop. There each subscriber
// sends from its loop's ring of frames at its own pace, keeping only its position; waiting
// frames go out as one message in one gather write. Rounds are spaced by the number of
// subscribers per loop, so that the writes a round costs stay bounded and changes close
// together go out together.
//
// Threads: serve() and close_all() on the HTTP server's loop; subscribers on the push loops;
// subscribers() and stats from any thread.

#include <atomic>
#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "http/push_channel.h"
#include "http/view_frames.h"

namespace sluice::view {
class view;
}
namespace sluice::metrics {
class exposition;
}

namespace sluice::http {

class event_loops;
class view_feed;

enum class delivery : uint8_t { every, latest };

struct push_limits {
  // Bytes of recent frames kept per view on each push loop: how far an `every` subscriber may
  // fall behind before it is served from the view's own feed. Default: 1 MiB.
  size_t max_queued_bytes = 1 << 20;
  // Changes read from a view per fan-out round. Default: 1024.
  size_t max_batch = 1024;
};

struct subscription {
  std::optional<uint64_t> since;  // resume after this sequence number; none: a snapshot first
  std::optional<delivery> mode;   // none: latest for a keyed view, every for an appended one
  change_encoding encoding = change_encoding::object;
};

class view_push {
 public:
  view_push(boost::asio::io_context& io, event_loops& loops, push_limits limits);
  ~view_push();

  // Takes over the connection of a GET /v1/views/{name}/events or /ws request, served on
  // push loop `loop`.
  void serve(push_channel::transport t, push_stream stream, size_t loop, push_channel::request req,
             std::shared_ptr<view::view> v, subscription s);

  size_t subscribers() const;
  void write_metrics(metrics::exposition& out) const;
  // Stops every feed and closes every subscriber (server stop).
  void close_all();

  struct stats {
    std::atomic<size_t> every{0}, latest{0};       // subscribers now
    std::atomic<uint64_t> messages{0}, bytes{0};   // sent
    std::atomic<uint64_t> catch_ups{0};            // messages served from the view itself
    std::atomic<uint64_t> disconnected_behind{0};  // `every` subscribers cut off
  };

 private:
  std::shared_ptr<view_feed> feed_for(const std::shared_ptr<view::view>& v);

  boost::asio::io_context& io_;
  event_loops& loops_;
  push_limits limits_;
  std::map<view::view*, std::shared_ptr<view_feed>> feeds_;
  std::shared_ptr<stats> stats_ = std::make_shared<stats>();
};

}  // namespace sluice::http
