// The sluice dashboard: one page, no build step. Everything it shows comes from the server's
// public API: /metrics (Prometheus text, scraped every second; rates are computed here from
// counter deltas), POST /v1/sql (SHOW QUERIES, SHOW VIEWS, the console), the live views'
// WebSocket (/v1/views/{name}/ws) and a topic's tail (/v1/topics/{t}/ws).
'use strict';

// ---------------------------------------------------------------------------------------------
// Small helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function fmtNum(v, digits = 1) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(digits) + ' G';
  if (a >= 1e6) return (v / 1e6).toFixed(digits) + ' M';
  if (a >= 1e4) return (v / 1e3).toFixed(digits) + ' k';
  if (Number.isInteger(v)) return String(v);
  return v.toFixed(a < 10 ? 2 : digits);
}

function fmtBytes(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
}

function fmtSeconds(v) {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (v < 1) return Math.round(v * 1000) + ' ms';
  if (v < 120) return v.toFixed(1) + ' s';
  return (v / 60).toFixed(1) + ' min';
}

function cellText(v) {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'object') return JSON.stringify(v);
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.round(v * 1e4) / 1e4);
  return String(v);
}

// A table: columns [{title, num, get(row) -> text|Node}], rows.
function table(columns, rows, rowAttrs) {
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : '' }, c.title)))),
    h('tbody', {}, rows.map(r => h('tr', rowAttrs ? rowAttrs(r) : {},
      columns.map(c => h('td', { class: c.num ? 'num' : c.wrap ? 'wrap' : '' }, c.get(r)))))));
}

// ---------------------------------------------------------------------------------------------
// Authentication: when the server has security on, every API call carries the session token
// from POST /v1/login (kept for this tab in sessionStorage); a 401 shows the login form.
// WebSockets cannot set headers, so they carry it as ?access_token=.

let authToken = sessionStorage.getItem('sluice-token') || '';

function api(path, opts = {}) {
  const headers = Object.assign({ 'X-Sluice-Client': 'dashboard' }, opts.headers || {});
  const sent = authToken;
  if (sent) headers['Authorization'] = 'Bearer ' + sent;
  return fetch(path, Object.assign({}, opts, { headers })).then(res => {
    // A 401 to a request sent before the last sign-in (a metrics poll in flight while the user
    // signed in) says nothing about the new token: only a refusal of the current one asks again.
    if (res.status === 401 && sent === authToken) showLogin();
    return res;
  });
}

function showLogin(message) {
  if (document.getElementById('login')) return;
  const user = h('input', { id: 'login-user', autocomplete: 'username', placeholder: 'user' });
  const password = h('input', { id: 'login-password', type: 'password', autocomplete: 'current-password', placeholder: 'password' });
  const error = h('p', { class: 'error', id: 'login-error' }, message || '');
  const form = h('form', { class: 'login-box', onsubmit: async (e) => {
    e.preventDefault();
    const res = await fetch('/v1/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
                                            body: JSON.stringify({ user: user.value, password: password.value }) });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { error.textContent = body.message || res.statusText; return; }
    authToken = body.token;
    sessionStorage.setItem('sluice-token', authToken);
    document.getElementById('login').remove();
    route();
  } },
    h('h2', {}, 'Sign in to sluice'), user, password, h('button', { type: 'submit' }, 'Sign in'), error);
  document.body.append(h('div', { id: 'login', class: 'login' }, form));
  user.focus();
}

async function runSql(sql) {
  const res = await api('/v1/sql', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: sql });
  const body = await res.json();
  if (!res.ok) throw new Error(body.message || res.statusText);
  return body.results;
}

function wsUrl(path) {
  const token = authToken ? (path.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(authToken) : '';
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path + token;
}

// ---------------------------------------------------------------------------------------------
// Metrics: /metrics scraped every second, kept for five minutes.

function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3])) !== null)
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
    }
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[4]) });
  }
  return out;
}

const metrics = {
  history: [],  // [{t (s), m: Map}], oldest first
  listeners: new Set(),
  up: false,

  latest() { return this.history.length ? this.history[this.history.length - 1].m : new Map(); },
  samples(name) { return this.latest().get(name) || []; },

  // Sum of `name` grouped by the label values `by` returns (a string), in the latest scrape.
  sum(name, by = () => '', m = this.latest()) {
    const out = new Map();
    for (const s of m.get(name) || []) {
      const k = by(s.labels);
      if (k === null) continue;
      out.set(k, (out.get(k) || 0) + s.value);
    }
    return out;
  },

  // Per-second rate of counter `name` over the last `window` seconds, grouped like sum().
  rate(name, by = () => '', window = 5) {
    const n = this.history.length;
    if (n < 2) return new Map();
    const last = this.history[n - 1];
    let i = n - 2;
    while (i > 0 && last.t - this.history[i].t < window) i--;
    const prev = this.history[i];
    const now = this.sum(name, by, last.m), then = this.sum(name, by, prev.m);
    const out = new Map();
    const dt = last.t - prev.t;
    for (const [k, v] of now) out.set(k, Math.max(0, (v - (then.get(k) ?? v)) / dt));
    return out;
  },

  // Quantile q of histogram `name` over the last `window` seconds (like PromQL's
  // histogram_quantile over a rate), per group like sum(); linear within a bucket.
  quantile(name, q, by = () => '', window = 30) {
    const n = this.history.length;
    const out = new Map();
    if (n < 2) return out;
    const last = this.history[n - 1];
    let i = n - 2;
    while (i > 0 && last.t - this.history[i].t < window) i--;
    const buckets = m => {
      const g = new Map();
      for (const s of m.get(name + '_bucket') || []) {
        const k = by(s.labels);
        if (k === null) continue;
        if (!g.has(k)) g.set(k, new Map());
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        g.get(k).set(le, (g.get(k).get(le) || 0) + s.value);
      }
      return g;
    };
    const now = buckets(last.m), then = buckets(this.history[i].m);
    for (const [k, b] of now) {
      const les = [...b.keys()].sort((a, c) => a - c);
      const cum = les.map(le => b.get(le) - (then.get(k)?.get(le) || 0));
      const total = cum[cum.length - 1];
      if (!(total > 0)) continue;
      const rank = q * total;
      let j = cum.findIndex(c => c >= rank);
      if (les[j] === Infinity) { out.set(k, les[j - 1]); continue; }
      const lo = j > 0 ? les[j - 1] : 0, below = j > 0 ? cum[j - 1] : 0;
      out.set(k, lo + (les[j] - lo) * (cum[j] === below ? 1 : (rank - below) / (cum[j] - below)));
    }
    return out;
  },

  // The rate of `name` (all samples summed) at every scrape: [[t...], [rate...]].
  rateSeries(name, filter = () => true) {
    const xs = [], ys = [];
    let prevT = null, prevV = null;
    for (const { t, m } of this.history) {
      let v = 0;
      for (const s of m.get(name) || []) if (filter(s.labels)) v += s.value;
      if (prevT !== null) { xs.push(t); ys.push(Math.max(0, (v - prevV) / (t - prevT))); }
      prevT = t; prevV = v;
    }
    return [xs, ys];
  },

  async scrape() {
    try {
      const res = await api('/metrics', { cache: 'no-store' });
      if (!res.ok) throw new Error(res.statusText);
      const m = parseMetrics(await res.text());
      this.history.push({ t: Date.now() / 1000, m });
      while (this.history.length > 300) this.history.shift();
      this.setUp(true);
    } catch (e) {
      this.setUp(false);
    }
    for (const fn of this.listeners) fn();
  },

  setUp(up) {
    this.up = up;
    const s = document.getElementById('status');
    s.className = 'status ' + (up ? 'up' : 'down');
    s.textContent = up ? 'live' : 'server unreachable';
  },
};

// ---------------------------------------------------------------------------------------------
// Charts (uPlot)

const palette = ['#38bdf8', '#34d399', '#fbbf24', '#f87171', '#a78bfa', '#f472b6', '#2dd4bf',
  '#fb923c', '#94a3b8', '#a3e635'];

function makeChart(container, seriesNames, opts = {}) {
  const width = () => Math.max(300, container.clientWidth - 4);
  const series = [{}].concat(seriesNames.map((name, i) => ({
    label: name, stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
    points: { show: opts.points ?? false },
  })));
  const plot = new uPlot({
    width: width(), height: opts.height || 220, series,
    scales: { x: { time: opts.time ?? true } },
    axes: [
      { stroke: '#8a9bb8', grid: { stroke: '#22304d' }, ticks: { stroke: '#22304d' }, space: 80,
        values: (opts.time ?? true) ? (u, vals) => vals.map(v => new Date(v * 1000).toLocaleTimeString()) : undefined },
      { stroke: '#8a9bb8', grid: { stroke: '#22304d' }, ticks: { stroke: '#22304d' },
        size: 60, values: (u, vals) => vals.map(v => opts.format ? opts.format(v) : fmtNum(v)) },
    ],
    legend: { live: true },
  }, [[], ...seriesNames.map(() => [])], container);
  const onResize = () => plot.setSize({ width: width(), height: opts.height || 220 });
  window.addEventListener('resize', onResize);
  plot.dispose = () => { window.removeEventListener('resize', onResize); plot.destroy(); };
  return plot;
}

// A chart whose series can change: rebuilt when the set of names changes.
function liveChart(container, opts) {
  let plot = null, names = '';
  return {
    set(seriesNames, data) {
      const key = JSON.stringify(seriesNames);
      if (key !== names) {
        if (plot) plot.dispose();
        container.replaceChildren();
        plot = seriesNames.length ? makeChart(container, seriesNames, opts) : null;
        names = key;
        if (!plot) container.append(h('div', { class: 'empty' }, opts.emptyText || 'No data yet'));
      }
      if (plot) plot.setData(data);
    },
    // One series per name: the rate of counter `metric` over the samples whose label `label`
    // is that name.
    rates(names, metric, label) {
      names = names.slice(0, palette.length);
      const data = names.map(n => metrics.rateSeries(metric, l => l[label] === n));
      this.set(names, data.length ? [data[0][0], ...data.map(d => d[1])] : [[]]);
    },
    dispose() { if (plot) plot.dispose(); },
  };
}

// ---------------------------------------------------------------------------------------------
// Pages. Each returns {update(), dispose()}; update() runs after every scrape.

const topicOf = l => (l.topic && !l.topic.startsWith('__') ? l.topic : null);

function topicRows() {
  const parts = metrics.sum('sluice_partition_high_watermark', l => topicOf(l) ? l.topic + '\u0000' + l.partition : null);
  const count = new Map();
  for (const k of parts.keys()) { const t = k.split('\u0000')[0]; count.set(t, (count.get(t) || 0) + 1); }
  const end = metrics.sum('sluice_partition_high_watermark', topicOf);
  const start = metrics.sum('sluice_partition_log_start_offset', topicOf);
  const size = metrics.sum('sluice_partition_size_bytes', topicOf);
  const rin = metrics.rate('sluice_partition_records_in_total', topicOf);
  const bin = metrics.rate('sluice_partition_bytes_in_total', topicOf);
  const bout = metrics.rate('sluice_partition_bytes_out_total', topicOf);
  return [...end.keys()].sort().map(t => ({
    topic: t, partitions: count.get(t), records: end.get(t) - (start.get(t) || 0), size: size.get(t),
    rin: rin.get(t), bin: bin.get(t), bout: bout.get(t),
  }));
}

function topicsTable(rows, link = true) {
  if (!rows.length) return h('div', { class: 'empty' }, 'No topics yet');
  return table([
    { title: 'Topic', get: r => link ? h('a', { href: '#/topics/' + encodeURIComponent(r.topic) }, r.topic) : r.topic },
    { title: 'Partitions', num: true, get: r => r.partitions },
    { title: 'Records in /s', num: true, get: r => fmtNum(r.rin) },
    { title: 'Bytes in /s', num: true, get: r => fmtBytes(r.bin) },
    { title: 'Bytes out /s', num: true, get: r => fmtBytes(r.bout) },
    { title: 'Records kept', num: true, get: r => fmtNum(r.records) },
    { title: 'Size', num: true, get: r => fmtBytes(r.size) },
  ], rows, r => ({ 'data-topic': r.topic }));
}

function queryRows(show) {
  const byQuery = l => l.query;
  const running = metrics.sum('sluice_query_running', byQuery);
  const rin = metrics.rate('sluice_query_records_in_total', byQuery);
  const rout = metrics.rate('sluice_query_records_out_total', byQuery);
  const lag = metrics.sum('sluice_query_lag_records', byQuery);
  const delay = metrics.sum('sluice_query_watermark_delay_seconds', byQuery);
  const dead = metrics.sum('sluice_query_dead_letters_total', byQuery);
  const state = metrics.sum('sluice_query_state_rows', byQuery);
  const p99 = metrics.quantile('sluice_query_end_to_end_latency_seconds', 0.99, byQuery);
  const info = new Map((show || []).map(q => [q.name, q]));
  const names = new Set([...running.keys(), ...info.keys()]);
  return [...names].sort().map(name => ({
    name, state: info.get(name)?.state ?? (running.get(name) ? 'RUNNING' : 'STOPPED'),
    error: info.get(name)?.error, statement: info.get(name)?.statement,
    rin: rin.get(name), rout: rout.get(name), lag: lag.get(name), delay: delay.get(name),
    dead: dead.get(name), state_rows: state.get(name), p99: p99.get(name),
  }));
}

function queriesTable(rows, withStatement) {
  if (!rows.length) return h('div', { class: 'empty' }, 'No continuous queries. Start one on the SQL page.');
  const cols = [
    { title: 'Query', get: r => r.name },
    { title: 'State', get: r => h('span', { class: 'badge ' + r.state, title: r.error || '' }, r.state) },
    { title: 'Records in /s', num: true, get: r => fmtNum(r.rin) },
    { title: 'Rows out /s', num: true, get: r => fmtNum(r.rout) },
    { title: 'Lag', num: true, get: r => fmtNum(r.lag) },
    { title: 'Latency p99', num: true, get: r => fmtSeconds(r.p99) },
    { title: 'Watermark delay', num: true, get: r => fmtSeconds(r.delay) },
    { title: 'State rows', num: true, get: r => fmtNum(r.state_rows) },
    { title: 'Dead letters', num: true, get: r => fmtNum(r.dead) },
  ];
  if (withStatement) cols.push({ title: 'Statement', wrap: true, get: r => r.error ? h('span', { class: 'error' }, r.error) : r.statement || '' });
  return table(cols, rows, r => ({ 'data-query': r.name }));
}

function groupRows() {
  const rows = [];
  const committed = new Map();
  for (const s of metrics.samples('sluice_consumer_group_committed_offset'))
    committed.set([s.labels.group, s.labels.topic, s.labels.partition].join('\u0000'), s.value);
  for (const s of metrics.samples('sluice_consumer_group_lag')) {
    const l = s.labels;
    rows.push({ group: l.group, topic: l.topic, partition: Number(l.partition), lag: s.value,
      committed: committed.get([l.group, l.topic, l.partition].join('\u0000')) });
  }
  rows.sort((a, b) => a.group.localeCompare(b.group) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return rows;
}

// Polls SHOW <what> every two seconds for pages that need the catalog.
function showPoller(what, onRows) {
  let stopped = false, timer = null;
  const poll = async () => {
    try {
      const [r] = await runSql('SHOW ' + what);
      if (!stopped) onRows(r.rows);
    } catch (e) { /* the status light tells */ }
    if (!stopped) timer = setTimeout(poll, 2000);
  };
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}

const pages = {
  overview(root) {
    const tiles = h('div', { class: 'tiles' });
    const chartBox = h('div', { class: 'chart' });
    const topicsBox = h('div', {}), queriesBox = h('div', {});
    root.append(h('h1', {}, 'Overview'), tiles,
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'Throughput (records/s)'), chartBox),
      h('h2', {}, 'Topics'), h('div', { class: 'panel' }, topicsBox),
      h('h2', {}, 'Continuous queries'), h('div', { class: 'panel' }, queriesBox));
    const chart = liveChart(chartBox, {});
    const tile = (label, value, warn) => h('div', { class: warn ? 'tile warn' : 'tile', title: warn || '' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
    return {
      update() {
        const total = m => [...m.values()].reduce((a, b) => a + b, 0);
        const queries = queryRows();
        const rss = metrics.samples('process_resident_memory_bytes')[0]?.value;
        const subs = metrics.samples('sluice_http_view_subscribers').reduce((a, x) => a + x.value, 0);
        const lag = total(metrics.sum('sluice_consumer_group_lag'));
        const queued = total(metrics.sum('sluice_queue_ready'));
        const free = metrics.samples('sluice_disk_free_bytes')[0]?.value;
        const minFree = metrics.samples('sluice_disk_min_free_bytes')[0]?.value;
        const low = free !== undefined && minFree !== undefined && free < minFree;
        tiles.replaceChildren(
          tile('Records in /s', fmtNum(total(metrics.rate('sluice_partition_records_in_total', topicOf)))),
          tile('Bytes in /s', fmtBytes(total(metrics.rate('sluice_partition_bytes_in_total', topicOf)))),
          tile('Bytes out /s', fmtBytes(total(metrics.rate('sluice_partition_bytes_out_total', topicOf)))),
          tile('Topics', topicRows().length),
          tile('Queries running', queries.filter(q => q.state === 'RUNNING').length + ' / ' + queries.length),
          tile('Consumer lag', fmtNum(lag)),
          tile('Queued messages', fmtNum(queued)),
          tile('Live subscribers', fmtNum(subs)),
          tile('Memory', fmtBytes(rss)),
          tile('Disk free', low ? fmtBytes(free) + ' · writes refused' : fmtBytes(free),
               low ? 'Below the free-space limit (' + fmtBytes(minFree) + '): produce, queue sends and SQL sinks are refused until space comes back' : ''));
        const [xs, ins] = metrics.rateSeries('sluice_partition_records_in_total', topicOf);
        const [, outs] = metrics.rateSeries('sluice_query_records_out_total');
        chart.set(['records in', 'query rows out'], [xs, ins, outs]);
        topicsBox.replaceChildren(topicsTable(topicRows()));
        queriesBox.replaceChildren(queriesTable(queries, false));
      },
      dispose() { chart.dispose(); },
    };
  },

  topics(root, topic) {
    if (topic) return pages.topic(root, topic);
    const box = h('div', {}), chartBox = h('div', { class: 'chart' });
    root.append(h('h1', {}, 'Topics'),
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'Records in /s by topic'), chartBox),
      h('div', { class: 'panel' }, box));
    const chart = liveChart(chartBox, {});
    return {
      update() {
        const rows = topicRows();
        box.replaceChildren(topicsTable(rows));
        chart.rates(rows.map(r => r.topic), 'sluice_partition_records_in_total', 'topic');
      },
      dispose() { chart.dispose(); },
    };
  },

  // One topic: its partitions and its newest records as they arrive.
  topic(root, name) {
    const info = h('div', {}), pre = h('pre', { class: 'records' });
    root.append(h('h1', {}, 'Topic ', name), h('div', { class: 'panel' }, info),
      h('h2', {}, 'Newest records (live)'), h('div', { class: 'panel' }, pre));
    const lines = [];
    const ws = new WebSocket(wsUrl('/v1/topics/' + encodeURIComponent(name) + '/ws?from=end'));
    ws.onmessage = ev => {
      const msg = JSON.parse(ev.data);
      for (const r of msg.records || [])
        lines.push(`p${r.partition} @${r.offset}  ${r.key === null ? '' : JSON.stringify(r.key) + '  '}${JSON.stringify(r.value)}`);
      while (lines.length > 100) lines.shift();
      pre.textContent = lines.slice().reverse().join('\n');
    };
    ws.onerror = () => { pre.textContent = 'could not follow the topic'; };
    return {
      update() {
        const is = l => l.topic === name;
        const parts = metrics.samples('sluice_partition_high_watermark').filter(s => is(s.labels)).map(s => s.labels.partition);
        const get = (m, p) => metrics.samples(m).find(s => is(s.labels) && s.labels.partition === p)?.value;
        const rin = metrics.rate('sluice_partition_records_in_total', l => is(l) ? l.partition : null);
        info.replaceChildren(table([
          { title: 'Partition', get: p => p },
          { title: 'Records in /s', num: true, get: p => fmtNum(rin.get(p)) },
          { title: 'Log start', num: true, get: p => fmtNum(get('sluice_partition_log_start_offset', p)) },
          { title: 'High watermark', num: true, get: p => fmtNum(get('sluice_partition_high_watermark', p)) },
          { title: 'Size', num: true, get: p => fmtBytes(get('sluice_partition_size_bytes', p)) },
        ], parts.sort((a, b) => a - b)));
      },
      dispose() { ws.close(); },
    };
  },

  groups(root) {
    const box = h('div', {});
    root.append(h('h1', {}, 'Consumer groups'), h('div', { class: 'panel' }, box));
    return {
      update() {
        const rows = groupRows();
        if (!rows.length) { box.replaceChildren(h('div', { class: 'empty' }, 'No consumer group has committed offsets yet')); return; }
        const max = Math.max(1, ...rows.map(r => r.lag));
        box.replaceChildren(table([
          { title: 'Group', get: r => r.group },
          { title: 'Topic', get: r => r.topic },
          { title: 'Partition', num: true, get: r => r.partition },
          { title: 'Committed offset', num: true, get: r => fmtNum(r.committed) },
          { title: 'Lag', num: true, get: r => fmtNum(r.lag) },
          { title: '', get: r => h('div', { class: 'bar', style: `width:${Math.round(120 * r.lag / max)}px` }) },
        ], rows, r => ({ 'data-group': r.group })));
      },
      dispose() {},
    };
  },

  queries(root) {
    const box = h('div', {}), chartBox = h('div', { class: 'chart' });
    root.append(h('h1', {}, 'Continuous queries'),
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'Records in /s by query'), chartBox),
      h('div', { class: 'panel' }, box));
    const chart = liveChart(chartBox, { emptyText: 'No queries' });
    let show = [];
    const stop = showPoller('QUERIES', rows => { show = rows; });
    return {
      update() {
        const rows = queryRows(show);
        box.replaceChildren(queriesTable(rows, true));
        chart.rates(rows.map(r => r.name), 'sluice_query_records_in_total', 'query');
      },
      dispose() { stop(); chart.dispose(); },
    };
  },

  views(root, name) {
    if (name) return pages.view(root, name);
    const box = h('div', {});
    root.append(h('h1', {}, 'Materialized views'), h('div', { class: 'panel' }, box));
    let show = null;
    const stop = showPoller('VIEWS', rows => { show = rows; });
    return {
      update() {
        if (!show) return;
        if (!show.length) { box.replaceChildren(h('div', { class: 'empty' }, 'No views. Create one with CREATE MATERIALIZED VIEW on the SQL page.')); return; }
        const changes = metrics.rate('sluice_view_changes_total', l => l.view);
        box.replaceChildren(table([
          { title: 'View', get: r => h('a', { href: '#/views/' + encodeURIComponent(r.name) }, r.name) },
          { title: 'Rows', num: true, get: r => fmtNum(r.rows) },
          { title: 'Changes /s', num: true, get: r => fmtNum(changes.get(r.name)) },
          { title: 'Sequence', num: true, get: r => r.sequence },
        ], show, r => ({ 'data-view': r.name })));
      },
      dispose() { stop(); },
    };
  },

  // A live view: its rows, kept by key from the WebSocket's snapshot and changes, and a chart of
  // a numeric column per key (over a time column of the rows, or over arrival time).
  view(root, name) {
    const state = { columns: [], rows: new Map(), seq: 0, changes: 0 };
    const xSel = h('select', { id: 'x-column' }), ySel = h('select', { id: 'y-column' });
    const info = h('span', { class: 'muted', id: 'view-info' });
    const chartBox = h('div', { class: 'chart', id: 'view-chart' });
    const tableBox = h('div', { class: 'scroll', id: 'view-table' });
    root.append(h('h1', {}, 'View ', name),
      h('div', { class: 'row' }, h('label', {}, 'chart ', ySel), h('label', {}, 'over ', xSel), info),
      h('div', { class: 'panel' }, chartBox), h('div', { class: 'panel' }, tableBox));
    const chart = liveChart(chartBox, { points: true });
    let series = new Map();  // label -> Map(x -> y)
    let fresh = new Set();   // keys changed since the last render
    let dirty = true, ws = null, closed = false, retry = null;

    const isTime = v => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v);
    const label = key => {
      const parts = (Array.isArray(key) ? key : [key]).filter(v => !isTime(v));
      return parts.length ? parts.map(cellText).join(' · ') : name;
    };
    const plot = (key, row) => {
      const y = row[ySel.value];
      if (typeof y !== 'number') return;
      const x = xSel.value === '' ? Date.now() / 1000 : Date.parse(row[xSel.value]) / 1000;
      if (Number.isNaN(x)) return;
      const l = label(key);
      if (!series.has(l)) { if (series.size >= palette.length) return; series.set(l, new Map()); }
      const s = series.get(l);
      s.set(x, y);
      if (s.size > 300) s.delete(s.keys().next().value);
    };
    const chooseColumns = first => {
      const numeric = state.columns.filter(c => typeof first?.[c] === 'number');
      const times = state.columns.filter(c => isTime(first?.[c]));
      const keepY = ySel.value, keepX = xSel.value;
      ySel.replaceChildren(...numeric.map(c => h('option', { value: c }, c)));
      xSel.replaceChildren(h('option', { value: '' }, 'arrival time'), ...times.map(c => h('option', { value: c }, c)));
      if (numeric.includes(keepY)) ySel.value = keepY;
      else if (numeric.length) ySel.value = numeric.find(c => /avg|mean|value|temp|count/i.test(c)) || numeric[0];
      if (times.includes(keepX)) xSel.value = keepX;
      else xSel.value = times.find(c => /start|time|ts/i.test(c)) || '';
    };
    const replot = () => {
      series = new Map();
      for (const [k, r] of state.rows) plot(JSON.parse(k), r);
      dirty = true;
    };
    xSel.onchange = ySel.onchange = replot;

    const connect = () => {
      // `latest`: when the browser cannot keep up, it gets each row's newest value, never a
      // disconnect.
      ws = new WebSocket(wsUrl('/v1/views/' + encodeURIComponent(name) + '/ws?mode=latest' + (state.seq ? '&since=' + state.seq : '')));
      ws.onmessage = ev => {
        const msg = JSON.parse(ev.data);
        if (msg.type === 'snapshot') {
          state.columns = msg.columns;
          state.rows = new Map(msg.rows.map((r, i) => [JSON.stringify(msg.keys[i]), r]));
          state.seq = msg.seq;
          chooseColumns(msg.rows[msg.rows.length - 1]);
          replot();
        } else if (msg.type === 'changes') {
          for (const c of msg.changes) {
            const k = JSON.stringify(c.key);
            if (c.op === 'delete') state.rows.delete(k);
            else {
              if (!ySel.value) chooseColumns(c.row);
              state.rows.set(k, c.row);
              fresh.add(k);
              plot(c.key, c.row);
            }
            state.changes++;
          }
          state.seq = msg.seq;  // the position the message brings us to (resume from there)
          dirty = true;
        }
      };
      ws.onclose = () => { if (!closed) retry = setTimeout(connect, 1000); };  // resumes at state.seq
    };
    connect();

    const render = () => {
      if (!dirty) return;
      dirty = false;
      const names = [...series.keys()];
      const xs = [...new Set(names.flatMap(n => [...series.get(n).keys()]))].sort((a, b) => a - b).slice(-600);
      chart.set(names, [xs, ...names.map(n => xs.map(x => series.get(n).get(x) ?? null))]);
      chartBox.dataset.points = String(names.reduce((a, n) => a + series.get(n).size, 0));
      // Windowed views (a time in the key) show their newest windows first.
      const entries = [...state.rows.entries()];
      const timed = entries.length && JSON.parse(entries[0][0]).some(isTime);
      const shown = timed ? entries.slice(-500).reverse() : entries.slice(0, 500);
      tableBox.replaceChildren(table(state.columns.map(c => ({ title: c, num: shown.length && typeof shown[0][1][c] === 'number', get: ([, r]) => cellText(r[c]) })),
        shown, ([k]) => ({ class: fresh.has(k) ? 'flash' : '' })));
      fresh = new Set();
      info.textContent = `${entries.length} rows · sequence ${state.seq} · ${state.changes} changes received`;
    };
    const timer = setInterval(render, 250);
    return {
      update() {},
      dispose() { closed = true; clearTimeout(retry); clearInterval(timer); if (ws) ws.close(); chart.dispose(); },
    };
  },

  queues(root) {
    const box = h('div', {}), chartBox = h('div', { class: 'chart' });
    root.append(h('h1', {}, 'Work queues'),
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'Acknowledged /s by queue'), chartBox),
      h('div', { class: 'panel' }, box));
    const chart = liveChart(chartBox, { emptyText: 'No queues' });
    return {
      update() {
        const byQueue = l => l.queue;
        const get = name => metrics.sum(name, byQueue);
        const ready = get('sluice_queue_ready'), inflight = get('sluice_queue_in_flight');
        const delayed = get('sluice_queue_delayed'), dead = get('sluice_queue_dead_lettered');
        const age = get('sluice_queue_oldest_age_seconds');
        const acks = metrics.rate('sluice_queue_acked_total', byQueue);
        const redeliv = metrics.rate('sluice_queue_redelivered_total', byQueue);
        const names = [...ready.keys()].sort();
        if (!names.length) {
          box.replaceChildren(h('div', { class: 'empty' }, 'No queues. Create one with POST /v1/queues or `sluice queue create`.'));
        } else {
          box.replaceChildren(table([
            { title: 'Queue', get: q => q },
            { title: 'Ready', num: true, get: q => fmtNum(ready.get(q)) },
            { title: 'In flight', num: true, get: q => fmtNum(inflight.get(q)) },
            { title: 'Delayed', num: true, get: q => fmtNum(delayed.get(q)) },
            { title: 'Dead-lettered', num: true, get: q => fmtNum(dead.get(q)) },
            { title: 'Oldest', num: true, get: q => fmtSeconds(age.get(q)) },
            { title: 'Acks /s', num: true, get: q => fmtNum(acks.get(q)) },
            { title: 'Redeliveries /s', num: true, get: q => fmtNum(redeliv.get(q)) },
          ], names, q => ({ 'data-queue': q })));
        }
        chart.rates(names, 'sluice_queue_acked_total', 'queue');
      },
      dispose() { chart.dispose(); },
    };
  },

  // Connectors (Kafka Connect's REST API): state, records/s, lag, errors and the last error,
  // with pause, resume and restart.
  connectors(root) {
    const box = h('div', { id: 'connectors' }), chartBox = h('div', { class: 'chart' });
    root.append(h('h1', {}, 'Connectors'),
      h('div', { class: 'panel' }, h('div', { class: 'muted' }, 'Records /s by connector'), chartBox),
      h('div', { class: 'panel' }, box));
    const chart = liveChart(chartBox, { emptyText: 'No connectors' });
    const act = async (name, what) => {
      const method = what === 'restart' ? 'POST' : 'PUT';
      const res = await api('/connectors/' + encodeURIComponent(name) + '/' + what, { method });
      if (!res.ok) box.prepend(h('div', { class: 'error' }, `${what} ${name}: ${res.statusText}`));
      refresh();
    };
    let all = {};
    const render = () => {
      const byName = l => l.connector;
      const rates = metrics.rate('sluice_connector_records_total', byName);
      const lag = metrics.sum('sluice_connector_lag_records', byName);
      const errors = metrics.sum('sluice_connector_errors_total', byName);
      const dead = metrics.sum('sluice_connector_dead_letter_records_total', byName);
      const names = Object.keys(all).sort();
      if (!names.length) {
        box.replaceChildren(h('div', { class: 'empty' },
          'No connectors. Create one with CREATE SOURCE|SINK CONNECTOR, POST /connectors or `sluice connector create`.'));
      } else {
        box.replaceChildren(table([
          { title: 'Connector', get: n => n },
          { title: 'Kind', get: n => { const c = all[n].info?.config || {}; return c.connector || c['connector.class'] || ''; } },
          { title: 'Type', get: n => all[n].status?.type || '' },
          { title: 'State', get: n => { const st = all[n].status?.tasks?.[0]?.state || ''; return h('span', { class: 'badge ' + st }, st); } },
          { title: 'Records /s', num: true, get: n => fmtNum(rates.get(n)) },
          { title: 'Lag', num: true, get: n => lag.has(n) ? fmtNum(lag.get(n)) : '' },
          { title: 'Errors', num: true, get: n => fmtNum(errors.get(n)) },
          { title: 'Dead-lettered', num: true, get: n => fmtNum(dead.get(n)) },
          { title: 'Last error', get: n => all[n].status?.tasks?.[0]?.trace || '' },
          { title: '', get: n => {
            const paused = all[n].status?.tasks?.[0]?.state === 'PAUSED';
            return h('span', {},
              h('button', { onclick: () => act(n, paused ? 'resume' : 'pause') }, paused ? 'Resume' : 'Pause'), ' ',
              h('button', { onclick: () => act(n, 'restart') }, 'Restart'));
          } },
        ], names, n => ({ 'data-connector': n })));
      }
      chart.rates(names, 'sluice_connector_records_total', 'connector');
    };
    const refresh = async () => {
      try {
        const res = await api('/connectors?expand=status&expand=info');
        if (res.ok) all = await res.json();
      } catch { /* the next refresh tries again */ }
      render();
    };
    refresh();
    return { update() { refresh(); }, dispose() { chart.dispose(); } };
  },

  // Cluster mode (docs/scale-out.md): this node, the tasks it runs (start time: its checkpoint
  // restored) and the views it materializes with their restore progress.
  cluster(root) {
    const box = h('div', { id: 'cluster' });
    root.append(h('h1', {}, 'Cluster'), h('div', { class: 'panel' }, box));
    const refresh = async () => {
      let s = {};
      try {
        const res = await api('/v1/cluster');
        if (res.ok) s = await res.json();
      } catch { /* the next refresh tries again */ }
      if (s.mode !== 'cluster') {
        box.replaceChildren(h('div', { class: 'empty' },
          'This server is not a cluster node. Nodes of a cluster run with --kafka-bootstrap HOST:PORT --cluster-name NAME (docs/scale-out.md).'));
        return;
      }
      const tasks = s.tasks || [], views = s.views || [];
      box.replaceChildren(
        h('div', { class: 'muted', id: 'cluster-node' },
          `Node ${s.node} of cluster ${s.cluster}, on Kafka ${s.bootstrap}`),
        h('h2', {}, `Tasks on this node (${tasks.length})`),
        tasks.length ? table([
          { title: 'Query', get: t => t.query },
          { title: 'Partition', num: true, get: t => String(t.partition) },
          { title: 'State', get: t => h('span', { class: 'badge ' + t.state }, t.state) },
          { title: 'Started in (ms)', num: true, get: t => fmtNum(t.start_ms) },
          { title: 'State rows', num: true, get: t => fmtNum(t.state_rows) },
        ], tasks, t => ({ 'data-task': `${t.query}/${t.partition}` }))
          : h('div', { class: 'empty' }, 'No tasks here: the other nodes run them all.'),
        h('h2', {}, 'Views materialized here'),
        views.length ? table([
          { title: 'View', get: v => v.view },
          { title: 'Changelog topic', get: v => v.topic },
          { title: 'Changes applied', num: true, get: v => fmtNum(v.rows_applied) },
          { title: 'Restore', get: v => v.restored ? `done in ${fmtNum(v.restore_ms)} ms` : 'restoring' },
        ], views, v => ({ 'data-cluster-view': v.view }))
          : h('div', { class: 'empty' }, 'No views.'));
    };
    refresh();
    return { update() { refresh(); }, dispose() {} };
  },

  // The schema registry: subjects with their latest version, then one subject's versions with
  // the text of one and a line diff against another.
  schemas(root, subject) {
    const box = h('div', { id: 'schemas' });
    root.append(h('h1', {}, subject ? 'Schema subject ' + subject : 'Schemas'), h('div', { class: 'panel' }, box));
    const json = async path => {
      const res = await api(path);
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.message || res.statusText);
      return body;
    };
    const pretty = v => {
      if (v.schemaType === 'PROTOBUF') return v.schema;
      try { return JSON.stringify(JSON.parse(v.schema), null, 2); } catch { return v.schema; }
    };
    const show = async () => {
      try {
        if (!subject) {
          const [subjects, config] = await Promise.all([json('/subjects'), json('/config')]);
          const latest = await Promise.all(subjects.map(s => json('/subjects/' + encodeURIComponent(s) + '/versions/latest')));
          box.replaceChildren(
            h('div', { class: 'muted' }, `Global compatibility: ${config.compatibilityLevel}. Schema registry API at ${location.origin}/subjects`),
            subjects.length ? table([
              { title: 'Subject', get: v => h('a', { href: '#/schemas/' + encodeURIComponent(v.subject) }, v.subject) },
              { title: 'Type', get: v => v.schemaType || 'AVRO' },
              { title: 'Latest version', num: true, get: v => v.version },
              { title: 'Schema id', num: true, get: v => v.id },
            ], latest, v => ({ 'data-subject': v.subject }))
              : h('div', { class: 'empty' }, 'No subjects. Register a schema with POST /subjects/{subject}/versions.'));
          return;
        }
        const s = encodeURIComponent(subject);
        const [versions, config] = await Promise.all([json(`/subjects/${s}/versions`),
                                                      json(`/config/${s}?defaultToGlobal=true`)]);
        const all = await Promise.all(versions.map(v => json(`/subjects/${s}/versions/${v}`)));
        const pick = (id, initial) => h('select', { id }, all.map(v => {
          const o = h('option', { value: v.version }, `version ${v.version} (id ${v.id})`);
          if (v.version === initial) o.selected = true;
          return o;
        }));
        const from = pick('schema-from', all.length > 1 ? all[all.length - 2].version : all[0].version);
        const to = pick('schema-to', all[all.length - 1].version);
        const out = h('pre', { id: 'schema-diff', class: 'diff' });
        const render = () => {
          const a = pretty(all.find(v => String(v.version) === from.value)).split('\n');
          const b = pretty(all.find(v => String(v.version) === to.value)).split('\n');
          out.replaceChildren(...lineDiff(a, b).map(([op, line]) =>
            h('div', { class: op === '+' ? 'add' : op === '-' ? 'del' : '' }, `${op} ${line}`)));
        };
        from.onchange = render;
        to.onchange = render;
        box.replaceChildren(h('div', { class: 'muted' }, `Compatibility: ${config.compatibilityLevel}`),
          h('div', { class: 'toolbar' }, 'Compare ', from, ' with ', to), out);
        render();
      } catch (e) {
        box.replaceChildren(h('div', { class: 'error' }, e.message));
      }
    };
    show();
    return { update() {}, dispose() {} };
  },

  sql(root) {
    const examples = [
      'SHOW QUERIES',
      'SHOW VIEWS',
      'SELECT * FROM sensor_stats ORDER BY avg_temp DESC LIMIT 10',
      'SELECT sensor, temperature, ts FROM sensors WHERE temperature > 30 EMIT CHANGES',
    ];
    const editor = h('textarea', { id: 'sql-input', spellcheck: 'false' });
    editor.value = sessionStorage.getItem('sluice.sql') || examples[0];
    const runBtn = h('button', { class: 'primary', id: 'sql-run' }, 'Run');
    const stopBtn = h('button', { id: 'sql-stop', disabled: true }, 'Stop');
    const status = h('span', { class: 'muted', id: 'sql-status' });
    const out = h('div', { id: 'sql-output' });
    root.append(h('h1', {}, 'SQL'), editor,
      h('div', { class: 'row', style: 'margin-top:8px' }, runBtn, stopBtn, status,
        h('span', { class: 'muted' }, 'Ctrl+Enter runs. Examples: '),
        examples.map((e, i) => h('a', { href: '#/sql', onclick: ev => { ev.preventDefault(); editor.value = e; } }, '#' + (i + 1)))),
      out);
    let abort = null;

    const show = results => {
      out.replaceChildren(...results.map(r => h('div', { class: 'panel' },
        h('div', { class: 'muted' }, r.statement),
        r.columns
          ? (r.rows.length ? h('div', { class: 'scroll' }, table(r.columns.map(c => ({ title: c, wrap: c === 'statement', get: row => cellText(row[c]) })), r.rows))
                           : h('div', { class: 'empty' }, '(no rows)'))
          : h('div', {}, r.message))));
    };

    // EMIT CHANGES: newline-delimited JSON, newest change on top.
    const stream = async (res, controller) => {
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '', columns = [], n = 0;
      const body = h('tbody', {});
      const head = h('thead', {});
      out.replaceChildren(h('div', { class: 'panel' }, h('div', { class: 'scroll' }, h('table', { id: 'sql-stream' }, head, body))));
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const msg = JSON.parse(line);
          if (msg.columns) {
            columns = msg.columns;
            head.replaceChildren(h('tr', {}, h('th', {}, 'change'), columns.map(c => h('th', {}, c))));
          } else if (msg.row) {
            body.prepend(h('tr', { class: 'flash' }, h('td', {}, msg.change), columns.map(c => h('td', {}, cellText(msg.row[c])))));
            while (body.childElementCount > 500) body.lastChild.remove();
            status.textContent = `${++n} changes streamed`;
          } else if (msg.message) {
            out.prepend(h('div', { class: 'error' }, msg.message));
          }
        }
      }
      if (abort === controller) status.textContent = `${n} changes; the stream ended`;
    };

    const run = async () => {
      if (abort) abort.abort();
      const controller = new AbortController();
      abort = controller;
      sessionStorage.setItem('sluice.sql', editor.value);
      runBtn.disabled = true;
      stopBtn.disabled = false;
      status.textContent = 'running…';
      out.replaceChildren();
      try {
        const res = await api('/v1/sql', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: editor.value, signal: controller.signal });
        if ((res.headers.get('Content-Type') || '').startsWith('application/x-ndjson')) {
          status.textContent = 'streaming changes…';
          runBtn.disabled = false;
          await stream(res, controller);
        } else {
          const body = await res.json();
          if (!res.ok) throw new Error(body.message || res.statusText);
          show(body.results);
          status.textContent = `${body.results.length} statement${body.results.length === 1 ? '' : 's'} ran`;
        }
      } catch (e) {
        if (e.name === 'AbortError') status.textContent = 'stopped';
        else { status.textContent = 'failed'; out.replaceChildren(h('div', { class: 'error' }, e.message)); }
      } finally {
        if (abort === controller) { abort = null; stopBtn.disabled = true; }
        runBtn.disabled = false;
      }
    };
    runBtn.onclick = run;
    stopBtn.onclick = () => { if (abort) abort.abort(); };
    editor.addEventListener('keydown', ev => { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(); } });
    return { update() {}, dispose() { if (abort) abort.abort(); } };
  },
};

// A line diff by longest common subsequence (schemas are small): [op, line] with op '+' (only
// in b), '-' (only in a) or ' '.
function lineDiff(a, b) {
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Array(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push([' ', a[i]]); i++; j++; }
    else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push(['-', a[i++]]);
    else out.push(['+', b[j++]]);
  }
  while (i < n) out.push(['-', a[i++]]);
  while (j < m) out.push(['+', b[j++]]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Router: #/page[/argument]

let current = null;

function route() {
  const [, page = '', arg] = location.hash.replace(/^#/, '').split('/').map(decodeURIComponent);
  const name = pages[page] && !['topic', 'view'].includes(page) ? page : 'overview';
  if (current) current.dispose();
  const root = document.getElementById('page');
  root.replaceChildren();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === name);
  current = pages[name](root, arg);
  current.update();
}

metrics.listeners.add(() => { if (current) current.update(); });
window.addEventListener('hashchange', route);
route();
metrics.scrape();
setInterval(() => metrics.scrape(), 1000);
