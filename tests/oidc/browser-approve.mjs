// The owner's phone in a real browser: opens a device flow's verification
// URL on the OpenID provider in headless Chromium (Debian's, driven by
// playwright-core) and approves (or aborts) it the way a person does:
// check that the code shown is the display's, continue, log in, consent.
// The provider's devInteractions pages accept any login.
//
//   node browser-approve.mjs VERIFICATION_URI_COMPLETE LOGIN [abort]
//
// The same contract as approve.mjs: the provider's test CA is the file
// named by NODE_EXTRA_CA_CERTS; prints the final page's title and exits 0
// when the provider says the sign-in succeeded (or, with abort, was
// aborted); 1 otherwise.
//
// Chromium is told to trust that CA the way a user would, not by ignoring
// certificate errors: Chromium on Linux has no flag for a CA file and reads
// added trust anchors only from the NSS database in $HOME/.pki/nssdb, so
// a throwaway HOME holds one (certutil) with the test CA as its only
// added anchor, and is removed afterwards.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, login, mode] = process.argv.slice(2);
const ca = process.env.NODE_EXTRA_CA_CERTS;
const origin = new URL(url).origin;
// What the display shows, as the person compares it: letters and digits.
const codeOf = (text) => text.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
const expectedCode = codeOf(new URL(url).searchParams.get('user_code') ?? '');

const home = mkdtempSync(join(tmpdir(), 'browser-home-'));
let browser;
let outcome = '';
let ok = false;
try {
  const nssdb = join(home, '.pki', 'nssdb');
  mkdirSync(nssdb, { recursive: true });
  execFileSync('certutil', ['-N', '-d', `sql:${nssdb}`, '--empty-password']);
  execFileSync('certutil', ['-A', '-d', `sql:${nssdb}`, '-n', 'latchkey test CA', '-t', 'C,,', '-i', ca]);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, HOME: home },
    timeout: 60_000,
  });
  const context = await browser.newContext({ ignoreHTTPSErrors: false });
  // A phone on the provider's site only: the pages' web fonts and anything
  // else off loopback are refused, so the test never reaches the internet.
  await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin
    ? route.continue() : route.abort('blockedbyclient')));
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);

  await page.goto(url);
  await page.getByRole('heading', { name: 'Confirm Device' }).waitFor();
  const shown = codeOf(await page.locator('code').innerText());
  if (expectedCode === '' || shown !== expectedCode) {
    throw new Error(`the page shows the code “${shown}”, the display “${expectedCode}”`);
  }

  if (mode === 'abort') {
    await page.getByRole('button', { name: '[ Abort ]' }).click();
    await page.getByText('The Sign-in request was interrupted').waitFor();
    ok = true;
  } else {
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Sign-in', exact: true }).waitFor();
    await page.getByPlaceholder('Enter any login').fill(login);
    await page.getByPlaceholder('and password').fill('any');
    await page.getByRole('button', { name: 'Sign-in', exact: true }).click();

    await page.getByRole('heading', { name: 'Authorize' }).waitFor();
    await page.getByRole('button', { name: 'Continue' }).click();

    await page.getByRole('heading', { name: 'Sign-in Success' }).waitFor();
    ok = true;
  }
  outcome = await page.title();
} catch (error) {
  console.error(`browser-approve: ${error.message}`);
} finally {
  // No Chromium process may outlive this script.
  await browser?.close();
  rmSync(home, { recursive: true, force: true });
}

console.log(outcome);
process.exit(ok ? 0 : 1);
