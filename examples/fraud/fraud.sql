-- Fraud detection over card payments (examples/fraud/README.md).
-- Payments are a stream; accounts a table on a compacted topic (the latest row per card).
CREATE STREAM tx (id BIGINT, card VARCHAR, amount DOUBLE, country VARCHAR, ts TIMESTAMP)
  WITH (topic = 'fraud-tx', timestamp = 'ts', watermark = 'ts - INTERVAL ''5'' SECOND',
        idle_timeout = '1 s');

CREATE TABLE accounts (card VARCHAR PRIMARY KEY, home_country VARCHAR, credit_limit DOUBLE,
                       updated TIMESTAMP)
  WITH (topic = 'fraud-accounts', timestamp = 'updated', idle_timeout = '1 s');

-- Rule 1, velocity: more than 3 payments of a card in a minute (windows every 10 s).
CREATE MATERIALIZED VIEW fraud_velocity AS
  SELECT card, window_start, window_end, COUNT(*) AS payments, SUM(amount) AS total
  FROM TABLE(HOP(TABLE tx, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
  GROUP BY card, window_start, window_end
  HAVING COUNT(*) > 3;

-- Rule 2, impossible travel: the same card in two countries within 10 minutes (interval
-- self-join).
CREATE MATERIALIZED VIEW fraud_travel AS
  SELECT a.card, a.id AS first_id, b.id AS second_id, a.country AS from_country,
         b.country AS to_country, b.ts
  FROM tx a JOIN tx b
    ON a.card = b.card AND a.country <> b.country
   AND b.ts > a.ts AND b.ts <= a.ts + INTERVAL '10' MINUTE;

-- Rule 3, an amount over 5 times the card's average of the last hour (OVER), enriched with
-- the account as it was at the payment's time (temporal join), into the alerts stream.
CREATE STREAM alerts (id BIGINT, card VARCHAR, amount DOUBLE, avg_1h DOUBLE,
                      home_country VARCHAR, credit_limit DOUBLE, ts TIMESTAMP)
  WITH (topic = 'fraud-alerts', timestamp = 'ts', idle_timeout = '1 s');

INSERT INTO alerts
  SELECT s.id, s.card, s.amount, s.avg_1h, acc.home_country, acc.credit_limit, s.ts
  FROM (
    SELECT id, card, amount, ts, AVG(amount) OVER (PARTITION BY card ORDER BY ts
      RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) AS avg_1h
    FROM tx) s
  JOIN accounts FOR SYSTEM_TIME AS OF s.ts AS acc ON s.card = acc.card
  WHERE s.amount > 5 * s.avg_1h;

-- The cards flagged so far, live (the dashboard's Views page shows it).
CREATE MATERIALIZED VIEW flagged_cards AS
  SELECT card, COUNT(*) AS alerts, MAX(amount) AS largest, MAX(credit_limit) AS credit_limit
  FROM alerts GROUP BY card;
