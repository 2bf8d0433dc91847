// Event-time windows: Flink's window table functions and Azure Stream Analytics' GROUP BY
// windows, checked and turned into window specs.

#include "base/strings.h"
#include "sql/binder/binder.h"
#include "sql/error.h"

namespace sluice::sql::binder {

using stream::data_type;
using stream::type_id;

int64_t asa_unit(const expr& e) {
  if (e.k != expr::kind::column || !e.qualifier.empty())
    throw sql_error(e.loc, "expected a time unit (millisecond, second, minute, hour, day)");
  auto u = ascii_upper(e.name);
  if (u == "MILLISECOND" || u == "MS") return 1;
  if (u == "SECOND" || u == "SS" || u == "S") return 1000;
  if (u == "MINUTE" || u == "MI" || u == "N") return 60'000;
  if (u == "HOUR" || u == "HH") return 3'600'000;
  if (u == "DAY" || u == "DD" || u == "D") return 86'400'000;
  throw sql_error(e.loc, "expected a time unit (millisecond, second, minute, hour, day), found '" +
                             e.name + "'");
}

namespace {

int64_t positive_int(const expr& e, const char* what) {
  if (e.k != expr::kind::literal || e.lit.k != stream::value::kind::integer || e.lit.i <= 0)
    throw sql_error(e.loc, std::string("expected a positive integer ") + what);
  return e.lit.i;
}

int64_t positive_interval(int64_t ms, location loc) {
  if (ms <= 0) throw sql_error(loc, "a window interval must be positive");
  return ms;
}

}  // namespace

std::optional<pending_window> asa_window(const expr& e) {
  if (e.k != expr::kind::function) return std::nullopt;
  pending_window w;
  w.active = true;
  w.loc = e.loc;
  if (e.name == "TUMBLINGWINDOW" || e.name == "TUMBLING_WINDOW") {
    if (e.args.size() != 2) throw sql_error(e.loc, "TUMBLINGWINDOW(unit, size) takes 2 arguments");
    w.spec.k = stream::window_spec::kind::tumble;
    w.spec.size_ms =
        interval_times(asa_unit(*e.args[0]), positive_int(*e.args[1], "window size"), e.loc);
    w.spec.slide_ms = w.spec.size_ms;
    return w;
  }
  if (e.name == "HOPPINGWINDOW" || e.name == "HOPPING_WINDOW") {
    if (e.args.size() != 3)
      throw sql_error(e.loc, "HOPPINGWINDOW(unit, size, hop) takes 3 arguments");
    int64_t unit = asa_unit(*e.args[0]);
    w.spec.k = stream::window_spec::kind::hop;
    w.spec.size_ms = interval_times(unit, positive_int(*e.args[1], "window size"), e.loc);
    w.spec.slide_ms = interval_times(unit, positive_int(*e.args[2], "hop size"), e.loc);
    return w;
  }
  if (e.name == "SESSIONWINDOW" || e.name == "SESSION_WINDOW") {
    if (e.args.size() < 2 || e.args.size() > 3)
      throw sql_error(e.loc, "SESSIONWINDOW(unit, timeout[, max duration]) takes 2 or 3 arguments");
    w.spec.k = stream::window_spec::kind::session;
    w.spec.gap_ms =
        interval_times(asa_unit(*e.args[0]), positive_int(*e.args[1], "timeout"), e.loc);
    return w;
  }
  return std::nullopt;
}

pending_window table_function_window(const table_ref& t, int time_column) {
  pending_window out;
  out.active = true;
  out.loc = t.loc;
  auto& w = out.spec;
  w.time_column = time_column;
  if (t.window == "TUMBLE") {
    w.k = stream::window_spec::kind::tumble;
    w.size_ms = w.slide_ms = positive_interval(t.intervals[0], t.loc);
  } else if (t.window == "HOP") {
    w.k = stream::window_spec::kind::hop;
    w.slide_ms = positive_interval(t.intervals[0], t.loc);
    w.size_ms = positive_interval(t.intervals[1], t.loc);
  } else {
    w.k = stream::window_spec::kind::session;
    w.gap_ms = positive_interval(t.intervals[0], t.loc);
  }
  return out;
}

void materialize_window(bound& b) {
  if (!b.window.active) return;
  if (b.window.spec.k == stream::window_spec::kind::session)
    throw sql_error(b.window.loc,
                    "SESSION windows need GROUP BY window_start, window_end (an aggregation)");
  if (b.window.spec.slide_ms > b.window.spec.size_ms)
    throw sql_error(b.window.loc, "the hop must not be larger than the window");
  auto n = make_node(logical_node::kind::window_assign, b.node);
  n->window = b.window.spec;
  std::string q = b.sc.cols.empty() ? "" : b.sc.cols.front().qualifier;
  b.sc.cols.push_back({"window_start", q, data_type::of(type_id::timestamp)});
  b.sc.cols.push_back({"window_end", q, data_type::of(type_id::timestamp)});
  n->columns = b.sc.logical();
  n->windowed = true;
  n->window_start_column = static_cast<int>(b.sc.cols.size()) - 2;
  n->window_end_column = static_cast<int>(b.sc.cols.size()) - 1;
  b.node = n;
  b.window.active = false;
}

}  // namespace sluice::sql::binder
