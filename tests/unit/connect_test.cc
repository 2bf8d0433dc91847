// The connector runtime's pure parts: PostgreSQL's pgoutput and replication messages, config
// JSON, settings, and Debezium's envelope read as rows.

#include <gtest/gtest.h>

#include "connect/connector.h"
#include "connect/postgres/pgoutput.h"
#include "connect/worker.h"
#include "stream/debezium_decoder.h"

namespace sluice::connect {
namespace {

// pgoutput's encodings, written the way PostgreSQL writes them.
struct msg {
  std::string b;
  msg& c(char v) {
    b += v;
    return *this;
  }
  msg& u16(uint16_t v) { return be(v, 2); }
  msg& u32(uint32_t v) { return be(v, 4); }
  msg& u64(uint64_t v) { return be(v, 8); }
  msg& str(std::string_view s) {
    b += s;
    b += '\0';
    return *this;
  }
  msg& text(std::string_view s) {
    c('t').u32(static_cast<uint32_t>(s.size()));
    b += s;
    return *this;
  }
  msg& be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i)
      b += static_cast<char>((v >> (8 * i)) & 0xff);
    return *this;
  }
};

TEST(Pgoutput, RelationThenInsertUpdateDelete) {
  auto rel = msg().c('R').u32(16384).str("public").str("customers").c('d').u16(2);
  rel.c(1).str("id").u32(23).u32(0xffffffff).c(0).str("name").u32(25).u32(0xffffffff);
  auto r = pg::decode(rel.b);
  ASSERT_TRUE(r);
  auto& relation = std::get<pg::relation>(*r);
  EXPECT_EQ(relation.table, "customers");
  ASSERT_EQ(relation.columns.size(), 2u);
  EXPECT_TRUE(relation.columns[0].key);
  EXPECT_EQ(relation.columns[1].type_oid, 25u);

  auto ins = msg().c('I').u32(16384).c('N').u16(2).text("7").c('n');
  auto i = pg::decode(ins.b);
  ASSERT_TRUE(i);
  auto& insert = std::get<pg::insert_msg>(*i);
  EXPECT_EQ(insert.after[0].text, "7");
  EXPECT_EQ(insert.after[1].k, pg::datum::kind::null);

  // An update whose key changed ('K' old key) and whose second column is an unchanged TOAST.
  auto upd = msg().c('U').u32(16384).c('K').u16(2).text("6").c('n').c('N').u16(2).text("7").c('u');
  auto u = pg::decode(upd.b);
  ASSERT_TRUE(u);
  auto& update = std::get<pg::update_msg>(*u);
  ASSERT_TRUE(update.before);
  EXPECT_TRUE(update.before_is_key);
  EXPECT_EQ((*update.before)[0].text, "6");
  EXPECT_EQ(update.after[1].k, pg::datum::kind::unchanged_toast);

  auto del = msg().c('D').u32(16384).c('O').u16(2).text("7").text("ann");
  auto d = pg::decode(del.b);
  ASSERT_TRUE(d);
  EXPECT_FALSE(std::get<pg::delete_msg>(*d).before_is_key);
  EXPECT_EQ(std::get<pg::delete_msg>(*d).before[1].text, "ann");
}

TEST(Pgoutput, BeginAndCommit) {
  auto b = pg::decode(msg().c('B').u64(0x16B374D848).u64(1000).u32(726).b);
  ASSERT_TRUE(b);
  EXPECT_EQ(std::get<pg::begin_msg>(*b).xid, 726u);
  auto c = pg::decode(msg().c('C').c(0).u64(1).u64(0x16B374D900).u64(2000).b);
  ASSERT_TRUE(c);
  EXPECT_EQ(std::get<pg::commit_msg>(*c).end_lsn, 0x16B374D900u);
}

TEST(Pgoutput, ShortOrUnknownMessagesAreErrors) {
  EXPECT_FALSE(pg::decode(""));
  EXPECT_FALSE(pg::decode("Z"));
  EXPECT_FALSE(pg::decode(msg().c('I').u32(1).c('N').u16(1).c('t').u32(100).b));  // past the end
  EXPECT_FALSE(pg::decode(msg().c('R').u32(1).str("public").b));                  // no table name
  EXPECT_FALSE(pg::decode(msg().c('D').u32(1).c('X').b));
}

TEST(Pgoutput, ReplicationMessages) {
  auto k = pg::decode_copy_data(msg().c('k').u64(0x100).u64(5).c(1).b);
  ASSERT_TRUE(k);
  EXPECT_EQ(std::get<pg::keepalive>(*k).wal_end, 0x100u);
  EXPECT_TRUE(std::get<pg::keepalive>(*k).reply_requested);
  auto data = msg().c('w').u64(1).u64(2).u64(3).c('B').b;  // the payload is a view into it
  auto w = pg::decode_copy_data(data);
  ASSERT_TRUE(w);
  EXPECT_EQ(std::get<pg::xlog_data>(*w).payload, "B");
  auto status = pg::standby_status(0x10, 0x20, 7);
  ASSERT_EQ(status.size(), 34u);  // 'r', written, flushed, applied, clock, reply
  EXPECT_EQ(status[0], 'r');
  EXPECT_EQ(static_cast<uint8_t>(status[16]), 0x20);  // flushed, big-endian
}

TEST(Pgoutput, LsnText) {
  EXPECT_EQ(pg::format_lsn(0x16B374D848), "16/B374D848");
  EXPECT_EQ(pg::parse_lsn("16/B374D848"), 0x16B374D848u);
  EXPECT_FALSE(pg::parse_lsn("16B374D848"));
  EXPECT_FALSE(pg::parse_lsn("x/1"));
  EXPECT_EQ(pg::pg_time_to_unix_ms(pg::unix_ms_to_pg_time(1796074973943)), 1796074973943);
}

TEST(Config, JsonBothWays) {
  std::string err;
  auto c = config_from_json(R"({"connector":"redis","port":6379,"retain":true,"x":null})", err);
  ASSERT_TRUE(c) << err;
  EXPECT_EQ((*c)["port"], "6379");
  EXPECT_EQ((*c)["retain"], "true");
  EXPECT_FALSE(c->count("x"));
  auto again = config_from_json(config_to_json(*c), err);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *c);
  EXPECT_FALSE(config_from_json("[1]", err));
  EXPECT_FALSE(config_from_json(R"({"a":{"b":1}})", err));
}

TEST(Config, Settings) {
  config c{{"n", "12"}, {"bad", "1x"}};
  EXPECT_EQ(*integer_setting(c, "n", 0, 0, 100), 12);
  EXPECT_FALSE(integer_setting(c, "n", 0, 0, 10));
  EXPECT_FALSE(integer_setting(c, "bad", 0, 0, 10));
  EXPECT_EQ(integer_or(c, "missing", 5), 5);
  EXPECT_FALSE(required(c, "missing"));
  EXPECT_NE(find_kind("io.debezium.connector.postgresql.PostgresConnector"), nullptr);
  EXPECT_EQ(find_kind("postgres-cdc")->type, connector_type::source);
  EXPECT_EQ(find_kind("nope"), nullptr);
}

TEST(Debezium, AfterIsTheRowAndADeleteRemoves) {
  using stream::data_type;
  using stream::type_id;
  stream::debezium_decoder d(
      {{"id", data_type::of(type_id::int64)}, {"name", data_type::of(type_id::varchar)}});
  stream::row r;
  std::string err;
  bool removed = true;
  ASSERT_TRUE(
      d.decode_change(R"({"before":null,"after":{"id":1,"name":"ann"},"op":"c"})", r, removed, err))
      << err;
  EXPECT_FALSE(removed);
  EXPECT_EQ(r[1].str(), "ann");
  // With the JSON converter's schema wrapper, a delete: the row is `before` (its key).
  ASSERT_TRUE(d.decode_change(
      R"({"schema":{},"payload":{"before":{"id":2},"after":null,"op":"d"}})", r, removed, err))
      << err;
  EXPECT_TRUE(removed);
  EXPECT_EQ(r[0].i, 2);
  EXPECT_FALSE(d.decode(R"({"before":{"id":2},"after":null,"op":"d"})", r, err));  // no append
  EXPECT_FALSE(d.decode_change("[1]", r, removed, err));
  EXPECT_FALSE(d.decode_change(R"({"op":"c"})", r, removed, err));
}

}  // namespace
}  // namespace sluice::connect
