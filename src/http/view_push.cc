#include "http/view_push.h"

#include <algorithm>
#include <deque>

#include "stream/value.h"
#include "view/view.h"

namespace sluice::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;

namespace {

// One fan-out round's changes, encoded once for every subscriber.
struct frame {
  uint64_t first = 0, last = 0;
  std::vector<std::pair<uint64_t, std::string>> changes;  // seq, {"seq":..,"op":..,"row":..}
  std::string sse;                                        // every change as an SSE event
  std::string ws;                                         // {"type":"changes","changes":[..]}
};

const char* op_name(view::change::kind k) {
  switch (k) {
    case view::change::kind::insert:
      return "insert";
    case view::change::kind::update:
      return "update";
    case view::change::kind::remove:
      return "delete";
  }
  return "?";
}

void append_sse(std::string& out, uint64_t id, const char* event, std::string_view data) {
  out += "id: ";
  out += std::to_string(id);
  out += "\nevent: ";
  out += event;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
}

// A view row's key as a JSON array: the value that identifies the row in later changes.
void append_json_array(std::string& out, const stream::row& r) {
  out += '[';
  for (size_t i = 0; i < r.size(); ++i) {
    if (i) out += ',';
    stream::append_json(out, r[i]);
  }
  out += ']';
}

// SSE and WebSocket texts of the changes of `f` after `after` (all of them when none is older).
void encode(frame& f, const std::vector<std::pair<uint64_t, std::string>>& changes,
            uint64_t after) {
  f.ws = "{\"type\":\"changes\",\"changes\":[";
  bool first = true;
  for (const auto& [seq, json] : changes) {
    if (seq <= after) continue;
    append_sse(f.sse, seq, "change", json);
    if (!first) f.ws += ',';
    f.ws += json;
    first = false;
  }
  f.ws += "]}";
}

// The changes as frames of at most about `max_bytes` each (at least one change per frame), so
// that a subscriber's queue limit is never smaller than a frame.
std::vector<std::shared_ptr<frame>> make_frames(const std::vector<view::change>& cs,
                                                const std::vector<std::string>& columns,
                                                size_t max_bytes) {
  std::vector<std::shared_ptr<frame>> out;
  stream::json_row_encoder enc(columns);
  std::shared_ptr<frame> f;
  size_t bytes = 0;
  for (const auto& c : cs) {
    std::string j =
        "{\"seq\":" + std::to_string(c.seq) + ",\"op\":\"" + op_name(c.k) + "\",\"key\":";
    append_json_array(j, c.key);
    j += ",\"row\":";
    enc.append(j, c.r);
    j += '}';
    if (!f || bytes + j.size() > max_bytes) {
      if (f) encode(*f, f->changes, 0);
      f = std::make_shared<frame>();
      f->first = c.seq;
      out.push_back(f);
      bytes = 0;
    }
    bytes += j.size() + 32;
    f->last = c.seq;
    f->changes.emplace_back(c.seq, std::move(j));
  }
  if (f) encode(*f, f->changes, 0);
  return out;
}

std::string snapshot_json(const view::view& v, uint64_t& seq) {
  std::vector<stream::row> keys;
  auto rows = v.rows(&seq, &keys);
  std::string out = "{\"type\":\"snapshot\",\"seq\":" + std::to_string(seq) + ",\"columns\":[";
  for (size_t i = 0; i < v.columns().size(); ++i) {
    if (i) out += ',';
    stream::append_json_string(out, v.columns()[i]);
  }
  out += "],\"rows\":[";
  stream::json_row_encoder enc(v.columns());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) out += ',';
    enc.append(out, rows[i]);
  }
  out += "],\"keys\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ',';
    append_json_array(out, keys[i]);
  }
  out += "]}";
  return out;
}

}  // namespace

// The frames of one view that subscribers have yet to send, shared by all of them: a subscriber
// keeps only its position. Bounded by bytes; a subscriber whose position has been dropped
// fell too far behind.
struct frame_ring {
  std::deque<std::shared_ptr<const frame>> frames;
  uint64_t begin = 0;  // index of frames.front()
  size_t bytes = 0;
  size_t cap = 1 << 20;

  uint64_t end() const { return begin + frames.size(); }
  void push(std::shared_ptr<const frame> f) {
    bytes += f->sse.size() + f->ws.size();
    frames.push_back(std::move(f));
    while (frames.size() > 1 && bytes > cap) {
      bytes -= frames.front()->sse.size() + frames.front()->ws.size();
      frames.pop_front();
      ++begin;
    }
  }
  const frame& at(uint64_t i) const { return *frames[static_cast<size_t>(i - begin)]; }
};

// A connection that receives a view's changes. Lives as long as its coroutines.
class subscriber : public std::enable_shared_from_this<subscriber> {
 public:
  subscriber(asio::any_io_executor ex, std::shared_ptr<view::view> v,
             std::shared_ptr<frame_ring> ring)
      : view_(std::move(v)),
        ring_(std::move(ring)),
        wake_(ex, asio::steady_timer::time_point::max()),
        next_(ring_->end()) {}
  virtual ~subscriber() = default;

  uint64_t after = 0;  // changes up to here are sent or queued
  bool closed() const { return closed_; }

  void wake() { wake_.cancel(); }

  // What a new subscriber gets first: the changes after `since` while the view's feed holds
  // them (up to `feed_seq`, what the fan-out has sent), else a snapshot.
  std::string first_text(std::optional<uint64_t> since, uint64_t feed_seq) {
    if (since && *since <= view_->sequence()) {
      if (*since >= feed_seq) {
        after = *since;
        return {};
      }
      std::vector<view::change> cs;
      if (view_->changes_since(*since, cs, feed_seq - *since)) {
        after = feed_seq;
        if (cs.empty()) return {};
        return text_of(*make_frames(cs, view_->columns(), SIZE_MAX).front());
      }
    }
    return snapshot_text();
  }
  void start(std::string first) {
    if (!first.empty()) own_.push_back(std::move(first));
  }

  // The feed fell behind the view's change feed: start over from a snapshot.
  void resync() {
    if (closed_) return;
    own_.push_back(snapshot_text());
    next_ = ring_->end();
    wake_.cancel();
  }

 protected:
  virtual const std::string& text_of(const frame& f) const = 0;
  virtual std::string snapshot_text() = 0;

  // The text of ring frame `i` for this subscriber (its snapshot may cover part of it).
  std::shared_ptr<const std::string> text(uint64_t i) {
    const frame& f = ring_->at(i);
    if (f.last <= after) return nullptr;
    std::shared_ptr<const std::string> out;
    if (f.first > after) {
      out = std::shared_ptr<const std::string>(ring_->frames[static_cast<size_t>(i - ring_->begin)],
                                               &text_of(f));
    } else {
      auto part = std::make_shared<frame>();
      encode(*part, f.changes, after);
      out = std::shared_ptr<const std::string>(part, &text_of(*part));
    }
    after = f.last;
    return out;
  }

  bool fell_behind() const { return next_ < ring_->begin; }
  std::string behind_reason() const {
    return "the subscriber fell more than " + std::to_string(ring_->cap) +
           " bytes behind; disconnected";
  }

  void mark_closed() {
    closed_ = true;
    wake_.cancel();
  }

  std::shared_ptr<view::view> view_;
  std::shared_ptr<frame_ring> ring_;
  asio::steady_timer wake_;
  uint64_t next_;                // the next ring frame to send
  std::deque<std::string> own_;  // this subscriber's own texts (snapshot, resume) go first
  bool closed_ = false;
};

namespace {

class sse_subscriber final : public subscriber {
 public:
  sse_subscriber(beast::tcp_stream stream, std::shared_ptr<view::view> v,
                 std::shared_ptr<frame_ring> ring)
      : subscriber(stream.get_executor(), std::move(v), std::move(ring)),
        stream_(std::move(stream)) {}

  awaitable<void> run() {
    auto self = shared_from_this();
    std::string head =
        "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n\r\n";
    stream_.expires_never();
    auto [ec, n] =
        co_await asio::async_write(stream_, asio::buffer(head), asio::as_tuple(use_awaitable));
    if (ec) co_return finish();
    asio::co_spawn(stream_.get_executor(), read_until_closed(), asio::detached);
    std::vector<std::shared_ptr<const std::string>> texts;
    std::vector<asio::const_buffer> bufs;
    while (!closed_) {
      texts.clear();
      if (!own_.empty()) {
        texts.push_back(std::make_shared<const std::string>(std::move(own_.front())));
        own_.pop_front();
      } else if (fell_behind()) {
        std::string data = "{\"error_code\":503,\"message\":";
        stream::append_json_string(data, behind_reason());
        data += '}';
        std::string ev = "event: error\ndata: " + data + "\n\n";
        co_await asio::async_write(stream_, asio::buffer(ev), asio::as_tuple(use_awaitable));
        break;
      } else {
        for (; next_ < ring_->end() && texts.size() < 64; ++next_)
          if (auto t = text(next_)) texts.push_back(std::move(t));
      }
      if (texts.empty()) {
        if (next_ < ring_->end()) continue;  // frames this subscriber's snapshot covered
        // A comment every 15 s notices dead peers and keeps proxies from timing out.
        wake_.expires_after(std::chrono::seconds(15));
        auto [wec] = co_await wake_.async_wait(asio::as_tuple(use_awaitable));
        if (!wec && !closed_ && next_ == ring_->end() && own_.empty()) own_.push_back(": ping\n\n");
        continue;
      }
      bufs.clear();
      for (const auto& t : texts)
        bufs.push_back(asio::buffer(*t));
      auto [wec, wn] = co_await asio::async_write(stream_, bufs, asio::as_tuple(use_awaitable));
      if (wec) break;
    }
    finish();
  }

 private:
  const std::string& text_of(const frame& f) const override { return f.sse; }
  std::string snapshot_text() override {
    uint64_t seq = 0;
    auto data = snapshot_json(*view_, seq);
    after = std::max(after, seq);
    std::string out;
    append_sse(out, seq, "snapshot", data);
    return out;
  }
  awaitable<void> read_until_closed() {
    auto self = shared_from_this();
    char b[64];
    for (;;) {
      auto [ec, n] =
          co_await stream_.socket().async_read_some(asio::buffer(b), asio::as_tuple(use_awaitable));
      if (ec) break;
    }
    mark_closed();
  }
  void finish() {
    closed_ = true;
    beast::error_code ignore;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignore);
    stream_.socket().close(ignore);
  }

  beast::tcp_stream stream_;
};

class ws_subscriber final : public subscriber {
 public:
  ws_subscriber(beast::tcp_stream stream, std::shared_ptr<view::view> v,
                std::shared_ptr<frame_ring> ring)
      : subscriber(stream.get_executor(), std::move(v), std::move(ring)), ws_(std::move(stream)) {}

  awaitable<void> run(bhttp::request<bhttp::string_body> req) {
    auto self = shared_from_this();
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "sluice"); }));
    ws_.read_message_max(64 * 1024);
    auto [aec] = co_await ws_.async_accept(req, asio::as_tuple(use_awaitable));
    if (aec) co_return;
    asio::co_spawn(ws_.get_executor(), read_until_closed(), asio::detached);
    bool behind = false;
    while (!closed_) {
      std::shared_ptr<const std::string> msg;
      if (!own_.empty()) {
        msg = std::make_shared<const std::string>(std::move(own_.front()));
        own_.pop_front();
      } else if (fell_behind()) {
        behind = true;
        break;
      } else if (next_ < ring_->end()) {
        msg = text(next_++);
        if (!msg) continue;
        // Several frames waiting: one message with all their changes (fewer, larger writes
        // when many subscribers share a busy view).
        if (next_ < ring_->end()) {
          static constexpr std::string_view head = "{\"type\":\"changes\",\"changes\":[";
          std::string merged(*msg, 0, msg->size() - 2);
          while (next_ < ring_->end() && merged.size() < (256u << 10)) {
            auto more = text(next_++);
            if (!more) continue;
            merged += ',';
            merged.append(*more, head.size(), more->size() - head.size() - 2);
          }
          merged += "]}";
          msg = std::make_shared<const std::string>(std::move(merged));
        }
      } else {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(asio::as_tuple(use_awaitable));
        continue;
      }
      auto [wec, wn] = co_await ws_.async_write(asio::buffer(*msg), asio::as_tuple(use_awaitable));
      if (wec) break;
    }
    if (behind && !closed_) {
      // A close reason is at most 123 bytes.
      websocket::close_reason why(websocket::close_code::policy_error);
      why.reason = behind_reason().substr(0, 120);
      co_await ws_.async_close(why, asio::as_tuple(use_awaitable));
    }
    closed_ = true;
  }

 private:
  const std::string& text_of(const frame& f) const override { return f.ws; }
  std::string snapshot_text() override {
    uint64_t seq = 0;
    auto s = snapshot_json(*view_, seq);
    after = std::max(after, seq);
    return s;
  }
  awaitable<void> read_until_closed() {
    auto self = shared_from_this();
    beast::flat_buffer b;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(b, asio::as_tuple(use_awaitable));
      if (ec) break;
      b.consume(b.size());  // clients have nothing to say yet
    }
    mark_closed();
  }

  websocket::stream<beast::tcp_stream> ws_;
};

}  // namespace

// The fan-out of one view.
class view_push::feed : public std::enable_shared_from_this<feed> {
 public:
  feed(asio::io_context& io, std::shared_ptr<view::view> v, push_limits limits)
      : io_(io),
        view_(std::move(v)),
        limits_(limits),
        wake_(io, asio::steady_timer::time_point::max()),
        ring_(std::make_shared<frame_ring>()) {
    ring_->cap = limits_.max_queued_bytes;
  }
  ~feed() { view_->unsubscribe(sub_id_); }

  void start() {
    seq_ = view_->sequence();
    std::weak_ptr<feed> w = shared_from_this();
    auto flag = flag_;
    auto& io = io_;
    // Runs on the query's thread after each batch: flags and wakes, nothing more.
    sub_id_ = view_->subscribe([w, flag, &io](const std::vector<view::change>&) {
      if (flag->exchange(true)) return;
      asio::post(io, [w] {
        if (auto f = w.lock()) f->wake_.cancel();
      });
    });
    asio::co_spawn(io_, loop(), asio::detached);
  }

  uint64_t seq() const { return seq_; }
  const std::shared_ptr<frame_ring>& ring() const { return ring_; }
  void add(std::shared_ptr<subscriber> s) {
    std::erase_if(subs_, [](const auto& x) { return x->closed(); });
    subs_.push_back(std::move(s));
  }
  size_t size() const {
    return static_cast<size_t>(
        std::count_if(subs_.begin(), subs_.end(), [](const auto& x) { return !x->closed(); }));
  }
  void stop() {
    stopped_ = true;
    wake_.cancel();
  }
  const std::shared_ptr<view::view>& view() const { return view_; }

 private:
  awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopped_) {
      // The flag is set (and a wake-up posted) only on its false -> true edge: wait only while
      // it is clear, or a change made during the last round would never be sent.
      if (!flag_->load()) {
        wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wake_.async_wait(asio::as_tuple(use_awaitable));
      }
      if (stopped_) break;
      // Each round costs a write per subscriber, and on loopback a write's cost is mostly the
      // TCP path, whatever its size: rounds are spaced so that the view's subscribers make at
      // most about 200,000 writes a second (a round per millisecond up to 200 subscribers, every
      // 5 ms with 1,000), and changes that arrive close together go out together.
      auto interval = std::chrono::microseconds(
          std::clamp<int64_t>(static_cast<int64_t>(subs_.size()) * 5, 1000, 20'000));
      auto since = std::chrono::steady_clock::now() - last_round_;
      if (since < interval) {
        asio::steady_timer pause(io_, interval - since);
        co_await pause.async_wait(asio::as_tuple(use_awaitable));
      }
      last_round_ = std::chrono::steady_clock::now();
      flag_->store(false);
      // One round at a time, letting the subscribers' writes run in between.
      while (distribute())
        co_await asio::post(io_, use_awaitable);
      std::erase_if(subs_, [](const auto& s) { return s->closed(); });
    }
  }

  // One round: new changes become frames in the ring; subscribers are woken to send them at
  // their own pace. True when there may be more.
  bool distribute() {
    std::vector<view::change> cs;
    if (!view_->changes_since(seq_, cs, limits_.max_batch)) {
      for (auto& s : subs_)
        s->resync();
      seq_ = view_->sequence();
      return false;
    }
    if (cs.empty()) return false;
    // One frame per round, so that subscribers that keep up send it before the next one.
    auto frames = make_frames(cs, view_->columns(), limits_.max_queued_bytes / 4);
    seq_ = frames.front()->last;
    ring_->push(std::move(frames.front()));
    for (auto& s : subs_)
      s->wake();
    return frames.size() > 1 || cs.size() == limits_.max_batch;
  }

  asio::io_context& io_;
  std::shared_ptr<view::view> view_;
  push_limits limits_;
  asio::steady_timer wake_;
  std::shared_ptr<frame_ring> ring_;
  std::shared_ptr<std::atomic<bool>> flag_ = std::make_shared<std::atomic<bool>>(false);
  uint64_t sub_id_ = 0;
  uint64_t seq_ = 0;
  bool stopped_ = false;
  std::chrono::steady_clock::time_point last_round_{};
  std::vector<std::shared_ptr<subscriber>> subs_;
};

view_push::view_push(asio::io_context& io, push_limits limits) : io_(io), limits_(limits) {}

view_push::~view_push() {
  close_all();
}

std::shared_ptr<view_push::feed> view_push::feed_for(const std::shared_ptr<view::view>& v) {
  auto& f = feeds_[v.get()];
  if (!f || f->view() != v) {
    if (f) f->stop();
    f = std::make_shared<feed>(io_, v, limits_);
    f->start();
  }
  return f;
}

void view_push::serve_sse(beast::tcp_stream stream, unsigned, std::shared_ptr<view::view> v,
                          std::optional<uint64_t> since) {
  auto f = feed_for(v);
  auto s = std::make_shared<sse_subscriber>(std::move(stream), v, f->ring());
  s->start(s->first_text(since, f->seq()));
  f->add(s);
  asio::co_spawn(io_, s->run(), asio::detached);
}

void view_push::serve_websocket(beast::tcp_stream stream, bhttp::request<bhttp::string_body> req,
                                std::shared_ptr<view::view> v, std::optional<uint64_t> since) {
  auto f = feed_for(v);
  auto s = std::make_shared<ws_subscriber>(std::move(stream), v, f->ring());
  s->start(s->first_text(since, f->seq()));
  f->add(s);
  asio::co_spawn(io_, s->run(std::move(req)), asio::detached);
}

size_t view_push::subscribers() const {
  size_t n = 0;
  for (const auto& [v, f] : feeds_)
    n += f->size();
  return n;
}

void view_push::close_all() {
  for (auto& [v, f] : feeds_)
    f->stop();
  feeds_.clear();
}

}  // namespace sluice::http
