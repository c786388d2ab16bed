// The OpenID provider latchkey's tests run: node-oidc-provider, a certified
// implementation, on loopback over HTTPS with a test CA.
//
//   node provider.mjs CONFIG.json
//
// CONFIG names the TLS certificate and key, the port file, the clients and
// optionally the lifetimes of device codes and access tokens in seconds, and
// whether token requests must carry a DPoP nonce the provider issued:
//   { "cert": PATH, "key": PATH, "portFile": PATH, "clients": [ ... ],
//     "deviceCodeTtl": 600, "loginCodeTtl": 600, "accessTokenTtl": 3600,
//     "dpopNonce": false,
//     "resources": { "https://api.example.com/weather": "weather.read" } }
// Each resource (an API, RFC 8707) names the scopes it knows; tokens for it
// are opaque, and introspection tells their audience and scope.
// Refresh tokens are rotated at every use, DPoP-bound ones included, as the
// strictest servers do.
// The provider listens on a free port of 127.0.0.1 chosen by the kernel
// and writes that port to portFile (atomically) once it serves; its issuer
// is https://127.0.0.1:PORT, or https://ISSUERHOST:PORT with "issuerHost"
// for clients that reach that port at another address (a VM through qemu's
// forwarding). Endpoint URLs follow each request's Host either way.
//
// ID tokens are signed with RS256 by an RSA key, or with ES256 by the
// first EC key for clients registered with that id_token_signed_response_alg.
// For tests only, POST /test/rotate-keys puts a new EC key first, the old
// keys kept, and answers its kid (text/plain); with ?publish=false the new
// key signs but is left out of the JWK Set, as a key no longer the
// provider's would be. The provider is built anew around the keys; grants,
// sessions, codes and tokens live on in the one store they all share.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider, { errors } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// The provider's default, here for the store too: it keeps what expired that
// much longer, so late polls are told expired_token rather than invalid_grant.
const clockTolerance = 15;
const adapter = createMemoryAdapter(clockTolerance);
const dpopNonceSecret = randomBytes(32);

// A private JWK of a new key pair: 'rsa' (2048 bits) or 'ec' (P-256).
const newKey = (type) => ({
  ...generateKeyPairSync(type, type === 'rsa' ? { modulusLength: 2048 } : { namedCurve: 'P-256' })
    .privateKey.export({ format: 'jwk' }),
  kid: randomUUID(),
});
const keys = [newKey('rsa'), newKey('ec')];
const unpublished = new Set();

const server = createServer({
  cert: readFileSync(config.cert),
  key: readFileSync(config.key),
});

// The request handler of the provider serving now.
let serve;

function rotateKeys(req, res) {
  const key = newKey('ec');
  keys.unshift(key);
  if (new URL(req.url, 'https://localhost').searchParams.get('publish') === 'false')
    unpublished.add(key.kid);
  serve = startProvider();
  res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${key.kid}\n`);
}

server.on('request', (req, res) => {
  if (req.method === 'POST' && req.url.split('?')[0] === '/test/rotate-keys')
    rotateKeys(req, res);
  else
    serve(req, res);
});

function startProvider() {
  const { port } = server.address();
  const provider = new Provider(`https://${config.issuerHost ?? '127.0.0.1'}:${port}`, {
    adapter,
    clockTolerance,
    jwks: { keys },
    clients: config.clients ?? [],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      dPoP: {
        enabled: true,
        ...(config.dpopNonce ? { nonceSecret: dpopNonceSecret, requireNonce: () => true } : {}),
      },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a resource, tokens are for the provider's own userinfo.
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, resource) => {
          const scope = config.resources?.[resource];
          if (scope === undefined) throw new errors.InvalidTarget();
          return { scope, audience: resource, accessTokenFormat: 'opaque' };
        },
      },
    },
    // Every login is an account (devInteractions accept any): its sub is the
    // login, with a preferred_username and an email derived from it, in the
    // ID token itself (pam_latchkey maps logins from these claims).
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, preferred_username: id, email: `${id}@example.org`, email_verified: true }),
    }),
    claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    // Refresh tokens for the device grant without offline_access consent.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    // Tests run the provider briefly: fixed, throwaway cookie keys are fine.
    cookies: { keys: ['latchkey-test-only'] },
    // Short-lived device codes and access tokens let tests see them expire.
    ttl: {
      // Console logins ask no offline_access: their codes may live shorter than pairings'.
      DeviceCode: (ctx, token) => (config.loginCodeTtl
        && !String(token.params?.scope ?? '').split(' ').includes('offline_access')
        ? config.loginCodeTtl : config.deviceCodeTtl ?? 600),
      AccessToken: config.accessTokenTtl ?? 3600,
    },
  });
  provider.proxy = false;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.status === 200)
      ctx.body = { keys: ctx.body.keys.filter((key) => !unpublished.has(key.kid)) };
  });
  return provider.callback();
}

server.listen(0, '127.0.0.1', () => {
  serve = startProvider();
  writeFileSync(`${config.portFile}.tmp`, `${server.address().port}\n`);
  renameSync(`${config.portFile}.tmp`, config.portFile);
});
