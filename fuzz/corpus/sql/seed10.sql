SELECT v.u, v.page FROM visits v WHERE NOT EXISTS (SELECT 1 FROM blocked b WHERE b.u = v.u AND b.why <> 'x') AND v.u IN (SELECT w FROM more)
