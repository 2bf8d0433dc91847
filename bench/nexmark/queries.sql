-- Nexmark in sluice SQL: the bid stream and queries q0, q1, q2, q5, q7 as sinks into topics.
-- Used by bench/nexmark/run.sh and tests/integration/nexmark_test.sh.
CREATE STREAM bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
  dateTime TIMESTAMP, extra VARCHAR
) WITH (topic = 'nexmark-bid', timestamp = 'dateTime',
        watermark = 'dateTime - INTERVAL ''4'' SECOND', idle_timeout = '1 s');

-- q0: pass-through
CREATE SINK q0 INTO TOPIC 'nexmark-q0' AS
  SELECT auction, bidder, price, dateTime, extra FROM bid;

-- q1: currency conversion (dollars to euros)
CREATE SINK q1 INTO TOPIC 'nexmark-q1' AS
  SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid;

-- q2: selection
CREATE SINK q2 INTO TOPIC 'nexmark-q2' AS
  SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;

-- q5: hot items: the auctions with the most bids in each 10-second window, every 2 seconds
CREATE SINK q5 INTO TOPIC 'nexmark-q5' AS
  SELECT auction, num, window_start, window_end FROM (
    SELECT *, RANK() OVER (PARTITION BY window_start, window_end ORDER BY num DESC) AS rk
    FROM (
      SELECT auction, COUNT(*) AS num, window_start, window_end
      FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
      GROUP BY auction, window_start, window_end))
  WHERE rk <= 1;

-- q7: highest bid in each 10-second window
CREATE SINK q7 INTO TOPIC 'nexmark-q7' AS
  SELECT auction, price, bidder, dateTime, extra, window_end FROM (
    SELECT *, RANK() OVER (PARTITION BY window_start, window_end ORDER BY price DESC) AS rk
    FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND)))
  WHERE rk <= 1;
