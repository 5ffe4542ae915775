// The gateway in an Apollo supergraph: a small "reviews" subgraph (@apollo/subgraph on @apollo/server) that
// extends Booking by its key, composed with the gateway's own `_service { sdl }` (@apollo/composition), served by
// @apollo/gateway on @apollo/server. The router forwards each caller's Authorization header to the subgraphs and
// copies the gateway's `extensions.freshness` into its own response.
//
//   node supergraph.mjs GATEWAY_GRAPHQL_URL SPEC_JSON
//
// SPEC_JSON: {"sdlToken": "...", "reviews": [{"id", "bookingId", "stars", "text"}],
//             "requests": [{"name", "query", "variables", "token"}]}
// Prints one JSON document: the composition's errors and hints, and each request's response by name.
import { composeServices } from '@apollo/composition';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const [gatewayUrl, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson);

const REVIEWS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  "What a customer said about a booking."
  type Review {
    id: ID!
    stars: Int!
    text: String!
    "The booking reviewed: its fields come from the gateway's _entities."
    booking: Booking
  }

  type Booking @key(fields: "id") {
    id: ID!
    "The booking's review, if it has one."
    review: Review
  }

  type Query {
    "Every review, oldest first."
    reviews: [Review!]!
  }
`;

async function startReviews() {
  const byBooking = new Map(spec.reviews.map((review) => [review.bookingId, review]));
  const asReview = (review) => ({ ...review, booking: { __typename: 'Booking', id: review.bookingId } });
  const resolvers = {
    Query: { reviews: () => spec.reviews.map(asReview) },
    Booking: {
      __resolveReference: (booking) => booking,
      review: (booking) => (byBooking.has(booking.id) ? asReview(byBooking.get(booking.id)) : null),
    },
  };
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs: parse(REVIEWS_SDL), resolvers }) });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return { server, url };
}

async function gatewaySdl() {
  const response = await fetch(gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.sdlToken}` },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = await response.json();
  if (!body.data?._service) throw new Error(`no SDL from the gateway: ${JSON.stringify(body)}`);
  return body.data._service.sdl;
}

// Each subgraph request carries the caller's own credential; the gateway's freshness report is kept for the
// response (several fetches of one request merge by location and kind of data).
class CallerDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context.authorization) request.http.headers.set('authorization', context.authorization);
  }

  didReceiveResponse({ response, context }) {
    const freshness = response.extensions?.freshness;
    if (freshness && context.freshness) {
      for (const [location, kinds] of Object.entries(freshness)) {
        context.freshness[location] = { ...context.freshness[location], ...kinds };
      }
    }
    return response;
  }
}

const freshnessPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind !== 'single' || Object.keys(contextValue.freshness).length === 0) return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, freshness: contextValue.freshness };
      },
    };
  },
};

async function startRouter(supergraphSdl) {
  const gateway = new ApolloGateway({ supergraphSdl, buildService: ({ url }) => new CallerDataSource({ url }) });
  const server = new ApolloServer({ gateway, plugins: [freshnessPlugin], includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => ({ authorization: req.headers.authorization, freshness: {} }),
  });
  return { server, url };
}

async function ask(routerUrl, { query, variables, token }) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(routerUrl, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: await response.json() };
}

const reviews = await startReviews();
let router = null;
try {
  const composed = composeServices([
    { name: 'gateway', typeDefs: parse(await gatewaySdl()), url: gatewayUrl },
    { name: 'reviews', typeDefs: parse(REVIEWS_SDL), url: reviews.url },
  ]);
  const composition = {
    errors: (composed.errors ?? []).map((error) => error.message),
    hints: (composed.hints ?? []).map((hint) => hint.toString()),
  };
  const responses = {};
  if (composition.errors.length === 0) {
    router = await startRouter(composed.supergraphSdl);
    for (const request of spec.requests) responses[request.name] = await ask(router.url, request);
  }
  console.log(JSON.stringify({ composition, responses }));
} finally {
  if (router) await router.server.stop();
  await reviews.server.stop();
}
