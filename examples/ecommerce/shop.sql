-- A live shop (examples/ecommerce/README.md): orders are a stream, inventory a table (its
-- topic is the changelog of each SKU's stock: upserts, tombstones for SKUs that go away).
CREATE STREAM orders (order_id BIGINT, session VARCHAR, product VARCHAR, category VARCHAR,
                      qty BIGINT, price DOUBLE, ts TIMESTAMP)
  WITH (topic = 'shop-orders', timestamp = 'ts', watermark = 'ts - INTERVAL ''10'' SECOND',
        idle_timeout = '1 s');

CREATE TABLE inventory (sku VARCHAR PRIMARY KEY, product VARCHAR, warehouse VARCHAR,
                        stock BIGINT, updated TIMESTAMP)
  WITH (topic = 'shop-inventory', timestamp = 'updated', idle_timeout = '1 s');

-- Live stock per product over all warehouses: an aggregate over a table, which takes back a
-- SKU's old stock when it changes and all of it when the SKU is deleted.
CREATE MATERIALIZED VIEW stock AS
  SELECT product, SUM(stock) AS stock, COUNT(*) AS skus FROM inventory GROUP BY product;

-- Low-stock alerts: products under 20 items (a product leaves the view when restocked).
CREATE MATERIALIZED VIEW low_stock AS
  SELECT product, SUM(stock) AS stock FROM inventory GROUP BY product HAVING SUM(stock) < 20;

-- Revenue per category per minute.
CREATE MATERIALIZED VIEW revenue AS
  SELECT window_start, window_end, category, SUM(qty * price) AS revenue, COUNT(*) AS orders
  FROM TABLE(TUMBLE(TABLE orders, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
  GROUP BY window_start, window_end, category;

-- Bought together: orders of the same session within 30 minutes joined to themselves, pairs
-- counted per hour, the top 5 per product.
CREATE MATERIALIZED VIEW bought_together AS
  SELECT product, other, n, window_end FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, product
                                 ORDER BY n DESC, other) AS rn
    FROM (
      SELECT a.product, b.product AS other, COUNT(*) AS n, window_start, window_end
      FROM orders a JOIN orders b
        ON a.session = b.session AND a.product <> b.product
       AND b.ts BETWEEN a.ts - INTERVAL '30' MINUTE AND a.ts + INTERVAL '30' MINUTE
      GROUP BY TUMBLINGWINDOW(hour, 1), a.product, b.product))
  WHERE rn <= 5;
