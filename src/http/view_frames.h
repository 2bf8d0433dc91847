#pragma once
// A view's changes encoded once for all of its subscribers, and the messages built from them.
//
// Messages (the same text over WebSocket and SSE, where it is an event of that name):
//   snapshot  {"type":"snapshot","seq":N,"mode":M,"columns":[..],"rows":[..],"keys":[..]}
//   changes   {"type":"changes","seq":N,"changes":[C,..]}  N: the position the message brings
//             the reader to (resume with ?since=N or SSE's Last-Event-ID)
// A change C, in either of two encodings:
//   object    {"seq":s,"op":"insert|update|delete","key":[..],"row":{"col":v,..}}
//   compact   [s,"i|u|d",[key..],[v,..]]  values in the order of the snapshot's columns
//             (rows in the snapshot are arrays the same way)
//
// A frame keeps the changes of one fan-out round as the comma-separated text of each
// encoding with where each change starts, so that a subscriber that already has the first few
// sends the rest of the same bytes.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "view/view.h"

namespace sluice::http {

enum class change_encoding : uint8_t { object, compact };

struct view_frame {
  uint64_t first = 0, last = 0;  // the changes' sequence numbers
  std::chrono::steady_clock::time_point made = std::chrono::steady_clock::now();
  // The fan-out missed changes first..last (the view's feed no longer held them): a subscriber
  // that needs them catches up from the view itself. No text.
  bool gap = false;
  std::vector<uint64_t> seqs;
  struct text {
    std::string joined;            // C,C,..
    std::vector<uint32_t> starts;  // where each change begins in `joined`
  };
  text object, compact;  // a text is empty when no subscriber asked for that encoding

  size_t bytes() const { return object.joined.size() + compact.joined.size() + 16 * seqs.size(); }
  // Whether the frame has changes in encoding `enc` (a gap has none; an encoding nobody had
  // asked for when it was made is left out).
  bool has(change_encoding enc) const {
    return !(enc == change_encoding::object ? object : compact).starts.empty();
  }
  // The text of the changes after `after` (all of them, a suffix, or nothing).
  std::string_view after(change_encoding enc, uint64_t after) const;
};

// The changes (at least one) as one frame, in the encodings asked for.
std::shared_ptr<const view_frame> encode_frame(const std::vector<view::change>& cs,
                                               const std::vector<std::string>& columns, bool object,
                                               bool compact);

// The whole changes message for changes already encoded (a resume, a catch-up).
std::string changes_message(const view_frame& f, change_encoding enc, uint64_t seq);
// The head of a changes message up to its first change; "]}" closes it.
std::string changes_head(uint64_t seq);

// The view's current rows as a snapshot message; `seq` is set to the sequence number they
// reflect.
std::string snapshot_message(const view::view& v, change_encoding enc, std::string_view mode,
                             uint64_t& seq);

}  // namespace sluice::http
