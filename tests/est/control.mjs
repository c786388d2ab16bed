// The EST test server's control endpoint, plain HTTP on loopback, for the
// tests alone: read and flip the switches, read what the server did. The
// API is documented in server.mjs.
import { checkSwitches } from './switches.mjs';

const MAX_BODY = 4096;

// controlHandler(STATE, APPLY): APPLY(CHANGES) sets checked switches and
// resolves once the listener matches them (closed, reopened, reloaded).
export function controlHandler(state, apply) {
  return (req, res) => {
    route(state, apply, req).then(([status, value]) => {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
    }, (err) => {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(`${JSON.stringify({ error: err.message })}\n`);
    });
  };
}

async function route(state, apply, req) {
  const key = `${req.method} ${req.url}`;
  if (key === 'GET /switches')
    return [200, state.switches];
  if (key === 'GET /log')
    return [200, { issued: state.issued, requests: state.requests }];
  if (key === 'POST /switches') {
    let changes;
    try {
      changes = checkSwitches(JSON.parse(await readText(req)));
    } catch (err) {
      return [400, { error: err.message }];
    }
    await apply(changes);
    return [200, state.switches];
  }
  return [404, { error: `no ${key} here: GET /switches, POST /switches, GET /log` }];
}

async function readText(req) {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > MAX_BODY)
      throw new Error('too long');
  }
  return text;
}
