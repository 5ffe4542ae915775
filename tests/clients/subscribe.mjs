// Subscribe to the gateway with a real client, take COUNT results, leave, and print them as JSON.
//
//   node subscribe.mjs CLIENT URL TOKEN QUERY VARIABLES_JSON COUNT
//
// CLIENT: graphql-ws (graphql-transport-ws over the `ws` package), graphql-sse (distinct connections mode),
// apollo (@apollo/client's HttpLink: a multipart HTTP subscription). TOKEN "-" sends no credential.
// Prints {"results": [...]} once COUNT results came (the client then unsubscribes and the process exits),
// {"error": {...}} if the client failed (a refusal), and exits 2 with {"timeout": ...} after 30 s.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createClient as createSSEClient } from "graphql-sse";
import { createClient as createWSClient } from "graphql-ws";
import WebSocket from "ws";

const TIMEOUT_MS = 30_000;
const [client, url, token, query, variablesJson, countText] = process.argv.slice(2);
const variables = JSON.parse(variablesJson);
const count = Number(countText);
const authorization = token === "-" ? {} : { Authorization: `Bearer ${token}` };

// Each client as an async iterable of execution results; leaving the loop unsubscribes.
function graphqlWs() {
  const ws = createWSClient({
    url: url.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: authorization,
    retryAttempts: 0,
  });
  return { results: ws.iterate({ query, variables }), dispose: () => ws.dispose() };
}

function graphqlSse() {
  const sse = createSSEClient({
    url: url + "/graphql",
    singleConnection: false,
    headers: authorization,
    retryAttempts: 0,
  });
  return { results: sse.iterate({ query, variables }), dispose: () => sse.dispose() };
}

function apollo() {
  const apolloClient = new ApolloClient({
    link: new HttpLink({ uri: url + "/graphql", headers: authorization }),
    cache: new InMemoryCache(),
  });
  const observable = apolloClient.subscribe({ query: gql(query), variables });
  async function* results() {
    const queue = [];
    let wake = () => {};
    const subscription = observable.subscribe({
      next: (value) => {
        queue.push(value.error ? { thrown: value.error } : { value: { data: value.data } });
        wake();
      },
      error: (error) => {
        queue.push({ thrown: error });
        wake();
      },
    });
    try {
      for (;;) {
        while (queue.length) {
          const item = queue.shift();
          if (item.thrown) throw item.thrown;
          yield item.value;
        }
        await new Promise((resolve) => (wake = resolve));
      }
    } finally {
      subscription.unsubscribe();
    }
  }
  return { results: results(), dispose: () => apolloClient.stop() };
}

function describe(error) {
  return {
    name: error?.name ?? typeof error,
    message: String(error?.message ?? error?.reason ?? ""),
    // graphql-sse's NetworkError and Apollo's ServerError carry the response; graphql-ws rejects with the close.
    status: error?.response?.status ?? error?.statusCode ?? null,
    code: error?.code ?? null,
    // Apollo Client reads a graphql-response+json refusal (the 401's body) as GraphQL errors, not a ServerError.
    graphqlCode: error?.errors?.[0]?.extensions?.code ?? null,
  };
}

const clients = { "graphql-ws": graphqlWs, "graphql-sse": graphqlSse, apollo };
const { results, dispose } = clients[client]();
const received = [];
const timer = setTimeout(() => {
  console.log(JSON.stringify({ timeout: TIMEOUT_MS, results: received }));
  process.exit(2);
}, TIMEOUT_MS);
let outcome;
try {
  for await (const result of results) {
    received.push(result);
    if (received.length >= count) break;
  }
  outcome = { results: received };
} catch (error) {
  outcome = { error: describe(error), results: received };
}
clearTimeout(timer);
dispose();
console.log(JSON.stringify(outcome));
process.exit(0);
