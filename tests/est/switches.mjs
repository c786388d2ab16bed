// The EST test server's switches: how it misbehaves, and the lifetime of
// what it issues. Set at start (members of the config) and at run time
// (POST /switches on the control endpoint); documented in server.mjs.

export const DEFAULT_SWITCHES = Object.freeze({
  down: false,
  error500: false,
  malformedPkcs7: false,
  wrongKey: false,
  wrongServerCert: false,
  retryAfter: 0,
  retryCount: 0,
  lifetime: 3600,
  startsIn: 0,
});

const FLAGS = ['down', 'error500', 'malformedPkcs7', 'wrongKey', 'wrongServerCert'];
const MINIMUM = { retryAfter: 0, retryCount: 0, lifetime: 1, startsIn: 0 };

// checkSwitches(CHANGES): CHANGES (an object of switch members) checked,
// with retryCount 1 when retryAfter is turned on alone. Throws an Error
// naming the first bad member: a typo in a test must not pass silently.
export function checkSwitches(changes) {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes))
    throw new Error('switches must be a JSON object');
  for (const [name, value] of Object.entries(changes)) {
    if (FLAGS.includes(name)) {
      if (typeof value !== 'boolean')
        throw new Error(`${name} must be true or false`);
    } else if (name in MINIMUM) {
      if (!Number.isSafeInteger(value) || value < MINIMUM[name])
        throw new Error(`${name} must be an integer of at least ${MINIMUM[name]}`);
    } else {
      throw new Error(`no switch named ${name}`);
    }
  }
  if (changes.retryAfter > 0 && !('retryCount' in changes))
    return { ...changes, retryCount: 1 };
  return changes;
}

export function isSwitch(name) {
  return name in DEFAULT_SWITCHES;
}
