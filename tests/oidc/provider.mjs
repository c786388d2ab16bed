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
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const server = createServer({
  cert: readFileSync(config.cert),
  key: readFileSync(config.key),
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`https://${config.issuerHost ?? '127.0.0.1'}:${port}`, {
    clients: config.clients ?? [],
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      dPoP: {
        enabled: true,
        ...(config.dpopNonce ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}),
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
  server.on('request', provider.callback());

  writeFileSync(`${config.portFile}.tmp`, `${port}\n`);
  renameSync(`${config.portFile}.tmp`, config.portFile);
});
