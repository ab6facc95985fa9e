// Drives the status page of a running junction in headless Chromium and
// asserts what it shows. Started by tests/tests/ui.rs, which creates the
// integrations first and passes everything in the environment:
//   JUNCTION_URL   http://127.0.0.1:PORT of the server
//   JUNCTION_KEY   an admin key (typed into the page; used here to create one more)
//   SENTINEL       the secret every integration was created with
//   EXPECT         JSON: [{id, account, status, failing: [names]}]
//   FAILED_ID, FAILED_TEST, FAILED_MESSAGE  one failed test to find on its page
//   SCREENSHOTS    the folder for the screenshots
//   CHROMIUM       the browser (/usr/bin/chromium)
//   PROFILE        a fresh, empty folder for Chromium's --user-data-dir
// Exits 0 when every assertion holds; otherwise prints the first that failed.

import { chromium } from 'playwright-core';
import { strict as assert } from 'node:assert';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE = env('JUNCTION_URL');
const KEY = env('JUNCTION_KEY');
const SENTINEL = env('SENTINEL');
const EXPECT = JSON.parse(env('EXPECT'));
const FAILED = { id: Number(env('FAILED_ID')), test: env('FAILED_TEST'), message: env('FAILED_MESSAGE') };
const SHOTS = env('SCREENSHOTS');
const TIMEOUT = 20000;

const step = (text) => console.log(`- ${text}`);

const context = await chromium.launchPersistentContext(env('PROFILE'), {
  executablePath: env('CHROMIUM'),
  headless: true,
  // Root needs --no-sandbox; the rest keep Chromium off the (closed) network.
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run',
  ],
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(TIMEOUT);

const requests = [];
const problems = [];
context.on('request', (r) => requests.push({ url: r.url(), auth: r.headers().authorization }));

let failure = null;
try {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  await run(page);
  // The one 401 is the wrong key's, refused on purpose; anything else is a fault.
  const refused = problems.filter((p) => p.includes('status of 401'));
  assert.equal(refused.length, 1, `401s: ${refused}`);
  assert.deepEqual(problems.filter((p) => !p.includes('status of 401')), [], 'the page logged errors');
} catch (e) {
  failure = e;
} finally {
  await context.close();
}
if (failure) {
  console.error(`FAILED: ${failure.stack || failure}`);
  process.exit(1);
}
console.log('all assertions held');

// ---------------------------------------------------------------------------

async function noSecretInDom(page, where) {
  const html = await page.evaluate(() => document.documentElement.outerHTML);
  assert.ok(!html.includes(SENTINEL), `the sentinel secret is in the DOM (${where})`);
  assert.ok(!html.includes(KEY), `the API key is in the DOM (${where})`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

function row(page, id) {
  return page.locator(`#integrations tbody tr[data-id="${id}"]`);
}

async function badgeOf(page, id) {
  return (await row(page, id).locator('td').nth(3).innerText()).replace(/^\W+\s*/, '').trim();
}

// WCAG 2 contrast ratio of two CSS colours (rgb()/rgba() as computed).
function contrast(fg, bg) {
  const lum = (c) => {
    const [r, g, b] = c.match(/[\d.]+/g).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}

async function run(page) {
  step('the page loads with no key and asks for one');
  await page.goto(`${BASE}/ui`);
  const keyInput = page.getByLabel('API key', { exact: true });
  await keyInput.waitFor();
  assert.equal(await keyInput.getAttribute('type'), 'password');
  await shot(page, '01-sign-in');

  step('a wrong key is refused with the API\'s words');
  await keyInput.fill('jct_not_a_key_at_all');
  await page.getByRole('button', { name: 'Use key' }).click();
  await page.getByText('The API key is not valid.').waitFor();

  step('the right key, typed once (Enter submits)');
  await keyInput.fill(KEY);
  await keyInput.press('Enter');
  await page.locator('#list:not([hidden])').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('junction.apiKey')), KEY);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');

  step('one row per integration, each with its status badge, account and failing tests');
  for (const e of EXPECT) {
    await page.waitForFunction(
      ([id, status]) => document.querySelector(`#integrations tbody tr[data-id="${id}"]`)?.dataset.status === status,
      [e.id, e.status],
    );
  }
  assert.equal(await page.locator('#integrations tbody tr').count(), EXPECT.length);
  for (const e of EXPECT) {
    const r = row(page, e.id);
    assert.equal(await badgeOf(page, e.id), e.status, `badge of ${e.id}`);
    assert.equal(await r.locator(`.badge.s-${e.status}`).count(), 1, `badge class of ${e.id}`);
    assert.equal((await r.locator('td').nth(1).innerText()).trim(), 'Synthetic');
    assert.equal((await r.locator('td').nth(2).innerText()).trim(), e.account);
    const fails = (await r.locator('td').nth(5).innerText()).trim();
    if (e.failing.length) {
      for (const f of e.failing) assert.ok(fails.includes(f), `failing tests of ${e.id}: ${fails}`);
    } else {
      assert.equal(fails, 'none', `failing tests of ${e.id}`);
    }
  }
  // Last validated is a time once the tests have run.
  await page.waitForFunction(
    (id) => Boolean(document.querySelector(`#integrations tbody tr[data-id="${id}"] time`)),
    EXPECT[0].id,
  );
  await noSecretInDom(page, 'list');
  await shot(page, '02-list');

  step('badges are readable: text contrast at least 4.5:1');
  const colours = await page.$$eval('.badge', (bs) => bs.map((b) => {
    const s = getComputedStyle(b);
    return { fg: s.color, bg: s.backgroundColor, text: b.textContent };
  }));
  assert.ok(colours.length >= EXPECT.length);
  for (const c of colours) {
    assert.ok(contrast(c.fg, c.bg) >= 4.5, `contrast of "${c.text}": ${c.fg} on ${c.bg}`);
  }

  step('every control has a label');
  const unlabelled = await page.$$eval('input, select', (xs) => xs.filter((x) => x.labels.length === 0).map((x) => x.id));
  assert.deepEqual(unlabelled, []);

  step('filter by status, then by type');
  await page.getByLabel('Status', { exact: true }).selectOption('createError');
  const errors = EXPECT.filter((e) => e.status === 'createError');
  await page.waitForFunction((n) => document.querySelectorAll('#integrations tbody tr').length === n, errors.length);
  for (const e of errors) assert.equal(await row(page, e.id).count(), 1);
  await shot(page, '03-filtered');
  const other = await page.$$eval('#f-type option', (os) => os.map((o) => o.value).find((v) => v && v !== 'Synthetic'));
  if (other) {
    await page.getByLabel('Type', { exact: true }).selectOption(other);
    await page.locator('#empty:not([hidden])').waitFor();
  }
  await page.getByLabel('Type', { exact: true }).selectOption('Synthetic');
  await page.getByLabel('Status', { exact: true }).selectOption('');
  await page.waitForFunction((n) => document.querySelectorAll('#integrations tbody tr').length === n, EXPECT.length);

  step('keyboard: a row\'s link opens the integration; its failed test shows its message');
  await row(page, FAILED.id).getByRole('link').focus();
  await page.keyboard.press('Enter');
  await page.locator('#detail:not([hidden])').waitFor();
  const test = page.locator('#tests tbody tr').filter({ hasText: FAILED.test });
  await test.waitFor();
  assert.equal(await test.getAttribute('data-status'), 'failed');
  assert.equal((await test.locator('.message').innerText()).trim(), FAILED.message);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'detail-title', 'focus moves to the heading');
  assert.ok((await page.locator('#config').innerText()).includes('account'), 'the config is shown');
  const history = page.locator('#history li');
  assert.ok(await history.count() >= 3, 'the history has the create, the validation and the outcome');
  assert.equal(await page.locator('#history li[data-event="outcome"] .badge.s-createError').count(), 1);
  await noSecretInDom(page, `integration ${FAILED.id}`);
  assert.equal(await page.locator('#remedies-section').isHidden(), true, 'no fixes section without remedies');
  await shot(page, '04-failed-integration');

  step('remedies beside the results are shown as fixes, with their statements');
  // The synthetic platform declares no remedies: one real answer gets one on
  // its way to the page (the host's remedies are tested with Snowflake's).
  const remedy = {
    test: FAILED.test,
    missing: 'USAGE on the warehouse WH for the role R',
    language: 'sql',
    statements: ['GRANT USAGE ON WAREHOUSE "WH" TO ROLE "R";'],
  };
  const target = `${BASE}/integrations/${FAILED.id}`;
  await page.route(target, async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    assert.equal(body.remedies, undefined, 'the synthetic platform declared a remedy after all');
    route.fulfill({ response, json: { ...body, remedies: [remedy] } });
  });
  const fix = page.locator('#remedies article.remedy');
  await fix.waitFor();
  assert.equal(await fix.getAttribute('data-test'), FAILED.test);
  assert.ok((await fix.innerText()).includes(`Missing: ${remedy.missing}`));
  assert.equal((await fix.locator('code.lang-sql').innerText()).trim(), remedy.statements[0]);
  await fix.getByRole('button', { name: 'Copy' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#remedies button.copy')?.textContent !== 'Copy'
    || window.getSelection().toString().includes('GRANT'));
  await noSecretInDom(page, `integration ${FAILED.id} with a fix`);
  await shot(page, '05-fixes');
  await page.unroute(target);

  for (const e of EXPECT) {
    await page.goto(`${BASE}/ui#/integrations/${e.id}`);
    await page.waitForFunction((id) => document.getElementById('detail-title').textContent.endsWith(` ${id}`), e.id);
    await page.locator('#tests tbody tr').first().waitFor();
    await noSecretInDom(page, `integration ${e.id}`);
  }

  step('live: a create started now is followed to enabled without a reload');
  await page.goto(`${BASE}/ui#/`);
  await row(page, EXPECT[0].id).waitFor();
  await page.evaluate(() => { window.__sameDocument = true; });
  const created = await fetch(`${BASE}/integrations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      type: 'Synthetic',
      autoBootstrap: false,
      config: {
        account: 'acct-live',
        password: SENTINEL,
        // Slow enough that the page sees each stage at least once.
        checks: { 'Synthetic: connection': { behavior: 'pass', delayMs: 1500 } },
        operations: { create: { behavior: 'pass', delayMs: 8000 } },
      },
    }),
  });
  assert.equal(created.status, 202);
  const live = (await created.json()).id;
  await page.waitForFunction((id) => document.querySelector(`#integrations tbody tr[data-id="${id}"]`)?.dataset.status === 'creating', live);
  await shot(page, '06-live-creating');
  await row(page, live).getByRole('link').click();
  await page.locator('#detail:not([hidden])').waitFor();
  // Its tests finish while the create is still running…
  await page.waitForFunction(() => {
    const status = document.querySelector('#summary dd[data-field="Status"] .badge')?.dataset.status;
    const tests = [...document.querySelectorAll('#tests tbody tr')];
    const connection = tests.find((t) => t.dataset.test === 'Synthetic: connection');
    return status === 'creating' && connection?.dataset.status === 'passed';
  });
  await shot(page, '07-live-tests-done');
  // …then the page follows it to enabled.
  await page.waitForFunction(
    () => document.querySelector('#summary dd[data-field="Status"] .badge')?.dataset.status === 'enabled',
  );
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
  assert.ok((await page.locator('#announce').innerText()).includes(`Integration ${live} (Synthetic): creating → enabled`),
    'the change is announced to screen readers');
  await noSecretInDom(page, `integration ${live}`);
  await shot(page, '08-live-enabled');

  step('a phone: one card per integration, nothing wider than the screen');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${BASE}/ui#/`);
  await row(page, live).waitFor();
  const widths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(widths[0] <= widths[1], `the list is wider than the phone: ${widths}`);
  await shot(page, '09-phone-list');
  await page.goto(`${BASE}/ui#/integrations/${FAILED.id}`);
  await page.locator('#tests tbody tr').first().waitFor();
  const dwidths = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(dwidths[0] <= dwidths[1], `the integration is wider than the phone: ${dwidths}`);
  await shot(page, '10-phone-integration');

  step('forget the key: back to the sign-in form, nothing kept');
  await page.getByRole('button', { name: 'Forget key' }).click();
  await keyInput.waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('junction.apiKey')), null);

  step('no request URL held the secret or the key; every API call sent the key as a bearer header');
  assert.ok(requests.length > 10, `only ${requests.length} requests seen`);
  for (const r of requests) {
    assert.ok(!r.url.includes(SENTINEL), `the sentinel in a URL: ${r.url}`);
    assert.ok(!decodeURIComponent(r.url).includes(KEY), `the API key in a URL: ${r.url}`);
    if (r.url.startsWith(BASE) && !new URL(r.url).pathname.startsWith('/ui')) {
      assert.ok(r.auth === `Bearer ${KEY}` || r.auth === 'Bearer jct_not_a_key_at_all', `no bearer key on ${r.url}`);
    }
  }
}
