// Recursive-descent parser. Operator precedence, loosest first: OR, AND, NOT, comparison
// (= <> < <= > >= IS IN BETWEEN LIKE), + - ||, * / %, unary -, postfix (.field, [index]).

#include "sql/parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "base/strings.h"
#include "sql/error.h"
#include "sql/lexer.h"

namespace sluice::sql {

namespace {

constexpr std::string_view k_reserved[] = {
    "ALL",   "AND",      "AS",    "BETWEEN", "BY",   "CASE",      "CAST",   "CREATE",
    "DESC",  "DISTINCT", "DROP",  "ELSE",    "EMIT", "END",       "EXISTS", "FALSE",
    "FROM",  "FULL",     "GROUP", "HAVING",  "IN",   "INNER",     "INSERT", "INTERVAL",
    "INTO",  "IS",       "JOIN",  "LEFT",    "LIKE", "LIMIT",     "NOT",    "NULL",
    "ON",    "OR",       "ORDER", "OUTER",   "OVER", "PARTITION", "RIGHT",  "SELECT",
    "TABLE", "THEN",     "TRUE",  "UNION",   "WHEN", "WHERE",     "WINDOW", "WITH",
};

}  // namespace

bool is_reserved(std::string_view word) {
  auto u = ascii_upper(word);
  return std::find(std::begin(k_reserved), std::end(k_reserved), u) != std::end(k_reserved);
}

namespace {

class parser {
 public:
  parser(std::string_view text, std::vector<token> tokens) : text_(text), t_(std::move(tokens)) {}

  std::vector<statement> statements() {
    std::vector<statement> out;
    for (;;) {
      while (accept_symbol(";")) {
      }
      if (peek().k == token::kind::end) break;
      size_t start = peek().offset;
      statement st;
      st.loc = peek().loc;
      parse_statement(st);
      if (peek().k != token::kind::end && !is_symbol(";"))
        fail("expected ';' or the end of the statement");
      size_t end = peek().offset;
      st.text = std::string(text_.substr(start, end - start));
      while (!st.text.empty() && std::isspace(static_cast<unsigned char>(st.text.back())))
        st.text.pop_back();
      out.push_back(std::move(st));
    }
    if (out.empty()) throw sql_error(peek().loc, "expected a statement");
    return out;
  }

 private:
  // --- tokens -------------------------------------------------------------------------

  const token& peek(size_t ahead = 0) const { return t_[std::min(pos_ + ahead, t_.size() - 1)]; }
  const token& next() {
    const token& t = t_[pos_];
    if (pos_ + 1 < t_.size()) ++pos_;
    return t;
  }
  bool is_word(std::string_view kw, size_t ahead = 0) const {
    const auto& t = peek(ahead);
    return t.k == token::kind::identifier && t.text.size() == kw.size() &&
           ascii_upper(t.text) == kw;
  }
  bool is_symbol(std::string_view s, size_t ahead = 0) const {
    const auto& t = peek(ahead);
    return t.k == token::kind::symbol && t.text == s;
  }
  bool accept_word(std::string_view kw) {
    if (!is_word(kw)) return false;
    next();
    return true;
  }
  bool accept_symbol(std::string_view s) {
    if (!is_symbol(s)) return false;
    next();
    return true;
  }
  static std::string describe(const token& t) {
    switch (t.k) {
      case token::kind::end:
        return "the end of the input";
      case token::kind::string:
        return "string '" + t.text + "'";
      case token::kind::quoted_identifier:
        return "\"" + t.text + "\"";
      default:
        return "'" + t.text + "'";
    }
  }
  [[noreturn]] void fail(const std::string& expected) const {
    throw sql_error(peek().loc, expected + ", found " + describe(peek()));
  }
  void expect_word(std::string_view kw) {
    if (!accept_word(kw)) fail("expected " + std::string(kw));
  }
  void expect_symbol(std::string_view s) {
    if (!accept_symbol(s)) fail("expected '" + std::string(s) + "'");
  }
  std::string identifier(const char* what = "a name") {
    const auto& t = peek();
    if (t.k == token::kind::quoted_identifier) return next().text;
    if (t.k == token::kind::identifier && !is_reserved(t.text)) return next().text;
    fail(std::string("expected ") + what);
  }
  std::string string_literal(const char* what) {
    if (peek().k != token::kind::string) fail(std::string("expected ") + what);
    return next().text;
  }
  int64_t integer_literal(const char* what) {
    if (peek().k != token::kind::integer) fail(std::string("expected ") + what);
    const auto& t = next();
    int64_t v = 0;
    auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (r.ec != std::errc()) throw sql_error(t.loc, "integer out of range: " + t.text);
    return v;
  }

  // --- statements ---------------------------------------------------------------------

  void parse_statement(statement& st) {
    if (is_word("SELECT")) {
      st.body = query_stmt{select()};
    } else if (accept_word("CREATE")) {
      create(st);
    } else if (accept_word("INSERT")) {
      expect_word("INTO");
      insert_stmt s;
      s.target_loc = peek().loc;
      s.target = identifier("a stream name");
      s.query = select();
      st.body = std::move(s);
    } else if (accept_word("SHOW")) {
      static const char* kinds[] = {"STREAMS", "TABLES", "VIEWS",     "SINKS",
                                    "QUERIES", "TOPICS", "CONNECTORS"};
      for (const char* k : kinds)
        if (accept_word(k)) {
          st.body = show_stmt{k};
          return;
        }
      if (accept_word("MATERIALIZED")) {
        expect_word("VIEWS");
        st.body = show_stmt{"VIEWS"};
        return;
      }
      fail("expected STREAMS, TABLES, VIEWS, SINKS, QUERIES, TOPICS or CONNECTORS");
    } else if (accept_word("DESCRIBE") || accept_word("DESC")) {
      describe_stmt s;
      s.loc = peek().loc;
      s.name = identifier("a stream, table, view or sink name");
      st.body = std::move(s);
    } else if (accept_word("EXPLAIN")) {
      auto inner = std::make_shared<statement>();
      inner->loc = peek().loc;
      size_t start = peek().offset;
      parse_statement(*inner);
      inner->text = std::string(text_.substr(start, peek().offset - start));
      if (std::holds_alternative<explain_stmt>(inner->body))
        throw sql_error(inner->loc, "EXPLAIN EXPLAIN is not a statement");
      st.body = explain_stmt{std::move(inner)};
    } else if (accept_word("DROP")) {
      drop_stmt s;
      static const char* kinds[] = {"STREAM", "TABLE", "VIEW", "SINK", "QUERY", "CONNECTOR"};
      accept_word("MATERIALIZED");
      for (const char* k : kinds)
        if (s.what.empty() && accept_word(k)) s.what = k;
      if (s.what == "SINK" && accept_word("CONNECTOR")) s.what = "CONNECTOR";
      if (s.what.empty()) fail("expected STREAM, TABLE, VIEW, SINK, QUERY or CONNECTOR");
      if (accept_word("IF")) {
        expect_word("EXISTS");
        s.if_exists = true;
      }
      s.loc = peek().loc;
      s.name = identifier();
      st.body = std::move(s);
    } else {
      fail("expected a statement (SELECT, CREATE, INSERT, SHOW, DESCRIBE, EXPLAIN or DROP)");
    }
  }

  bool if_not_exists() {
    if (!accept_word("IF")) return false;
    expect_word("NOT");
    expect_word("EXISTS");
    return true;
  }

  void create(statement& st) {
    if (accept_word("STREAM") || is_word("TABLE")) {
      create_source_stmt s;
      s.is_table = accept_word("TABLE");
      s.if_not_exists = if_not_exists();
      s.name = identifier(s.is_table ? "a table name" : "a stream name");
      // Without a column list the columns come from the format's schema (a registry's).
      if (is_word("WITH") || peek().k == token::kind::end || is_symbol(";")) {
        if (is_word("WITH")) s.with = with_properties();
        st.body = std::move(s);
        return;
      }
      expect_symbol("(");
      do {
        if (accept_word("PRIMARY")) {
          expect_word("KEY");
          expect_symbol("(");
          do
            s.primary_key.push_back(identifier("a column name"));
          while (accept_symbol(","));
          expect_symbol(")");
          continue;
        }
        column_def c;
        c.loc = peek().loc;
        c.name = identifier("a column name");
        c.type = data_type();
        if (accept_word("PRIMARY")) {
          expect_word("KEY");
          s.primary_key.push_back(c.name);
        }
        accept_word("NULL");
        if (accept_word("NOT")) expect_word("NULL");
        s.columns.push_back(std::move(c));
      } while (accept_symbol(","));
      expect_symbol(")");
      if (is_word("WITH")) s.with = with_properties();
      st.body = std::move(s);
    } else if (accept_word("MATERIALIZED")) {
      expect_word("VIEW");
      create_view_stmt s;
      s.if_not_exists = if_not_exists();
      s.name = identifier("a view name");
      if (is_word("WITH")) s.with = with_properties();
      expect_word("AS");
      s.query = select();
      st.body = std::move(s);
    } else if (is_word("SOURCE") || (is_word("SINK") && is_word("CONNECTOR", 1))) {
      create_connector_stmt s;
      s.source = accept_word("SOURCE");
      if (!s.source) expect_word("SINK");
      expect_word("CONNECTOR");
      s.if_not_exists = if_not_exists();
      s.name = identifier("a connector name");
      if (!s.source) {
        expect_word("FROM");
        s.from_loc = peek().loc;
        s.from = identifier("a stream, table or view name");
      }
      s.with = with_properties();
      st.body = std::move(s);
    } else if (accept_word("SINK")) {
      create_sink_stmt s;
      s.if_not_exists = if_not_exists();
      s.name = identifier("a sink name");
      expect_word("INTO");
      expect_word("TOPIC");
      s.topic = peek().k == token::kind::string ? next().text : identifier("a topic name");
      if (is_word("WITH")) s.with = with_properties();
      expect_word("AS");
      s.query = select();
      st.body = std::move(s);
    } else if (is_word("VIEW")) {
      fail("expected MATERIALIZED VIEW (views in sluice are always materialized)");
    } else {
      fail("expected STREAM, TABLE, MATERIALIZED VIEW, SINK or SOURCE|SINK CONNECTOR");
    }
  }

  properties with_properties() {
    expect_word("WITH");
    expect_symbol("(");
    properties p;
    do {
      std::string key;
      if (peek().k == token::kind::string) {
        key = next().text;
      } else {
        key = identifier("a property name");
        while (accept_symbol("."))
          key += "." + identifier("a property name");
      }
      expect_symbol("=");
      std::string v;
      if (peek().k == token::kind::string || peek().k == token::kind::integer ||
          peek().k == token::kind::number)
        v = next().text;
      else
        fail("expected a quoted property value");
      p[ascii_lower(key)] = v;
    } while (accept_symbol(","));
    expect_symbol(")");
    return p;
  }

  stream::type_ptr data_type() {
    depth_guard g(*this);
    using stream::type_id;
    auto loc = peek().loc;
    if (peek().k != token::kind::identifier) fail("expected a type");
    auto name = ascii_upper(next().text);
    auto skip_args = [&] {
      if (accept_symbol("(")) {
        integer_literal("a length or precision");
        if (accept_symbol(",")) integer_literal("a scale");
        expect_symbol(")");
      }
    };
    if (name == "BOOLEAN" || name == "BOOL") return stream::data_type::of(type_id::boolean);
    if (name == "INT" || name == "INTEGER" || name == "SMALLINT" || name == "TINYINT")
      return stream::data_type::of(type_id::int32);
    if (name == "BIGINT") return stream::data_type::of(type_id::int64);
    if (name == "DOUBLE" || name == "FLOAT" || name == "REAL") {
      accept_word("PRECISION");
      return stream::data_type::of(type_id::float64);
    }
    if (name == "DECIMAL" || name == "NUMERIC" || name == "DEC") {
      skip_args();
      return stream::data_type::of(type_id::decimal);
    }
    if (name == "VARCHAR" || name == "STRING" || name == "TEXT" || name == "CHAR") {
      skip_args();
      return stream::data_type::of(type_id::varchar);
    }
    if (name == "TIMESTAMP" || name == "TIMESTAMP_LTZ" || name == "DATETIME") {
      skip_args();
      return stream::data_type::of(type_id::timestamp);
    }
    if (name == "ARRAY") {
      auto t = std::make_shared<stream::data_type>();
      t->id = type_id::array;
      bool angle = accept_symbol("<");
      if (!angle) expect_symbol("(");
      t->element = data_type();
      expect_symbol(angle ? ">" : ")");
      return t;
    }
    if (name == "MAP") {
      auto t = std::make_shared<stream::data_type>();
      t->id = type_id::map;
      bool angle = accept_symbol("<");
      if (!angle) expect_symbol("(");
      auto key = data_type();
      if (key->id != type_id::varchar)
        throw sql_error(loc, "MAP keys must be VARCHAR (JSON object keys)");
      expect_symbol(",");
      t->element = data_type();
      expect_symbol(angle ? ">" : ")");
      return t;
    }
    if (name == "ROW" || name == "STRUCT") {
      auto t = std::make_shared<stream::data_type>();
      t->id = type_id::row;
      bool angle = accept_symbol("<");
      if (!angle) expect_symbol("(");
      do {
        stream::field_type f;
        f.name = identifier("a field name");
        accept_symbol(":");
        f.type = data_type();
        t->fields.push_back(std::move(f));
      } while (accept_symbol(","));
      expect_symbol(angle ? ">" : ")");
      return t;
    }
    throw sql_error(loc, "unknown type " + name +
                             " (expected BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL, VARCHAR, "
                             "TIMESTAMP, ROW, ARRAY or MAP)");
  }

  // --- SELECT -------------------------------------------------------------------------

  std::shared_ptr<select_stmt> select() {
    depth_guard g(*this);
    auto s = std::make_shared<select_stmt>();
    s->loc = peek().loc;
    expect_word("SELECT");
    if (accept_word("DISTINCT")) s->distinct = true;
    accept_word("ALL");
    do {
      select_item it;
      it.e = expression();
      if (accept_word("AS")) {
        it.alias = identifier("an alias");
      } else if (peek().k == token::kind::quoted_identifier ||
                 (peek().k == token::kind::identifier && !is_reserved(peek().text))) {
        it.alias = identifier();
      }
      s->items.push_back(std::move(it));
    } while (accept_symbol(","));
    if (accept_word("INTO")) {
      s->into_loc = peek().loc;
      s->into = identifier("a stream name after INTO");
    }
    expect_word("FROM");
    s->from = table();
    if (accept_word("WHERE")) s->where = expression();
    if (accept_word("GROUP")) {
      expect_word("BY");
      do
        s->group_by.push_back(expression());
      while (accept_symbol(","));
    }
    if (accept_word("HAVING")) s->having = expression();
    if (is_word("UNION")) {
      auto at = next().loc;
      s->union_distinct = !accept_word("ALL");
      if (s->union_distinct) accept_word("DISTINCT");
      s->union_all = select();
      if (s->union_all->union_all && s->union_all->union_distinct != s->union_distinct)
        throw sql_error(at, "UNION and UNION ALL in one chain: use one kind (or a subquery)");
      s->emit_changes = s->union_all->emit_changes;
      return s;
    }
    if (accept_word("ORDER")) {
      expect_word("BY");
      s->order_by = order_list();
    }
    if (accept_word("LIMIT")) s->limit = integer_literal("a row count after LIMIT");
    if (accept_word("EMIT")) {
      if (!accept_word("CHANGES")) fail("expected CHANGES after EMIT");
      s->emit_changes = true;
    }
    return s;
  }

  std::vector<order_item> order_list() {
    std::vector<order_item> out;
    do {
      order_item o;
      o.e = expression();
      if (accept_word("DESC"))
        o.descending = true;
      else
        accept_word("ASC");
      out.push_back(std::move(o));
    } while (accept_symbol(","));
    return out;
  }

  std::string optional_alias() {
    if (accept_word("AS")) return identifier("an alias");
    if (peek().k == token::kind::quoted_identifier ||
        (peek().k == token::kind::identifier && !is_reserved(peek().text) && !is_word("TIMESTAMP")))
      return identifier();
    return {};
  }

  // FROM: a table, then joins: `, t` (condition in WHERE) or [INNER | LEFT [OUTER] |
  // RIGHT [OUTER] | FULL [OUTER]] JOIN t ON condition, left to right.
  std::shared_ptr<table_ref> table() {
    auto left = table_primary();
    for (;;) {
      auto loc = peek().loc;
      std::string kind;
      if (accept_symbol(",")) {
        kind = "CROSS";
      } else if (accept_word("JOIN")) {
        kind = "INNER";
      } else if (is_word("INNER") || is_word("LEFT") || is_word("RIGHT") || is_word("FULL")) {
        kind = ascii_upper(next().text);
        if (kind != "INNER") accept_word("OUTER");
        if (!accept_word("JOIN")) fail("expected JOIN");
      } else {
        return left;
      }
      auto j = std::make_shared<table_ref>();
      j->k = table_ref::kind::join;
      j->loc = loc;
      j->join = kind;
      j->left = left;
      j->right = table_primary();
      if (kind != "CROSS") {
        if (!accept_word("ON")) fail("expected ON and the join condition");
        j->on = expression();
      }
      left = j;
    }
  }

  std::shared_ptr<table_ref> table_primary() {
    auto t = std::make_shared<table_ref>();
    t->loc = peek().loc;
    if (accept_symbol("(")) {
      t->k = table_ref::kind::subquery;
      t->subquery = select();
      expect_symbol(")");
      t->alias = optional_alias();
      return t;
    }
    if (accept_word("TABLE")) {
      expect_symbol("(");
      t->k = table_ref::kind::window_function;
      auto wloc = peek().loc;
      if (peek().k != token::kind::identifier) fail("expected TUMBLE, HOP or SESSION");
      t->window = ascii_upper(next().text);
      if (t->window != "TUMBLE" && t->window != "HOP" && t->window != "SESSION")
        throw sql_error(wloc, "expected TUMBLE, HOP or SESSION, found '" + t->window + "'");
      expect_symbol("(");
      expect_word("TABLE");
      t->input = std::make_shared<table_ref>();
      t->input->loc = peek().loc;
      t->input->name = identifier("a stream name");
      if (t->window == "SESSION" && accept_word("PARTITION")) {
        expect_word("BY");
        do
          t->session_partition.push_back(expression());
        while (accept_symbol(","));
      }
      expect_symbol(",");
      if (!accept_word("DESCRIPTOR")) fail("expected DESCRIPTOR(time column)");
      expect_symbol("(");
      t->descriptor = identifier("a time column");
      expect_symbol(")");
      while (accept_symbol(",")) {
        auto iloc = peek().loc;
        auto e = primary();
        if (e->k != expr::kind::interval) throw sql_error(iloc, "expected an INTERVAL");
        t->intervals.push_back(e->interval_ms);
      }
      size_t want = t->window == "HOP" ? 2 : 1;
      if (t->intervals.size() != want)
        throw sql_error(wloc, t->window + " takes " + std::to_string(want) +
                                  (want == 1 ? " interval" : " intervals (slide, size)"));
      expect_symbol(")");
      expect_symbol(")");
      t->alias = optional_alias();
      return t;
    }
    t->name = identifier("a stream, table or view name");
    if (is_word("FOR") && is_word("SYSTEM_TIME", 1)) {
      next();
      next();
      expect_word("AS");
      if (!accept_word("OF")) fail("expected OF after FOR SYSTEM_TIME AS");
      t->as_of = expression();
    }
    t->alias = optional_alias();
    if (is_word("TIMESTAMP") && is_word("BY", 1)) {
      next();
      next();
      t->timestamp_by = identifier("a time column after TIMESTAMP BY");
    }
    return t;
  }

  // --- expressions --------------------------------------------------------------------

  expr_ptr make(expr::kind k, location loc) {
    auto e = std::make_shared<expr>();
    e->k = k;
    e->loc = loc;
    return e;
  }

  expr_ptr binary(std::string op, expr_ptr a, expr_ptr b, location loc) {
    auto e = make(expr::kind::binary, loc);
    e->op = std::move(op);
    e->args = {std::move(a), std::move(b)};
    return e;
  }

  expr_ptr expression() {
    depth_guard g(*this);
    return or_expr();
  }

  expr_ptr or_expr() {
    auto e = and_expr();
    while (is_word("OR")) {
      auto loc = next().loc;
      e = binary("OR", e, and_expr(), loc);
    }
    return e;
  }

  expr_ptr and_expr() {
    auto e = not_expr();
    while (is_word("AND")) {
      auto loc = next().loc;
      e = binary("AND", e, not_expr(), loc);
    }
    return e;
  }

  expr_ptr not_expr() {
    depth_guard g(*this);
    if (is_word("NOT")) {
      auto loc = next().loc;
      auto inner = not_expr();
      if (inner->k == expr::kind::exists) {  // NOT EXISTS: an anti join, not a negation
        inner->negated = !inner->negated;
        inner->loc = loc;
        return inner;
      }
      auto e = make(expr::kind::unary, loc);
      e->op = "NOT";
      e->args = {inner};
      return e;
    }
    return comparison();
  }

  expr_ptr comparison() {
    auto e = additive();
    for (;;) {
      auto loc = peek().loc;
      static const char* ops[] = {"=", "<>", "<", "<=", ">", ">="};
      bool matched = false;
      for (const char* op : ops)
        if (accept_symbol(op)) {
          e = binary(op, e, additive(), loc);
          matched = true;
          break;
        }
      if (matched) continue;
      if (accept_word("IS")) {
        auto n = make(expr::kind::is_null, loc);
        n->negated = accept_word("NOT");
        expect_word("NULL");
        n->args = {e};
        e = n;
        continue;
      }
      bool negated = false;
      if (is_word("NOT") && (is_word("IN", 1) || is_word("BETWEEN", 1) || is_word("LIKE", 1))) {
        next();
        negated = true;
      }
      if (accept_word("IN")) {
        auto n = make(expr::kind::in_list, loc);
        n->negated = negated;
        n->args = {e};
        expect_symbol("(");
        if (is_word("SELECT")) {
          n->k = expr::kind::in_select;
          n->subquery = select();
          expect_symbol(")");
          e = n;
          continue;
        }
        do
          n->args.push_back(expression());
        while (accept_symbol(","));
        expect_symbol(")");
        e = n;
      } else if (accept_word("BETWEEN")) {
        auto n = make(expr::kind::between, loc);
        n->negated = negated;
        auto lo = additive();
        expect_word("AND");
        n->args = {e, lo, additive()};
        e = n;
      } else if (accept_word("LIKE")) {
        auto n = make(expr::kind::like, loc);
        n->negated = negated;
        n->args = {e, additive()};
        e = n;
      } else {
        return e;
      }
    }
  }

  expr_ptr additive() {
    auto e = multiplicative();
    for (;;) {
      auto loc = peek().loc;
      if (accept_symbol("+"))
        e = binary("+", e, multiplicative(), loc);
      else if (accept_symbol("-"))
        e = binary("-", e, multiplicative(), loc);
      else if (accept_symbol("||"))
        e = binary("||", e, multiplicative(), loc);
      else
        return e;
    }
  }

  expr_ptr multiplicative() {
    auto e = unary();
    for (;;) {
      auto loc = peek().loc;
      if (accept_symbol("*"))
        e = binary("*", e, unary(), loc);
      else if (accept_symbol("/"))
        e = binary("/", e, unary(), loc);
      else if (accept_symbol("%"))
        e = binary("%", e, unary(), loc);
      else
        return e;
    }
  }

  expr_ptr unary() {
    depth_guard g(*this);
    auto loc = peek().loc;
    if (accept_symbol("-")) {
      auto inner = unary();
      if (inner->k == expr::kind::literal && inner->lit.k == stream::value::kind::integer) {
        inner->lit.i = -inner->lit.i;
        inner->loc = loc;
        return inner;
      }
      if (inner->k == expr::kind::literal && inner->lit.k == stream::value::kind::real) {
        inner->lit.d = -inner->lit.d;
        inner->loc = loc;
        return inner;
      }
      auto e = make(expr::kind::unary, loc);
      e->op = "-";
      e->args = {inner};
      return e;
    }
    if (accept_symbol("+")) return unary();
    return postfix(primary());
  }

  expr_ptr postfix(expr_ptr e) {
    for (;;) {
      auto loc = peek().loc;
      if (accept_symbol(".")) {
        auto f = make(expr::kind::field, loc);
        f->name = identifier("a field name");
        f->args = {e};
        e = f;
      } else if (accept_symbol("[")) {
        auto f = make(expr::kind::index, loc);
        f->args = {e, expression()};
        expect_symbol("]");
        e = f;
      } else {
        return e;
      }
    }
  }

  int64_t interval_unit(const std::string& unit_text, location loc) {
    auto u = ascii_upper(unit_text);
    if (!u.empty() && u.back() == 'S') u.pop_back();
    if (u == "MILLISECOND") return 1;
    if (u == "SECOND") return 1000;
    if (u == "MINUTE") return 60'000;
    if (u == "HOUR") return 3'600'000;
    if (u == "DAY") return 86'400'000;
    throw sql_error(loc,
                    "expected an interval unit (MILLISECOND, SECOND, MINUTE, HOUR, DAY), "
                    "found '" +
                        unit_text + "'");
  }

  static double real_literal(const token& t) {
    double d = 0;
    auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), d);
    if (r.ec != std::errc()) throw sql_error(t.loc, "number out of range: " + t.text);
    return d;
  }

  expr_ptr interval_literal(location loc) {
    // INTERVAL '10' SECOND, INTERVAL '10 seconds', INTERVAL 10 SECOND
    std::string amount;
    auto aloc = peek().loc;
    if (peek().k == token::kind::string || peek().k == token::kind::integer)
      amount = next().text;
    else
      fail("expected an interval amount such as '10'");
    std::string unit;
    auto space = amount.find(' ');
    if (space != std::string::npos) {
      unit = amount.substr(space + 1);
      amount = amount.substr(0, space);
    } else {
      if (peek().k != token::kind::identifier) fail("expected an interval unit");
      aloc = peek().loc;
      unit = next().text;
    }
    int64_t n = 0;
    auto r = std::from_chars(amount.data(), amount.data() + amount.size(), n);
    if (r.ec != std::errc() || r.ptr != amount.data() + amount.size())
      throw sql_error(loc, "bad interval amount '" + amount + "'");
    auto e = make(expr::kind::interval, loc);
    if (__builtin_mul_overflow(n, interval_unit(unit, aloc), &e->interval_ms))
      throw sql_error(loc, "interval too large");
    return e;
  }

  expr_ptr primary() {
    const token& t = peek();
    auto loc = t.loc;
    switch (t.k) {
      case token::kind::integer: {
        auto e = make(expr::kind::literal, loc);
        int64_t v = 0;
        auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (r.ec != std::errc()) {
          e->lit = stream::value::real(real_literal(t));
        } else {
          e->lit = stream::value::integer(v);
        }
        next();
        return e;
      }
      case token::kind::number: {
        auto e = make(expr::kind::literal, loc);
        e->lit = stream::value::real(real_literal(t));
        next();
        return e;
      }
      case token::kind::string: {
        auto e = make(expr::kind::literal, loc);
        e->lit = stream::value::string(t.text);
        next();
        return e;
      }
      case token::kind::quoted_identifier:
        return column_or_call();
      case token::kind::symbol:
        if (accept_symbol("(")) {
          if (is_word("SELECT")) throw sql_error(peek().loc, "scalar subqueries are not supported");
          auto e = expression();
          expect_symbol(")");
          return e;
        }
        if (accept_symbol("*")) return make(expr::kind::star, loc);
        fail("expected an expression");
      case token::kind::end:
        fail("expected an expression");
      case token::kind::identifier:
        break;
    }
    if (accept_word("NULL")) return make(expr::kind::literal, loc);
    if (accept_word("TRUE") || accept_word("FALSE")) {
      auto e = make(expr::kind::literal, loc);
      e->lit = stream::value::boolean(ascii_upper(t_[pos_ - 1].text) == "TRUE");
      return e;
    }
    if (accept_word("INTERVAL")) return interval_literal(loc);
    if (is_word("EXISTS")) {
      next();
      auto e = make(expr::kind::exists, loc);
      expect_symbol("(");
      if (!is_word("SELECT")) fail("expected SELECT");
      e->subquery = select();
      expect_symbol(")");
      return e;
    }
    if (is_word("TIMESTAMP") && peek(1).k == token::kind::string) {
      next();
      auto s = next();
      int64_t ms = 0;
      if (!stream::parse_timestamp(s.text, ms))
        throw sql_error(s.loc, "bad TIMESTAMP literal '" + s.text + "'");
      auto e = make(expr::kind::literal, loc);
      e->lit = stream::value::timestamp(ms);
      return e;
    }
    if (accept_word("CASE")) {
      auto e = make(expr::kind::case_when, loc);
      e->args.push_back(is_word("WHEN") ? nullptr : expression());
      if (!is_word("WHEN")) fail("expected WHEN");
      while (accept_word("WHEN")) {
        e->args.push_back(expression());
        expect_word("THEN");
        e->args.push_back(expression());
      }
      e->args.push_back(accept_word("ELSE") ? expression() : nullptr);
      expect_word("END");
      return e;
    }
    if (accept_word("CAST")) {
      auto e = make(expr::kind::cast, loc);
      expect_symbol("(");
      e->args = {expression()};
      expect_word("AS");
      e->cast_type = data_type();
      expect_symbol(")");
      return e;
    }
    if (is_reserved(t.text)) fail("expected an expression");
    return column_or_call();
  }

  expr_ptr column_or_call() {
    auto loc = peek().loc;
    bool quoted = peek().k == token::kind::quoted_identifier;
    std::string name = next().text;
    if (!quoted && is_symbol("(")) {
      next();
      auto e = make(expr::kind::function, loc);
      e->name = ascii_upper(name);
      if (accept_symbol(")")) return over_clause(e);
      if (accept_word("DISTINCT")) e->distinct = true;
      if (is_symbol("*") && is_symbol(")", 1)) {
        next();
        e->star_arg = true;
      } else {
        do
          e->args.push_back(expression());
        while (accept_symbol(","));
      }
      expect_symbol(")");
      return over_clause(e);
    }
    if (is_symbol(".") && is_symbol("*", 1)) {
      next();
      next();
      auto e = make(expr::kind::star, loc);
      e->qualifier = name;
      return e;
    }
    auto e = make(expr::kind::column, loc);
    if (is_symbol(".") &&
        (peek(1).k == token::kind::identifier || peek(1).k == token::kind::quoted_identifier)) {
      next();
      e->qualifier = name;
      e->name = next().text;
      if (!quoted && is_symbol("(") && is_symbol(")", 1)) {
        // Azure Stream Analytics' System.Timestamp(): the window end in a windowed query.
        next();
        next();
        auto f = make(expr::kind::function, loc);
        f->name = ascii_upper(e->qualifier + "." + e->name);
        return f;
      }
    } else {
      e->name = name;
    }
    return e;
  }

  expr_ptr over_clause(expr_ptr call) {
    if (!accept_word("OVER")) return call;
    auto e = make(expr::kind::over, call->loc);
    e->name = call->name;
    e->args = call->args;
    e->star_arg = call->star_arg;
    e->distinct = call->distinct;
    expect_symbol("(");
    if (accept_word("PARTITION")) {
      expect_word("BY");
      do
        e->partition.push_back(expression());
      while (accept_symbol(","));
    }
    if (accept_word("ORDER")) {
      expect_word("BY");
      e->order = order_list();
    }
    if (is_word("ROWS") || is_word("RANGE")) frame(*e);
    expect_symbol(")");
    return e;
  }

  // ROWS|RANGE [BETWEEN] <n | INTERVAL ..| UNBOUNDED> PRECEDING [AND CURRENT ROW]
  void frame(expr& e) {
    e.frame_rows = ascii_upper(next().text) == "ROWS";
    bool between = accept_word("BETWEEN");
    auto loc = peek().loc;
    if (accept_word("UNBOUNDED")) {
      e.frame_preceding = -1;
    } else if (e.frame_rows) {
      e.frame_preceding = integer_literal("a row count before PRECEDING");
      if (e.frame_preceding < 0) throw sql_error(loc, "the row count must not be negative");
    } else {
      auto i = primary();
      if (i->k != expr::kind::interval) throw sql_error(loc, "expected an INTERVAL or UNBOUNDED");
      e.frame_preceding = i->interval_ms;
    }
    if (!accept_word("PRECEDING")) fail("expected PRECEDING");
    if (between) {
      expect_word("AND");
      if (!accept_word("CURRENT")) fail("expected CURRENT ROW (frames end at the current row)");
      if (!accept_word("ROW")) fail("expected ROW");
    }
  }

  // Nesting is bounded so that hostile input cannot exhaust the stack (the parser, planner
  // and evaluator all recurse over the tree).
  struct depth_guard {
    explicit depth_guard(parser& p) : p_(p) {
      if (++p_.depth_ > k_max_depth)
        throw sql_error(p_.peek().loc,
                        "nested too deeply (more than " + std::to_string(k_max_depth) + " levels)");
    }
    ~depth_guard() { --p_.depth_; }
    parser& p_;
  };
  static constexpr int k_max_depth = 200;

  std::string_view text_;
  std::vector<token> t_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

std::vector<statement> parse(std::string_view text) {
  parser p(text, tokenize(text));
  return p.statements();
}

std::string expr::to_string() const {
  auto join = [](const std::vector<expr_ptr>& v, size_t from = 0) {
    std::string s;
    for (size_t i = from; i < v.size(); ++i) {
      if (i > from) s += ", ";
      s += v[i] ? v[i]->to_string() : "NULL";
    }
    return s;
  };
  switch (k) {
    case kind::literal:
      if (lit.k == stream::value::kind::string) return "'" + std::string(lit.str()) + "'";
      return stream::to_display(lit);
    case kind::interval:
      return "INTERVAL '" + std::to_string(interval_ms) + "' MILLISECOND";
    case kind::column:
      return qualifier.empty() ? name : qualifier + "." + name;
    case kind::star:
      return qualifier.empty() ? "*" : qualifier + ".*";
    case kind::unary:
      return op == "NOT" ? "NOT " + args[0]->to_string() : op + args[0]->to_string();
    case kind::binary:
      return "(" + args[0]->to_string() + " " + op + " " + args[1]->to_string() + ")";
    case kind::function:
      return name + "(" + (distinct ? "DISTINCT " : "") + (star_arg ? "*" : join(args)) + ")";
    case kind::case_when:
      return "CASE ... END";
    case kind::cast:
      return "CAST(" + args[0]->to_string() + " AS " + cast_type->to_string() + ")";
    case kind::in_list:
      return args[0]->to_string() + (negated ? " NOT IN (" : " IN (") + join(args, 1) + ")";
    case kind::in_select:
      return args[0]->to_string() + (negated ? " NOT IN (SELECT ...)" : " IN (SELECT ...)");
    case kind::exists:
      return negated ? "NOT EXISTS (SELECT ...)" : "EXISTS (SELECT ...)";
    case kind::between:
      return args[0]->to_string() + (negated ? " NOT BETWEEN " : " BETWEEN ") +
             args[1]->to_string() + " AND " + args[2]->to_string();
    case kind::like:
      return args[0]->to_string() + (negated ? " NOT LIKE " : " LIKE ") + args[1]->to_string();
    case kind::is_null:
      return args[0]->to_string() + (negated ? " IS NOT NULL" : " IS NULL");
    case kind::field:
      return args[0]->to_string() + "." + name;
    case kind::index:
      return args[0]->to_string() + "[" + args[1]->to_string() + "]";
    case kind::over: {
      std::string s = name + "(" + (star_arg ? "*" : join(args, 0)) + ") OVER (";
      if (!partition.empty()) s += "PARTITION BY " + join(partition, 0);
      for (size_t i = 0; i < order.size(); ++i)
        s += std::string(i ? ", " : " ORDER BY ") + order[i].e->to_string() +
             (order[i].descending ? " DESC" : "");
      if (frame_preceding >= 0)
        s += std::string(frame_rows ? " ROWS " : " RANGE ") + std::to_string(frame_preceding) +
             (frame_rows ? "" : " ms") + " PRECEDING";
      return s + ")";
    }
  }
  return "?";
}

}  // namespace sluice::sql
