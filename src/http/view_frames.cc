#include "http/view_frames.h"
#include "base/json_writer.h"

#include <algorithm>

#include "stream/value.h"

namespace sluice::http {

namespace {

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

void append_values(std::string& out, const stream::row& r) {
  out += '[';
  for (size_t i = 0; i < r.size(); ++i) {
    if (i) out += ',';
    stream::append_json(out, r[i]);
  }
  out += ']';
}

void append_object(std::string& out, const view::change& c, const stream::json_row_encoder& enc) {
  out += "{\"seq\":";
  out += std::to_string(c.seq);
  out += ",\"op\":\"";
  out += op_name(c.k);
  out += "\",\"key\":";
  append_values(out, c.key);
  out += ",\"row\":";
  enc.append(out, c.r);
  out += '}';
}

void append_compact(std::string& out, const view::change& c) {
  out += '[';
  out += std::to_string(c.seq);
  out += c.k == view::change::kind::insert   ? ",\"i\","
         : c.k == view::change::kind::update ? ",\"u\","
                                             : ",\"d\",";
  append_values(out, c.key);
  if (c.k != view::change::kind::remove) {
    out += ',';
    append_values(out, c.r);
  }
  out += ']';
}

// Starts the next change of `t`: where it begins, after a comma between changes.
std::string& next(view_frame::text& t) {
  if (!t.starts.empty()) t.joined += ',';
  t.starts.push_back(static_cast<uint32_t>(t.joined.size()));
  return t.joined;
}

}  // namespace

std::string_view view_frame::after(change_encoding enc, uint64_t a) const {
  const text& t = enc == change_encoding::object ? object : compact;
  auto it = std::upper_bound(seqs.begin(), seqs.end(), a);
  if (it == seqs.end()) return {};
  return std::string_view(t.joined).substr(t.starts[static_cast<size_t>(it - seqs.begin())]);
}

std::shared_ptr<const view_frame> encode_frame(const std::vector<view::change>& cs,
                                               const std::vector<std::string>& columns, bool object,
                                               bool compact) {
  auto f = std::make_shared<view_frame>();
  stream::json_row_encoder enc(columns);
  f->first = cs.front().seq;
  f->last = cs.back().seq;
  for (const auto& c : cs) {
    f->seqs.push_back(c.seq);
    if (object) append_object(next(f->object), c, enc);
    if (compact) append_compact(next(f->compact), c);
  }
  return f;
}

std::string changes_head(uint64_t seq) {
  return "{\"type\":\"changes\",\"seq\":" + std::to_string(seq) + ",\"changes\":[";
}

std::string changes_message(const view_frame& f, change_encoding enc, uint64_t seq) {
  std::string out = changes_head(seq);
  out += enc == change_encoding::object ? f.object.joined : f.compact.joined;
  out += "]}";
  return out;
}

std::string snapshot_message(const view::view& v, change_encoding enc, std::string_view mode,
                             uint64_t& seq) {
  std::vector<stream::row> keys;
  auto rows = v.rows(&seq, &keys);
  json_writer w;
  w.begin_object().key("type").value("snapshot").key("seq").value(seq).key("mode").value(mode);
  w.key("encoding").value(enc == change_encoding::object ? "object" : "compact");
  w.key("columns").begin_array();
  for (const auto& c : v.columns())
    w.value(c);
  w.end_array().key("rows").begin_array();
  stream::json_row_encoder row_enc(v.columns());
  for (const auto& r : rows)
    w.raw_with([&](std::string& out) {
      if (enc == change_encoding::object)
        row_enc.append(out, r);
      else
        append_values(out, r);
    });
  w.end_array().key("keys").begin_array();
  for (const auto& k : keys)
    w.raw_with([&](std::string& out) { append_values(out, k); });
  w.end_array().end_object();
  return std::move(w).str();
}

}  // namespace sluice::http
