// graphql-http's GraphQL-over-HTTP server audit against a running gateway.
//
// node http_audit.mjs URL TOKEN
//   URL: the GraphQL endpoint (http://127.0.0.1:PORT/graphql); TOKEN: a bearer token sent with every request
//   (some audits introspect, which the gateway keeps for authenticated callers).
// Prints one JSON line: [{id, name, status, reason?}, …], one entry per audit, in the audit's order.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node http_audit.mjs URL TOKEN');
  process.exit(2);
}

// The audit's own headers are kept; the credential is added to each of them.
function authenticatedFetch(input, init = {}) {
  const headers = new Headers(init.headers ?? {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: authenticatedFetch });
const report = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    entry.reason = result.reason;
    entry.responseStatus = result.response?.status;
    entry.responseContentType = result.response?.headers?.get('content-type') ?? null;
  }
  report.push(entry);
}
console.log(JSON.stringify(report));
