// Drives the dashboard in Chromium (tests/integration/dashboard_test.sh). Produces readings
// through the REST Proxy API the whole time, so that rates, the view and the console move.
import { chromium } from 'playwright-core';

// NODE_BASE: a cluster-mode node beside the server, for the cluster page (optional).
const [base, executablePath, nodeBase] = process.argv.slice(2);
let failures = 0, checks = 0;
function check(name, ok, detail = '') {
  checks++;
  if (ok) console.log(`ok   ${name}`);
  else { failures++; console.log(`FAIL ${name} ${detail}`); }
}

async function produce(records) {
  const res = await fetch(`${base}/topics/readings`, {
    method: 'POST', headers: { 'Content-Type': 'application/vnd.kafka.json.v2+json' },
    body: JSON.stringify({ records: records.map(value => ({ key: value.sensor, value })) }),
  });
  if (!res.ok) throw new Error(`produce: ${res.status} ${await res.text()}`);
}

let n = 0;
const feeder = setInterval(() => {
  const records = [];
  for (const s of ['s1', 's2', 's3']) records.push({ sensor: s, temperature: 20 + (n++ % 13) });
  produce(records).catch(e => console.log('feeder:', e.message));
}, 100);

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
const errors = [];
let expected400 = 0;  // the console logs the HTTP 400 of the deliberately wrong statement
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', m => {
    if (m.type() !== 'error') return;
    if (expected400 > 0 && /status of 400/.test(m.text())) expected400--;
    else errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', e => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', r => {
    // Requests the dashboard cancels itself (leaving a page, Stop) are not failures.
    if (!/ERR_ABORTED/.test(r.failure()?.errorText || '')) errors.push(`request failed: ${r.url()}`);
  });
  page.setDefaultTimeout(20000);

  // Overview: the live status, the topic with a records-in rate, the running query.
  await page.goto(`${base}/`);
  await page.waitForSelector('#status.up');
  check('overview: status is live', true);
  const rate = await page.waitForFunction(() => {
    const cell = document.querySelector('tr[data-topic="readings"] td:nth-child(3)');
    return cell && parseFloat(cell.textContent) > 0 ? cell.textContent : null;
  });
  check('overview: readings topic has a records-in rate', true, await rate.jsonValue());
  const q = await page.waitForSelector('tr[data-query="stats"]');
  check('overview: query stats is RUNNING', (await q.textContent()).includes('RUNNING'));
  const disk = await page.waitForFunction(() => [...document.querySelectorAll('.tile')]
    .find(t => t.textContent.startsWith('Disk free') && /[0-9]/.test(t.textContent))?.textContent);
  const diskText = await disk.jsonValue();
  check('overview: disk free shown, writes not refused', !diskText.includes('refused'), diskText);

  // Queries page: the statement and a throughput chart.
  await page.click('nav a[data-page="queries"]');
  const qrow = await page.waitForSelector('tr[data-query="stats"] td.wrap:has-text("GROUP BY sensor")');
  check('queries: shows the statement', !!qrow);
  await page.waitForSelector('.uplot canvas');
  check('queries: chart drawn', true);

  // Views page, then the view: its table and chart change while records arrive.
  await page.click('nav a[data-page="views"]');
  await page.click('tr[data-view="stats"] a');
  await page.waitForFunction(() => document.querySelectorAll('#view-table tbody tr').length === 3);
  check('view: table has one row per sensor', true);
  await page.waitForFunction(() => Number(document.querySelector('#view-chart')?.dataset.points) > 3);
  const snap = () => page.evaluate(() => ({
    table: document.querySelector('#view-table tbody').textContent,
    points: Number(document.querySelector('#view-chart').dataset.points),
    canvas: document.querySelector('#view-chart canvas').toDataURL(),
    y: document.querySelector('#y-column').value,
  }));
  const before = await snap();
  check('view: charts a numeric column', before.y === 'avg_temp', before.y);
  await page.waitForFunction(t => document.querySelector('#view-table tbody').textContent !== t, before.table);
  await page.waitForTimeout(1500);
  const after = await snap();
  check('view: table changed', after.table !== before.table);
  check('view: chart has more points', after.points > before.points, `${before.points} -> ${after.points}`);
  check('view: chart redrawn', after.canvas !== before.canvas);

  // SQL console: a snapshot query, an error with its position, a streamed EMIT CHANGES query.
  await page.click('nav a[data-page="sql"]');
  await page.fill('#sql-input', "SELECT sensor, readings FROM stats WHERE sensor = 's2'");
  await page.click('#sql-run');
  const cell = await page.waitForSelector('#sql-output table tbody tr td');
  check('sql: snapshot query answered', (await cell.textContent()) === 's2');
  await page.fill('#sql-input', 'SELEC 1');
  expected400 = 1;
  await page.press('#sql-input', 'Control+Enter');
  const err = await page.waitForSelector('#sql-output .error');
  check('sql: error shows its position', /line 1, column 1/.test(await err.textContent()), await err.textContent());
  await page.fill('#sql-input', 'SELECT sensor, temperature FROM readings WHERE temperature > 1000 EMIT CHANGES');
  await page.click('#sql-run');
  await page.waitForSelector('#sql-stream thead th');
  await page.waitForFunction(() => /streaming/.test(document.querySelector('#sql-status').textContent));
  await produce([{ sensor: 'hot', temperature: 4321 }]);
  const row = await page.waitForSelector('#sql-stream tbody tr:has-text("4321")');
  check('sql: EMIT CHANGES row streamed in', (await row.textContent()).includes('hot'));
  await page.click('#sql-stop');
  await page.waitForFunction(() => /stopped|ended/.test(document.querySelector('#sql-status').textContent));
  check('sql: stop ends the stream', true);

  // A topic's newest records, live.
  await page.goto(`${base}/#/topics/readings`);
  await page.waitForFunction(() => /"sensor":"s\d"/.test(document.querySelector('pre.records')?.textContent || ''));
  check('topic: newest records appear', true);

  // Consumer groups: the group the shell script committed with kcat, with its lag.
  await page.click('nav a[data-page="groups"]');
  const g = await page.waitForSelector('tr[data-group="dashboard-group"]');
  check('groups: dashboard-group listed with a lag', /readings/.test(await g.textContent()));

  // Queues: depth and in-flight of a work queue.
  const created = await fetch(`${base}/v1/queues`, { method: 'POST', body: JSON.stringify({ name: 'tasks' }) });
  check('queues: created over HTTP', created.status === 201, String(created.status));
  await fetch(`${base}/v1/queues/tasks/messages`, {
    method: 'POST', body: JSON.stringify({ messages: [1, 2, 3, 4, 5].map(n => ({ value: { n } })) }),
  });
  await fetch(`${base}/v1/queues/tasks/receive`, { method: 'POST', body: JSON.stringify({ max_messages: 2 }) });
  await page.click('nav a[data-page="queues"]');
  const qrow2 = await page.waitForFunction(() => {
    const r = document.querySelector('tr[data-queue="tasks"]');
    return r && r.children[1].textContent === '3' && r.children[2].textContent === '2' ? r.textContent : null;
  });
  check('queues: 3 ready and 2 in flight shown', true, await qrow2.jsonValue());

  // Schemas: the subjects the shell script registered, then a diff of two versions.
  await page.click('nav a[data-page="schemas"]');
  const sub = await page.waitForSelector('tr[data-subject="readings-value"]');
  check('schemas: the subject listed with its latest version', /AVRO.*2/.test(await sub.textContent()),
        await sub.textContent());
  await page.click('tr[data-subject="readings-value"] a');
  await page.waitForSelector('#schema-diff .add');
  const added = await page.$$eval('#schema-diff .add', els => els.map(e => e.textContent).join('|'));
  const kept = await page.$$eval('#schema-diff div:not(.add):not(.del)', els => els.map(e => e.textContent).join('|'));
  check('schemas: the diff of versions 1 and 2 shows the added field', /"name": "unit"/.test(added) &&
        /"name": "sensor"/.test(kept) && !/"name": "sensor"/.test(added), `+ ${added}; = ${kept}`);

  // Connectors: one delivering, one failing with its error; pausing from the page.
  await page.click('nav a[data-page="connectors"]');
  const hook = await page.waitForFunction(() => {
    const r = document.querySelector('tr[data-connector="hook"]');
    return r && /RUNNING/.test(r.textContent) ? r.textContent : null;
  });
  check('connectors: a running webhook sink', /webhook.*sink.*RUNNING/.test(await hook.jsonValue()), await hook.jsonValue());
  const down = await page.waitForFunction(() => {
    const r = document.querySelector('tr[data-connector="down"]');
    return r && /FAILED/.test(r.textContent) ? r.textContent : null;
  }, null, { timeout: 15000 });
  check('connectors: a failed one with its last error', /Connection refused|refused/.test(await down.jsonValue()), await down.jsonValue());
  await page.click('tr[data-connector="hook"] button:has-text("Pause")');
  const paused = await page.waitForFunction(() => {
    const r = document.querySelector('tr[data-connector="hook"]');
    return r && /PAUSED/.test(r.textContent) ? r.textContent : null;
  });
  const status = await (await fetch(`${base}/connectors/hook/status`)).json();
  check('connectors: paused from the page', status.tasks[0].state === 'PAUSED', (await paused.jsonValue()) + ' ' + JSON.stringify(status));

  // Cluster: this server is not a node; the node started beside it lists its tasks (one per
  // partition of its stream) and the view it materialized.
  await page.click('nav a[data-page="cluster"]');
  const notNode = await page.waitForFunction(() => {
    const e = document.querySelector('#cluster .empty');
    return e && /not a cluster node/.test(e.textContent) ? e.textContent : null;
  });
  check('cluster: the embedded server says it is not a node', /--kafka-bootstrap/.test(await notNode.jsonValue()));
  if (nodeBase) {
    const np = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    np.on('pageerror', e => errors.push(`node page error: ${e.message}`));
    await np.goto(`${nodeBase}/#/cluster`);
    const tasks = await np.waitForFunction(() => {
      const rows = [...document.querySelectorAll('tr[data-task^="node_stats/"]')];
      return rows.length === 2 && rows.every(r => /RUNNING/.test(r.textContent))
        ? rows.map(r => r.dataset.task).join(' ') : null;
    }, null, { timeout: 30000 });
    check('cluster: the node lists its two tasks, running', (await tasks.jsonValue()) === 'node_stats/0 node_stats/1', await tasks.jsonValue());
    const view = await np.waitForFunction(() => {
      const r = document.querySelector('tr[data-cluster-view="node_stats"]');
      return r && /done in/.test(r.textContent) ? r.textContent : null;
    });
    check('cluster: the node shows its view restored', /_sluice-dash-view-node_stats/.test(await view.jsonValue()), await view.jsonValue());
    check('cluster: which node, of which cluster', /Node n1 of cluster dash/.test(await np.textContent('#cluster-node')));
    await np.close();
  }

  // Unknown routes fall back to the overview; nothing logged an error on the way.
  await page.goto(`${base}/#/nope`);
  await page.waitForSelector('nav a.active[data-page="overview"]');
  await page.waitForTimeout(1500);
  check('no console errors', errors.length === 0, errors.join('\n'));
} catch (e) {
  failures++;
  console.log(`FAIL ${e.message}`);
} finally {
  clearInterval(feeder);
  await browser.close();
}
console.log(`${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
