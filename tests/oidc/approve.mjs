// The owner's phone, for tests: opens a device flow's verification URL on
// the OpenID provider and approves (or aborts) it the way a person does in
// a browser, over plain HTTP with a cookie jar: confirm the code, log in,
// consent. The provider's devInteractions pages accept any login.
//
//   node approve.mjs VERIFICATION_URI_COMPLETE LOGIN [abort]
//
// Trust the provider's test CA with NODE_EXTRA_CA_CERTS. Prints the final
// page's title and exits 0 when the provider says the sign-in succeeded (or,
// with abort, was aborted); 1 otherwise.
const [url, login, mode] = process.argv.slice(2);
const cookies = new Map();

function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
  }
}

async function request(target, form) {
  const headers = { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  const init = { redirect: 'manual', headers };
  if (form) {
    init.method = 'POST';
    init.body = new URLSearchParams(form);
  }
  const response = await fetch(target, init);
  remember(response);
  return response;
}

// Each resume URL works once: every redirect is followed exactly once.
async function follow(target, form) {
  let response = await request(target, form);
  while (response.status >= 300 && response.status < 400) {
    target = new URL(response.headers.get('location'), target).href;
    response = await request(target);
  }
  return { target, html: await response.text() };
}

function hiddenInputs(html) {
  const fields = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields[name] = value;
  }
  return fields;
}

function formAction(html, target) {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  return new URL(match ? match[1] : target, target).href;
}

function title(html) {
  const match = /<title>([^<]*)<\/title>/.exec(html);
  return match ? match[1] : '';
}

let { target, html } = await follow(url);
for (let step = 0; step < 8; step += 1) {
  if (/Sign-in Success/.test(html) || /request was interrupted|aborted/i.test(html)) break;
  const fields = hiddenInputs(html);
  if (/name="login"/.test(html)) {
    Object.assign(fields, { prompt: 'login', login, password: 'any' });
  } else if (/Authorize|consent/i.test(title(html)) || /name="prompt" value="consent"/.test(html)) {
    fields.prompt = 'consent';
  } else if (mode === 'abort') {
    fields.abort = 'yes';
  }
  ({ target, html } = await follow(formAction(html, target), fields));
}

const outcome = title(html);
console.log(outcome);
const wanted = mode === 'abort' ? /interrupted|aborted/i : /Sign-in Success/;
process.exit(wanted.test(html) ? 0 : 1);
