// deai explorer: plain JS over the gateway's /ui/api; no framework, no CDN.
'use strict';

const COLORS = ['#2e90fa', '#f04438', '#12b76a', '#f79009', '#7a5af8', '#06aed4', '#ee46bc', '#667085'];
const SVGNS = 'http://www.w3.org/2000/svg';
const MAX_BLOCKS = 20;
const state = { status: null, subnets: [], metagraphs: {}, refreshing: false, lastRefresh: 0 };

function $(id) { return document.getElementById(id); }

// el builds an element; children are nodes or strings (set as text, never HTML).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function api(path) {
  const r = await fetch('/ui/api/' + path, { headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const msg = body && body.error ? body.error : r.status + ' ' + r.statusText;
    throw new Error(path + ': ' + msg);
  }
  return body;
}

// q queries the ledger through the explorer's allowlisted passthrough.
function q(path) { return api('query' + path); }

function fmtAmount(s) {
  if (s === undefined || s === null || s === '') return '0';
  let n;
  try { n = BigInt(s); } catch (e) { return String(s); }
  const whole = n / 1000000n, frac = n % 1000000n;
  if (frac === 0n) return whole.toString() + ' deai';
  return whole.toString() + '.' + frac.toString().padStart(6, '0').replace(/0+$/, '') + ' deai';
}

function short(a) { a = String(a || ''); return a.length > 18 ? a.slice(0, 10) + '…' + a.slice(-6) : a; }
function fmtTime(t) { const d = new Date(t); return isNaN(d) ? '' : d.toLocaleTimeString(); }
function ratio(v) { return (Number(v || 0) / 65535).toFixed(4); }

function td(v, cls) { return el('td', cls ? { class: cls } : null, v); }
function addrTd(a) { return el('td', { class: 'mono', title: a || '' }, short(a)); }
function numTd(v) { return td(v, 'num'); }

function fill(tbodyParent, rows, cols, empty) {
  const tb = tbodyParent.tBodies[0];
  tb.replaceChildren();
  if (!rows || rows.length === 0) {
    tb.append(el('tr', { class: 'empty' }, el('td', { colspan: cols, class: 'note' }, empty || 'none')));
    return;
  }
  for (const r of rows) tb.append(r);
}

function showError(where, err) {
  const p = $('errors');
  p.replaceChildren(el('span', { class: 'err' }, where + ': ' + (err && err.message ? err.message : err)));
}

// ---- chain ----

function blockRow(b) {
  return el('tr', { 'data-height': b.height }, numTd(b.height), td(fmtTime(b.time)), numTd(b.txs), el('td', { class: 'mono', title: b.hash }, short(b.hash)));
}

function setHeight(h, t) {
  $('height').textContent = String(h);
  if (t) $('block-time').textContent = fmtTime(t);
}

async function loadChain() {
  const st = await api('status');
  state.status = st;
  $('chain-id').textContent = st.chain_id;
  setHeight(st.height, st.time);
  const blocks = await api('blocks?n=' + MAX_BLOCKS);
  fill($('blocks'), blocks.map(blockRow), 4, 'no blocks yet');
  try {
    const s = await q('/supply');
    $('supply').textContent = 'supply: genesis ' + fmtAmount(s.genesis) + ', minted ' + fmtAmount(s.minted) +
      ', burned ' + fmtAmount(s.burned) + ', ' + (s.accounts || 0) + ' accounts';
  } catch (e) { $('supply').textContent = ''; }
}

function onBlock(b) {
  setHeight(b.height, b.time);
  const tb = $('blocks').tBodies[0];
  if (tb.querySelector('tr[data-height="' + b.height + '"]')) return;
  const empty = tb.querySelector('tr.empty');
  if (empty) empty.remove();
  tb.prepend(blockRow(b));
  while (tb.rows.length > MAX_BLOCKS) tb.deleteRow(tb.rows.length - 1);
}

// ---- accounts ----

async function lookup(addr) {
  const box = $('account');
  box.replaceChildren(el('p', { class: 'note' }, 'loading…'));
  try {
    const bal = await q('/balance/' + encodeURIComponent(addr));
    const parts = [el('p', null, 'balance of ', el('span', { class: 'mono' }, addr), ': ', el('b', { id: 'account-balance' }, fmtAmount(bal.balance)))];
    const [from, to, perms, leases] = await Promise.all([
      q('/paych/channels/from/' + addr).catch(() => []),
      q('/paych/channels/to/' + addr).catch(() => []),
      q('/agents/permissions/' + addr).catch(() => []),
      q('/market/leases/owner/' + addr).catch(() => []),
    ]);
    parts.push(el('p', null, (from || []).length + ' channels from, ' + (to || []).length + ' channels to, ' +
      (perms || []).length + ' spend permissions granted, ' + (leases || []).length + ' leases as tenant'));
    box.replaceChildren(...parts);
  } catch (e) {
    box.replaceChildren(el('p', { class: 'err' }, e.message));
  }
}

// ---- subnets ----

function chart(title, epochs, value, cls) {
  const W = 480, H = 180, L = 50, R = 10, T = 10, B = 24;
  const box = el('div', { class: 'chart-box' }, el('h3', null, title));
  const s = svg('svg', { class: 'chart ' + cls, viewBox: '0 0 ' + W + ' ' + H, preserveAspectRatio: 'none', role: 'img' });
  box.append(s);
  if (!epochs || epochs.length === 0) {
    const t = svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'label' });
    t.textContent = 'no epoch yet';
    s.append(t);
    return box;
  }
  const uids = [...new Set(epochs.flatMap((e) => (e.neurons || []).map((n) => n.uid)))].sort((a, b) => a - b);
  let max = 0;
  for (const e of epochs) for (const n of e.neurons || []) max = Math.max(max, value(n));
  if (max <= 0) max = 1;
  const x = (i) => L + (epochs.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (epochs.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / max);
  s.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }));
  s.append(svg('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  const lab = (tx, ty, text, anchor) => { const t = svg('text', { x: tx, y: ty, class: 'label', 'text-anchor': anchor || 'start' }); t.textContent = text; s.append(t); };
  lab(L - 4, T + 8, max >= 1000 ? max.toExponential(2) : String(+max.toFixed(4)), 'end');
  lab(L - 4, H - B, '0', 'end');
  lab(L, H - 8, 'epoch ' + epochs[0].epoch);
  lab(W - R, H - 8, 'epoch ' + epochs[epochs.length - 1].epoch, 'end');
  const legend = el('div', { class: 'legend' });
  uids.forEach((uid, k) => {
    const pts = [];
    epochs.forEach((e, i) => {
      const n = (e.neurons || []).find((m) => m.uid === uid);
      if (n) pts.push([x(i), y(value(n))]);
    });
    if (pts.length === 0) return;
    const d = pts.map((p, i) => (i === 0 ? 'M' : 'L') + p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' ');
    const color = COLORS[k % COLORS.length];
    s.append(svg('path', { class: 'line', d: pts.length === 1 ? d + ' l0.01,0' : d, stroke: color, 'data-uid': uid, 'data-points': pts.length }));
    for (const p of pts) s.append(svg('circle', { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2.5, fill: color }));
    legend.append(el('span', { class: 'c' + (k % COLORS.length) }, '● uid ' + uid));
  });
  box.append(legend);
  return box;
}

function metagraphTable(mg) {
  const t = el('table', { class: 'metagraph' },
    el('thead', null, el('tr', null, ...['uid', 'hotkey', 'stake', 'incentive', 'emission', 'trust', 'consensus', 'dividends', 'validator permit', 'jailed until', 'endpoint'].map((h) => el('th', null, h)))),
    el('tbody'));
  const rows = (mg.neurons || []).map((n) => el('tr', null, numTd(n.uid), addrTd(n.hotkey), numTd(fmtAmount(n.stake)), numTd(ratio(n.incentive)),
    numTd(fmtAmount(n.emission)), numTd(ratio(n.trust)), numTd(ratio(n.consensus)), numTd(ratio(n.dividends)),
    el('td', { class: n.validator_permit ? 'yes' : 'no' }, n.validator_permit ? 'yes' : 'no'),
    numTd(n.jailed_until && n.jailed_until > mg.block ? n.jailed_until : '–'), td(n.endpoint || '')));
  fill(t, rows, 11, 'no neurons registered');
  return t;
}

async function loadSubnets() {
  const list = (await q('/subnet/list')) || [];
  state.subnets = list;
  const hist = (await api('history')) || [];
  const box = $('subnet-list');
  if (list.length === 0) {
    box.replaceChildren(el('p', { class: 'note' }, 'no subnets yet'));
    return;
  }
  const parts = [];
  for (const s of list) {
    let mg = { neurons: [] };
    try { mg = await q('/subnet/' + s.netuid + '/metagraph'); } catch (e) { showError('metagraph ' + s.netuid, e); }
    state.metagraphs[s.netuid] = mg;
    const h = hist.find((x) => x.netuid === s.netuid) || { epochs: [] };
    parts.push(el('div', { class: 'subnet', 'data-netuid': s.netuid },
      el('h3', null, 'subnet ' + s.netuid + ': ' + s.name),
      el('p', { class: 'note' }, 'task ' + s.task_type + ', ' + s.n + '/' + s.max_uids + ' uids, tempo ' + s.tempo + ', epoch ' + s.epoch +
        ' (last at block ' + s.last_epoch + ', next at ' + s.next_epoch + '), burn ' + fmtAmount(s.burn) + ', pending emission ' + fmtAmount(s.pending_emission)),
      metagraphTable(mg),
      el('div', { class: 'charts' },
        chart('incentive over epochs', h.epochs, (n) => Number(n.incentive || 0), 'chart-incentive'),
        chart('emission over epochs (udeai)', h.epochs, (n) => Number(n.emission || 0), 'chart-emission'))));
  }
  box.replaceChildren(...parts);
}

// ---- miners ----

async function loadMiners() {
  const m = await api('miners');
  $('miner-totals').textContent = 'gateway fees ' + fmtAmount(m.fees) + ', ' + m.settlements + ' settlement txs';
  fill($('miner-table'), (m.miners || []).map((x) => el('tr', null, numTd(x.netuid || '–'), numTd(x.uid), addrTd(x.hotkey), td(x.model || ''), td(x.endpoint || ''),
    numTd(x.latency_ms ? x.latency_ms.toFixed(1) : '–'), numTd(x.requests), numTd(x.receipts), numTd(x.failures), numTd(x.in_flight),
    el('td', { class: x.breaker_open ? 'err' : 'yes' }, x.breaker_open ? 'open' : 'closed'), numTd(fmtAmount(x.earned)), numTd(fmtAmount(x.paid)))), 13, 'no miners known to this gateway yet');
}

// ---- leases ----

async function loadLeases() {
  const providers = (await q('/market/providers')) || [];
  const rows = [];
  for (const p of providers) {
    const leases = (await q('/market/leases/provider/' + p.owner).catch(() => [])) || [];
    for (const l of leases) {
      rows.push(el('tr', null, addrTd(l.id.owner), numTd(l.id.dseq), addrTd(l.id.provider), td(l.state), numTd(fmtAmount(l.price)),
        numTd(l.created_at), numTd(l.closed_at || '–'), numTd(fmtAmount(l.balance)), numTd(fmtAmount(l.withdrawn)), numTd(fmtAmount(l.unsettled))));
    }
  }
  fill($('lease-table'), rows, 10, providers.length ? 'no leases' : 'no providers registered, no leases');
}

// ---- agents ----

async function loadAgents() {
  const budgets = (await api('agents').catch(() => [])) || [];
  fill($('budget-table'), budgets.map((b) => el('tr', null, td(b.name), addrTd(b.address), numTd(fmtAmount(b.total)), numTd(fmtAmount(b.spent)),
    numTd(fmtAmount(b.reserved)), numTd(b.per_period ? fmtAmount(b.per_period) + ' / ' + b.period : '-'), numTd(fmtAmount(b.period_used)),
    numTd(fmtAmount(b.earned)), td(b.killed ? 'yes' : 'no'))), 9, 'no agents run by this gateway\'s process');
  const services = (await q('/agents/services')) || [];
  fill($('service-table'), services.map((s) => el('tr', null, td(s.name), addrTd(s.owner), td(s.endpoint), numTd(fmtAmount(s.price)),
    td((s.capabilities || []).join(', ')), numTd(s.expiry))), 6, 'no services registered');
  const owners = [...new Set(services.map((s) => s.owner))];
  const gw = state.status ? state.status.gateway_address : null;
  const addrs = [...new Set([...owners, gw].filter(Boolean))];
  const seen = new Set();
  const chans = [];
  const perms = [];
  for (const a of addrs) {
    for (const dir of ['from', 'to']) {
      for (const c of (await q('/paych/channels/' + dir + '/' + a).catch(() => [])) || []) {
        if (!seen.has(c.id)) { seen.add(c.id); chans.push(c); }
      }
    }
    for (const p of (await q('/agents/permissions/' + a).catch(() => [])) || []) perms.push(p);
  }
  fill($('channel-table'), chans.map((c) => el('tr', null, el('td', { class: 'mono', title: c.id }, short(c.id)), addrTd(c.from), addrTd(c.to), td(c.state),
    numTd(fmtAmount(c.balance)), numTd(fmtAmount(c.redeemed)), numTd(fmtAmount(c.refunded)), numTd(c.lanes), numTd(c.opened_at))), 9, 'no payment channels');
  fill($('permission-table'), perms.map((p) => el('tr', null, addrTd(p.owner), addrTd(p.agent), numTd(fmtAmount(p.allowance)), numTd(p.period_blocks),
    numTd(fmtAmount(p.total_cap)), numTd(fmtAmount(p.period_spent)), numTd(fmtAmount(p.total_spent)), td(p.revoked ? 'yes' : 'no'))), 8, 'no spend permissions');
}

// ---- disputes ----

async function loadDisputes() {
  const rows = [];
  const jailed = [];
  for (const s of state.subnets) {
    const ds = (await q('/subnet/' + s.netuid + '/disputes').catch(() => [])) || [];
    for (const d of ds) {
      rows.push(el('tr', null, numTd(d.id), numTd(d.netuid), addrTd(d.miner), addrTd(d.challenger), td(d.state), numTd(d.opened_at), numTd(d.deadline),
        numTd(fmtAmount(d.bond)), numTd(fmtAmount(d.slashed)), numTd(fmtAmount(d.reward)), numTd(fmtAmount(d.burned))));
    }
    const mg = state.metagraphs[s.netuid] || { neurons: [] };
    for (const n of mg.neurons || []) {
      if (n.jailed_until && n.jailed_until > mg.block) jailed.push(el('tr', null, numTd(s.netuid), numTd(n.uid), addrTd(n.hotkey), numTd(n.jailed_until)));
    }
  }
  fill($('dispute-table'), rows, 11, 'no disputes');
  fill($('jail-table'), jailed, 4, 'no neuron is jailed');
}

// ---- refresh and live updates ----

async function section(name, fn) {
  try { await fn(); } catch (e) { showError(name, e); }
}

async function refresh() {
  if (state.refreshing) return;
  state.refreshing = true;
  state.lastRefresh = Date.now();
  try {
    await section('subnets', loadSubnets);
    await section('miners', loadMiners);
    await section('leases', loadLeases);
    await section('agents', loadAgents);
    await section('disputes', loadDisputes);
    document.body.setAttribute('data-loaded', String(Date.now()));
  } finally {
    state.refreshing = false;
  }
}

function live() {
  if (!window.EventSource) return;
  const es = new EventSource('/ui/api/events');
  es.addEventListener('open', () => { $('live').textContent = 'live'; $('live').className = 'live on'; });
  es.addEventListener('error', () => { $('live').textContent = 'reconnecting'; $('live').className = 'live off'; });
  es.addEventListener('block', (ev) => {
    let b;
    try { b = JSON.parse(ev.data); } catch (e) { return; }
    onBlock(b);
    if (Date.now() - state.lastRefresh > 3000) refresh();
  });
}

async function main() {
  $('account-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = $('account-addr').value.trim();
    if (a) lookup(a);
  });
  await section('chain', loadChain);
  if (state.status && state.status.gateway_address && !$('account-addr').value) {
    $('account-addr').value = state.status.gateway_address;
    lookup(state.status.gateway_address);
  }
  await refresh();
  live();
}

document.addEventListener('DOMContentLoaded', () => { main().catch((e) => showError('explorer', e)); });
