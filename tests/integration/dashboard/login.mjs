// The dashboard's login page in Chromium against a server with security on
// (tests/integration/security_test.sh): the page asks to sign in, a wrong password is refused
// on the form, the right one shows the overview with live metrics, and a view's WebSocket
// (which carries the token as ?access_token=) delivers rows.
// usage: node login.mjs BASE_URL CHROMIUM USER PASSWORD VIEW
import { chromium } from 'playwright-core';

const [base, executablePath, user, password, view] = process.argv.slice(2);
let failures = 0;
function check(name, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} dashboard: ${name} ${ok ? '' : detail}`);
  if (!ok) failures++;
}

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
// Over HTTPS the server's certificate comes from the test's own CA.
const page = await browser.newPage({ ignoreHTTPSErrors: base.startsWith('https:') });
const problems = [];
page.on('console', m => { if (m.type() === 'error') problems.push(m.text()); });
page.on('pageerror', e => problems.push(e.message));
try {
  await page.goto(base + '/#/');
  await page.waitForSelector('#login-user', { timeout: 10000 });
  check('asks to sign in', true);
  await page.fill('#login-user', user);
  await page.fill('#login-password', 'wrong');
  await page.click('.login-box button');
  await page.waitForFunction(() => document.getElementById('login-error')?.textContent.length > 0,
                             null, { timeout: 10000 });
  check('a wrong password is refused on the form',
        /invalid/i.test(await page.textContent('#login-error')));
  await page.fill('#login-password', password);
  await page.click('.login-box button');
  await page.waitForSelector('#login', { state: 'detached', timeout: 10000 });
  check('the right password signs in', true);
  // The status shows a live connection once /metrics answers with the token.
  await page.waitForFunction(() => document.getElementById('status').textContent === 'live',
                             null, { timeout: 15000 });
  check('metrics load with the session token', true);
  await page.goto(`${base}/#/views/${encodeURIComponent(view)}`);
  await page.waitForFunction(() => document.querySelectorAll('#page table tbody tr').length > 0,
                             null, { timeout: 15000 });
  check('a live view delivers rows over its WebSocket', true);
} catch (e) {
  const status = await page.textContent('#status').catch(() => '?');
  check('flow', false, `${e.message} (status: ${status}; console: ${problems.join(' | ')})`);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
