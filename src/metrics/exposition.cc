#include "metrics/exposition.h"

#include <charconv>
#include <cmath>

namespace sluice::metrics {

namespace {

void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
  }
}

}  // namespace

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help) {
    if (c == '\\')
      out_ += "\\\\";
    else if (c == '\n')
      out_ += "\\n";
    else
      out_.push_back(c);
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void exposition::append_labels(const labels& l, const char* extra_key,
                               std::string_view extra_value) {
  if (l.empty() && !extra_key) return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    for (char c : v) {
      if (c == '\\')
        out_ += "\\\\";
      else if (c == '"')
        out_ += "\\\"";
      else if (c == '\n')
        out_ += "\\n";
      else
        out_.push_back(c);
    }
    out_ += '"';
  };
  for (const auto& [k, v] : l)
    one(k, v);
  if (extra_key) one(extra_key, extra_value);
  out_ += '}';
}

void exposition::sample(std::string_view name, const labels& l, double value) {
  out_ += name;
  append_labels(l);
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

void exposition::histogram_sample(std::string_view name, const labels& l, const histogram& h) {
  std::string bucket(name);
  bucket += "_bucket";
  for (size_t i = 0; i <= histogram::bounds.size(); ++i) {
    std::string le;
    if (i == histogram::bounds.size()) {
      le = "+Inf";
    } else {
      append_value(le, histogram::bounds[i]);
    }
    out_ += bucket;
    append_labels(l, "le", le);
    out_ += ' ';
    out_ += std::to_string(h.cumulative(i));
    out_ += '\n';
  }
  std::string n(name);
  sample(n + "_sum", l, h.sum());
  sample(n + "_count", l, static_cast<double>(h.count()));
}

}  // namespace sluice::metrics
