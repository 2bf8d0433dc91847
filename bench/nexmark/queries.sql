-- Nexmark in sluice SQL: the person, auction and bid streams and queries q0-q5 and q7-q9 as
-- sinks into topics, written as in Nexmark's reference SQL (Flink's nexmark repository).
-- Used by bench/nexmark/run.sh and tests/integration/nexmark_test.sh.
CREATE STREAM person (
  id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
  state VARCHAR, dateTime TIMESTAMP, extra VARCHAR
) WITH (topic = 'nexmark-person', timestamp = 'dateTime',
        watermark = 'dateTime - INTERVAL ''4'' SECOND', idle_timeout = '1 s');

CREATE STREAM auction (
  id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT, reserve BIGINT,
  dateTime TIMESTAMP, expires TIMESTAMP, seller BIGINT, category BIGINT, extra VARCHAR
) WITH (topic = 'nexmark-auction', timestamp = 'dateTime',
        watermark = 'dateTime - INTERVAL ''4'' SECOND', idle_timeout = '1 s');

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

-- q3: local item suggestion: auctions of category 10 by sellers in some states (regular
-- join of two streams)
CREATE SINK q3 INTO TOPIC 'nexmark-q3' AS
  SELECT P.name, P.city, P.state, A.id
  FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
  WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');

-- q4: average closing price per category (interval join, then an aggregate over an
-- updating aggregate: retractions)
CREATE SINK q4 INTO TOPIC 'nexmark-q4' AS
  SELECT Q.category, AVG(Q.final) AS avg_final
  FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.category
  ) Q
  GROUP BY Q.category;

-- q8: new users who opened an auction in the same 10-second window (window join)
CREATE SINK q8 INTO TOPIC 'nexmark-q8' AS
  SELECT P.id, P.name, P.starttime
  FROM (
    SELECT id, name, window_start AS starttime, window_end AS endtime
    FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
    GROUP BY id, name, window_start, window_end
  ) P
  JOIN (
    SELECT seller, window_start AS starttime, window_end AS endtime
    FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
    GROUP BY seller, window_start, window_end
  ) A
  ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;

-- q9: winning bids (interval join, then the best bid per auction: Top-N per key)
CREATE SINK q9 INTO TOPIC 'nexmark-q9' AS
  SELECT id, itemName, description, initialBid, reserve, dateTime, expires, seller, category,
         extra, auction, bidder, price, bid_dateTime, bid_extra
  FROM (
    SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,
      ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
  )
  WHERE rownum <= 1;

-- q5 and q7 as in Nexmark's reference SQL, with joins instead of Window Top-N.
-- q5j: the auctions with the most bids per window: each auction's count joined with the
-- window's maximum (a window aggregate over windowed counts; a window join)
CREATE SINK q5j INTO TOPIC 'nexmark-q5j' AS
  SELECT AuctionBids.auction, AuctionBids.num
  FROM (
    SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime
    FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
    GROUP BY auction, window_start, window_end
  ) AS AuctionBids
  JOIN (
    SELECT MAX(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
    FROM (
      SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime
      FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
      GROUP BY auction, window_start, window_end
    ) AS CountBids
    GROUP BY CountBids.starttime, CountBids.endtime
  ) AS MaxBids
  ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
   AND AuctionBids.num >= MaxBids.maxn;

-- q7j: the highest bids: bids joined with their window's maximum price (an interval join of a
-- stream with a windowed aggregate)
CREATE SINK q7j INTO TOPIC 'nexmark-q7j' AS
  SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
  FROM bid B
  JOIN (
    SELECT MAX(price) AS maxprice, window_end AS dateTime
    FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
    GROUP BY window_start, window_end
  ) B1
  ON B.price = B1.maxprice
  WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime;
