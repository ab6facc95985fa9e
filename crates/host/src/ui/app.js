// The status page: plain JavaScript, no build step, nothing from elsewhere.
// Everything shown comes from the API with the operator's key, which is kept
// in this tab's sessionStorage and sent only as a bearer header. Text from the
// API is always set as textContent, never parsed as HTML.
'use strict';

(() => {
  const KEY_STORE = 'junction.apiKey';
  const STATUSES = [
    'creating', 'enabled', 'createError', 'editing', 'editError',
    'deleting', 'deleteError', 'migrating', 'migrateError', 'recurringValidationError',
    'disabled', 'deleted',
  ];
  const IN_PROGRESS = new Set(['creating', 'editing', 'deleting', 'migrating']);
  const PAGE = 50;
  // Polling until `GET /events` exists: quick while something runs.
  const POLL_BUSY_MS = 1000;
  const POLL_IDLE_MS = 4000;

  // How each platform names its account (the host's account key), for the list.
  const ACCOUNT = {
    'Native S3': (c) => join([c.awsAccountId, c.awsRegion, c.awsLocationPath], ' · '),
    Redshift: (c) => c.host && `${c.host}:${c.port ?? 5439}`,
    Snowflake: (c) => c.host,
    Databricks: (c) => c.workspaceUrl,
    'Google BigQuery': (c) => join([c.projectId ?? c.credential?.projectId, c.dataset], ' / '),
    'Azure Synapse Analytics': (c) => c.host && `${c.host}:${c.port ?? 1433}/${c.database ?? ''}`,
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    key: sessionStorage.getItem(KEY_STORE),
    type: '',
    status: '',
    pages: [0], // the `after` of each page seen, for "Previous page"
    next: null,
    rows: new Map(), // id -> <tr>
    lastValidated: new Map(), // id -> {sig, at}
    statuses: new Map(), // id -> status at the last poll, for announcements
    timer: null,
    busy: false,
    types: [],
  };

  class AuthError extends Error {}

  function join(parts, sep) {
    const p = parts.filter((x) => x !== undefined && x !== null && x !== '');
    return p.length ? p.join(sep) : '';
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  async function api(path) {
    let r;
    try {
      r = await fetch(path, {
        headers: { Authorization: `Bearer ${state.key}`, Accept: 'application/json' },
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch (e) {
      throw new Error('The server cannot be reached.');
    }
    if (r.status === 401) throw new AuthError('The API key is not valid.');
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = null;
    }
    if (!r.ok) throw new Error((body && body.message) || `The server answered ${r.status}.`);
    return { body, headers: r.headers };
  }

  function badge(status, kind) {
    const cls = kind === 'test' ? `badge t-${status}` : `badge s-${status}`;
    const icon = {
      passed: '✓', failed: '✗', warning: '!', skipped: '–',
      enabled: '✓', deleted: '–', disabled: '–',
    }[status] || (String(status).endsWith('Error') ? '✗' : IN_PROGRESS.has(status) ? '…' : '');
    return el('span', { class: cls, 'data-status': status },
      el('span', { class: 'icon', 'aria-hidden': 'true' }, icon), ` ${status}`);
  }

  function when(at) {
    if (!at) return '';
    const d = new Date(at);
    return Number.isNaN(d.getTime()) ? at : d.toLocaleString();
  }

  function timeEl(at) {
    return at ? el('time', { datetime: at }, when(at)) : el('span', { class: 'muted' }, 'not yet');
  }

  function account(i) {
    const f = ACCOUNT[i.type];
    const c = i.config || {};
    const v = f ? f(c) : (c.account ?? c.host ?? c.workspaceUrl);
    return v ? String(v) : '';
  }

  // Failed tests first, then those that warned (marked so).
  function failing(i) {
    const tests = (i.validationResults && i.validationResults.validationTests) || [];
    return [
      ...tests.filter((t) => t.status === 'failed').map((t) => t.name),
      ...tests.filter((t) => t.status === 'warning').map((t) => `${t.name} (warning)`),
    ];
  }

  function announce(text) {
    const a = $('announce');
    a.append(el('p', {}, text));
    while (a.childNodes.length > 5) a.firstChild.remove();
  }

  function setConn(text, bad) {
    const c = $('conn');
    c.textContent = text;
    c.classList.toggle('bad', Boolean(bad));
  }

  // ---- views -------------------------------------------------------------

  function route() {
    const m = /^#\/integrations\/(\d+)$/.exec(location.hash);
    return m ? { view: 'detail', id: Number(m[1]) } : { view: 'list' };
  }

  function show(view) {
    $('login').hidden = view !== 'login';
    $('list').hidden = view !== 'list';
    $('detail').hidden = view !== 'detail';
    $('forget').hidden = view === 'login';
  }

  function signedOut(message) {
    stop();
    state.key = null;
    sessionStorage.removeItem(KEY_STORE);
    show('login');
    $('key-error').textContent = message || '';
    setConn('');
    $('key').focus();
  }

  function stop() {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
  }

  function schedule() {
    stop();
    if (document.hidden || !state.key) return;
    state.timer = setTimeout(refresh, state.busy ? POLL_BUSY_MS : POLL_IDLE_MS);
  }

  async function refresh() {
    stop();
    if (!state.key) return;
    const r = route();
    try {
      if (r.view === 'detail') await refreshDetail(r.id);
      else await refreshList();
      setConn(`Live · updated ${new Date().toLocaleTimeString()}`);
    } catch (e) {
      if (e instanceof AuthError) return signedOut(e.message);
      setConn(`${e.message} Retrying…`, true);
    }
    schedule();
  }

  // ---- the list ----------------------------------------------------------

  async function loadTypes() {
    const { body } = await api('/platforms');
    state.types = (body || []).map((p) => p.type).sort();
    const sel = $('f-type');
    for (const t of state.types) sel.append(el('option', { value: t }, t));
    sel.value = state.type;
  }

  function listQuery() {
    const q = new URLSearchParams();
    q.set('limit', String(PAGE));
    const after = state.pages[state.pages.length - 1];
    if (after) q.set('after', String(after));
    if (state.type) q.set('type', state.type);
    if (state.status) q.set('status', state.status);
    return `/integrations?${q}`;
  }

  async function refreshList() {
    const { body, headers } = await api(listQuery());
    const items = Array.isArray(body) ? body : [];
    const link = headers.get('link') || '';
    const m = /[?&]after=(\d+)/.exec(link);
    state.next = /rel="?next"?/.test(link) && m ? Number(m[1]) : null;
    $('next').disabled = state.next === null;
    $('prev').disabled = state.pages.length <= 1;
    document.querySelector('.pager').hidden = $('next').disabled && $('prev').disabled;
    state.busy = items.some((i) => IN_PROGRESS.has(i.status));
    noteChanges(items);
    renderRows(items);
    await fillLastValidated(items);
    const what = join([state.type, state.status], ', ');
    $('list-caption').textContent = `Integrations${what ? ` (${what})` : ''}: ${items.length} shown`;
  }

  function noteChanges(items) {
    for (const i of items) {
      const before = state.statuses.get(i.id);
      if (before && before !== i.status) {
        announce(`Integration ${i.id} (${i.type}): ${before} → ${i.status}`);
      }
      state.statuses.set(i.id, i.status);
    }
  }

  function cell(label, ...content) {
    return el('td', { 'data-label': label }, ...content);
  }

  function setCell(td, ...content) {
    const fresh = el('td', {}, ...content);
    if (td.innerHTML !== fresh.innerHTML) td.replaceChildren(...fresh.childNodes);
  }

  function renderRows(items) {
    const tbody = $('integrations').tBodies[0];
    const seen = new Set();
    items.forEach((i, index) => {
      seen.add(i.id);
      let tr = state.rows.get(i.id);
      if (!tr) {
        tr = el('tr', { 'data-id': i.id },
          cell('ID', el('a', { href: `#/integrations/${i.id}`, 'aria-label': `Integration ${i.id}` }, String(i.id))),
          cell('Type'), cell('Account'), cell('Status'), cell('Last validated'), cell('Failing tests'));
        state.rows.set(i.id, tr);
      }
      const [, type, acct, status, , fails] = tr.cells;
      setCell(type, i.type);
      setCell(acct, account(i) || el('span', { class: 'muted' }, '—'));
      setCell(status, badge(i.status));
      const names = failing(i);
      setCell(fails, names.length
        ? el('ul', { class: 'plain' }, ...names.map((n) => el('li', {}, n)))
        : el('span', { class: 'muted' }, 'none'));
      tr.dataset.status = i.status;
      if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] || null);
    });
    for (const [id, tr] of state.rows) {
      if (!seen.has(id)) {
        tr.remove();
        state.rows.delete(id);
      }
    }
    $('empty').hidden = items.length > 0;
  }

  // "Last validated" is the time of the latest validation run in the
  // history, fetched again only when the integration's results change.
  async function fillLastValidated(items) {
    const todo = items.filter((i) => {
      const known = state.lastValidated.get(i.id);
      return !known || known.sig !== signature(i);
    });
    const queue = todo.slice();
    const worker = async () => {
      while (queue.length) {
        const i = queue.shift();
        const { body } = await api(`/integrations/${i.id}/history`);
        state.lastValidated.set(i.id, { sig: signature(i), at: lastValidation(body) });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    for (const i of items) {
      const tr = state.rows.get(i.id);
      const known = state.lastValidated.get(i.id);
      if (tr && known) setCell(tr.cells[4], timeEl(known.at));
    }
  }

  function signature(i) {
    return `${i.status} ${JSON.stringify(i.validationResults)}`;
  }

  function lastValidation(history) {
    const runs = (history || []).filter((h) => h.event === 'validation');
    return runs.length ? runs[runs.length - 1].at : null;
  }

  // ---- one integration ---------------------------------------------------

  let shownId = null;

  async function refreshDetail(id) {
    const [{ body: i }, { body: history }] = await Promise.all([
      api(`/integrations/${id}`),
      api(`/integrations/${id}/history`),
    ]);
    state.busy = IN_PROGRESS.has(i.status);
    noteChanges([i]);
    const first = shownId !== id;
    shownId = id;
    $('detail-title').textContent = `${i.type} integration ${i.id}`;
    renderSummary(i, history);
    renderTests(i.validationResults);
    renderRemedies(i.remedies || []);
    renderConfig(i.config || {});
    renderHistory(history || []);
    if (first) $('detail-title').focus();
  }

  function renderSummary(i, history) {
    const results = i.validationResults || {};
    const rows = [
      ['Status', badge(i.status)],
      ['Account', account(i) || '—'],
      ['Set-up', i.autoBootstrap ? 'automatic (autoBootstrap)' : 'manual'],
      ['Validation', results.status ? badge(results.status, 'test') : '—'],
      ['Last validated', timeEl(lastValidation(history))],
    ];
    const dl = $('summary');
    const fresh = el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { 'data-field': k }, v)]));
    if (dl.innerHTML !== fresh.innerHTML) dl.replaceChildren(...fresh.childNodes);
  }

  function renderTests(results) {
    const tbody = $('tests').tBodies[0];
    const tests = (results && results.validationTests) || [];
    const fresh = el('tbody', {}, ...tests.map((t) => el('tr', { 'data-test': t.name, 'data-status': t.status },
      el('th', { scope: 'row', 'data-label': 'Test' }, t.name),
      cell('Status', badge(t.status, 'test')),
      cell('Message', t.message ? el('span', { class: 'message' }, t.message) : el('span', { class: 'muted' }, '—')))));
    if (tbody.innerHTML !== fresh.innerHTML) tbody.replaceChildren(...fresh.childNodes);
  }

  function renderRemedies(remedies) {
    $('remedies-section').hidden = remedies.length === 0;
    const box = $('remedies');
    const fresh = el('div', {}, ...remedies.map((r, n) => {
      const text = (r.statements || []).join('\n');
      const code = el('code', { class: `lang-${r.language}`, id: `remedy-${n}` }, text);
      const copy = el('button', { type: 'button', class: 'quiet copy', 'data-copy': `remedy-${n}` }, 'Copy');
      return el('article', { class: 'remedy', 'data-test': r.test },
        el('h3', {}, r.test),
        el('p', {}, el('strong', {}, 'Missing: '), r.missing),
        el('p', { class: 'muted' }, `Language: ${r.language}`),
        el('pre', { tabindex: '0', 'aria-label': `Statements for ${r.test}` }, code),
        copy);
    }));
    if (box.innerHTML !== fresh.innerHTML) box.replaceChildren(...fresh.childNodes);
  }

  function configNodes(obj) {
    return Object.entries(obj).flatMap(([k, v]) => {
      let dd;
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        dd = el('dd', {}, el('dl', { class: 'config nested' }, ...configNodes(v)));
      } else {
        dd = el('dd', {}, el('code', {}, typeof v === 'string' ? v : JSON.stringify(v)));
      }
      return [el('dt', {}, k), dd];
    });
  }

  function renderConfig(config) {
    const dl = $('config');
    const fresh = el('dl', {}, ...configNodes(config));
    if (dl.innerHTML !== fresh.innerHTML) dl.replaceChildren(...fresh.childNodes);
  }

  function historyTitle(h) {
    switch (h.event) {
      case 'create': case 'edit': case 'delete': case 'migrate':
        return `${h.event[0].toUpperCase()}${h.event.slice(1)} started`;
      case 'validation': {
        const tests = (h.validationResults && h.validationResults.validationTests) || [];
        const failed = tests.filter((t) => t.status === 'failed').length;
        const status = h.validationResults ? h.validationResults.status : '';
        const fixes = (h.remedies || []).length;
        return `Validation ${status}${failed ? ` (${failed} of ${tests.length} tests failed)` : ''}`
          + `${fixes ? ` · ${fixes} fix${fixes > 1 ? 'es' : ''}` : ''}`;
      }
      case 'validate': return 'Recurring validation';
      case 'disable': return 'Disabled';
      case 'enable': return 'Enable';
      case 'outcome': return 'Operation ended';
      case 'recovered': return 'Ended by recovery';
      default: return h.event;
    }
  }

  function renderHistory(history) {
    const ol = $('history');
    // Newest first: what happened last is what an operator looks for.
    const items = history.slice().reverse().map((h) => {
      const cls = h.to && String(h.to).endsWith('Error') ? 'bad'
        : h.event === 'validation' && h.validationResults && h.validationResults.status === 'failed' ? 'bad' : '';
      return el('li', { class: cls, 'data-event': h.event },
        el('p', { class: 'when' }, timeEl(h.at)),
        el('p', { class: 'what' }, el('strong', {}, historyTitle(h)),
          h.from || h.to ? el('span', { class: 'move' }, ' ', h.from ? badge(h.from) : '', h.from && h.to ? ' → ' : '', h.to ? badge(h.to) : '') : null),
        h.message ? el('p', { class: 'message' }, h.message) : null,
        h.keyId ? el('p', { class: 'muted' }, `Key ${h.keyId}`) : null);
    });
    const fresh = el('ol', {}, ...items);
    if (ol.innerHTML !== fresh.innerHTML) ol.replaceChildren(...fresh.childNodes);
  }

  // ---- start -------------------------------------------------------------

  async function start() {
    show(route().view);
    try {
      if (!state.types.length) await loadTypes();
    } catch (e) {
      if (e instanceof AuthError) return signedOut(e.message);
      setConn(`${e.message} Retrying…`, true);
    }
    await refresh();
  }

  function init() {
    const statusSel = $('f-status');
    for (const s of STATUSES) statusSel.append(el('option', { value: s }, s));

    $('key-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const input = $('key');
      const key = input.value.trim();
      input.value = '';
      if (!key) {
        $('key-error').textContent = 'Enter an API key.';
        return;
      }
      state.key = key;
      try {
        await api('/platforms');
      } catch (e) {
        state.key = null;
        $('key-error').textContent = e.message;
        input.focus();
        return;
      }
      sessionStorage.setItem(KEY_STORE, key);
      $('key-error').textContent = '';
      await start();
      const r = route();
      (r.view === 'detail' ? $('detail-title') : $('list-title')).focus();
    });

    $('forget').addEventListener('click', () => signedOut('The key was forgotten.'));

    $('f-type').addEventListener('change', (ev) => {
      state.type = ev.target.value;
      state.pages = [0];
      refresh();
    });
    statusSel.addEventListener('change', (ev) => {
      state.status = ev.target.value;
      state.pages = [0];
      refresh();
    });
    $('next').addEventListener('click', () => {
      if (state.next !== null) state.pages.push(state.next);
      refresh();
    });
    $('prev').addEventListener('click', () => {
      if (state.pages.length > 1) state.pages.pop();
      refresh();
    });

    $('remedies').addEventListener('click', (ev) => {
      const b = ev.target.closest('button[data-copy]');
      if (!b) return;
      const code = $(b.dataset.copy);
      const done = () => { b.textContent = 'Copied'; setTimeout(() => { b.textContent = 'Copy'; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(code.textContent).then(done, () => select(code));
      } else {
        select(code);
      }
    });

    window.addEventListener('hashchange', () => {
      shownId = null;
      if (!state.key) return;
      show(route().view);
      refresh();
      if (route().view === 'list') $('list-title').focus();
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) refresh();
    });

    if (state.key) start();
    else signedOut('');
  }

  function select(node) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  init();
})();
