// The Node peer of bench.dashboard: what a TypeScript team would build instead of the gateway, in front
// of the same data. Apollo Server 5 (startStandaloneServer), graphql 16, one DataLoader per relation built
// per request in the context function, better-sqlite3 reading the gateway's SQLite cache file read-only.
//
//   node bench/peer/server.mjs --database /path/cache.sqlite3 --port 8125
//   PEER_DATABASE=/path/cache.sqlite3 PEER_PORT=8125 node bench/peer/server.mjs
//   node bench/peer/server.mjs --database /path/cache.sqlite3 --port 8125 --log-sql   # statements on stderr
//
// Its schema is the part of the gateway's that the dashboard query (bench/queries.py) selects, with the
// gateway's type and field names; its answer's `data` is the gateway's, value for value (bench.dashboard and
// tests/test_bench_peer.py check it). For DASHBOARD_QUERY it runs the gateway's 7 statements: the page, one
// IN-list per relation (customers, services, resources, locations, revenue entries by booking) and the count.
// It serves no row scopes or permissions: there is no caller but the bench.

import { parseArgs } from "node:util";

import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import Database from "better-sqlite3";
import DataLoader from "dataloader";
import { GraphQLError } from "graphql";

const typeDefs = `#graphql
  scalar DateTime
  scalar Decimal

  interface Node {
    id: ID!
  }

  enum BookingSort {
    START_AT_ASC
    START_AT_DESC
    CREATED_AT_DESC
  }

  enum BookingStatus {
    PENDING
    CONFIRMED
    COMPLETED
    CANCELLED
    NO_SHOW
  }

  enum ResourceKind {
    STAFF
    ROOM
    EQUIPMENT
  }

  enum RevenueRole {
    ORIGINATING
    SERVICE
    SOLE
  }

  type Money {
    amount: Decimal!
    currency: String!
    minorUnits: Int!
  }

  type Location implements Node {
    id: ID!
    networkId: String!
    name: String!
    town: String!
    timezone: String!
    currency: String!
  }

  type Customer implements Node {
    id: ID!
    networkId: String!
    firstName: String!
    lastName: String!
    fullName: String!
    email: String
    phone: String
  }

  type Service implements Node {
    id: ID!
    networkId: String!
    name: String!
    category: String!
    durationMinutes: Int!
    price: Money!
    location: Location!
  }

  type Resource implements Node {
    id: ID!
    networkId: String!
    kind: ResourceKind!
    name: String!
    title: String!
    location: Location!
  }

  type RevenueShare {
    role: RevenueRole!
    sharePercent: Decimal!
    amount: Money!
    commission: Money!
    tax: Money!
    paymentStatus: String!
    location: Location!
  }

  type Booking implements Node {
    id: ID!
    networkId: String!
    status: BookingStatus!
    startAt: DateTime!
    endAt: DateTime!
    price: Money!
    notes: String!
    isCrossLocation: Boolean!
    version: Int!
    createdAt: DateTime!
    updatedAt: DateTime!
    customer: Customer!
    service: Service!
    resource: Resource
    serviceLocation: Location!
    originatingLocation: Location!
    revenueSplit: [RevenueShare!]!
  }

  type BookingEdge {
    cursor: String!
    node: Booking!
  }

  type PageInfo {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  type BookingConnection {
    edges: [BookingEdge!]!
    nodes: [Booking!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type Query {
    bookings(sort: BookingSort! = START_AT_ASC, first: Int = null): BookingConnection!
  }
`;

const DEFAULT_FIRST = 20;
const MAX_FIRST = 500;
// The gateway's sort orders: the name its cursors carry, the column and the direction (id breaks ties).
const SORTS = {
  START_AT_ASC: { name: "start_at", column: "start_at", direction: "ASC" },
  START_AT_DESC: { name: "start_at_desc", column: "start_at", direction: "DESC" },
  CREATED_AT_DESC: { name: "created_at_desc", column: "created_at", direction: "DESC" },
};
const MINOR_UNIT_EXPONENTS = { JPY: 0, KRW: 0, ISK: 0, BHD: 3, KWD: 3, JOD: 3, OMR: 3, TND: 3 };

// SQLAlchemy stores the cache's UTC times as "YYYY-MM-DD HH:MM:SS.ffffff"; the gateway prints Python's
// isoformat() of the aware datetime: "T", the fraction only when it is not zero, then "+00:00".
const STORED_UTC = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?(?:\+00:00|Z)?$/;

function isoDateTime(stored) {
  const match = STORED_UTC.exec(stored);
  if (match === null) throw new Error(`unexpected stored time ${JSON.stringify(stored)}`);
  const fraction = (match[3] ?? "").padEnd(6, "0");
  return `${match[1]}T${match[2]}${fraction === "000000" ? "" : `.${fraction}`}+00:00`;
}

// Python's str(Decimal(units).scaleb(-exponent)): exact, with exactly `exponent` decimals.
function decimalString(units, exponent) {
  if (exponent === 0) return String(units);
  const digits = String(Math.abs(units)).padStart(exponent + 1, "0");
  const sign = units < 0 ? "-" : "";
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

function money(minorUnits, currency) {
  const exponent = MINOR_UNIT_EXPONENTS[currency] ?? 2;
  return { amount: decimalString(minorUnits, exponent), currency, minorUnits };
}

function cursor(sort, row) {
  const raw = JSON.stringify([sort.name, [{ t: isoDateTime(row[sort.column]) }, row.id]]);
  return Buffer.from(raw).toString("base64url"); // unpadded, as the gateway strips "="
}

// One statement per IN-list length: better-sqlite3 prepares once, the cache keeps the prepared ones.
function inListStatements(db, sql) {
  const prepared = new Map();
  return (count) => {
    let statement = prepared.get(count);
    if (statement === undefined) {
      statement = db.prepare(sql.replace("(?)", `(${new Array(count).fill("?").join(",")})`));
      prepared.set(count, statement);
    }
    return statement;
  };
}

function byIdLoader(statements) {
  return new DataLoader(async (ids) => {
    const rows = new Map(statements(ids.length).all(ids).map((row) => [row.id, row]));
    return ids.map((id) => rows.get(id) ?? new Error(`no row ${id}`));
  });
}

function openCache(path, logSql) {
  // --log-sql: one "sql: ..." line on stderr per statement run (tests/test_bench_peer.py counts them).
  const verbose = logSql ? (sql) => process.stderr.write(`sql: ${sql.replace(/\s+/g, " ")}\n`) : undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true, verbose });
  const pages = {};
  for (const [key, sort] of Object.entries(SORTS)) {
    const order = `${sort.column} ${sort.direction}, id ${sort.direction}`;
    pages[key] = db.prepare(`SELECT * FROM bookings ORDER BY ${order} LIMIT ?`);
  }
  return {
    pages,
    count: db.prepare("SELECT count(*) AS total FROM bookings").pluck(),
    customers: inListStatements(db, "SELECT * FROM customers WHERE id IN (?)"),
    services: inListStatements(db, "SELECT * FROM services WHERE id IN (?)"),
    resources: inListStatements(db, "SELECT * FROM resources WHERE id IN (?)"),
    locations: inListStatements(db, "SELECT * FROM locations WHERE id IN (?)"),
    revenue: inListStatements(db, "SELECT * FROM revenue_entries WHERE booking_id IN (?) ORDER BY booking_id, id"),
  };
}

// Built per request in the context function, so nothing is cached across requests.
function loaders(cache) {
  return {
    customer: byIdLoader(cache.customers),
    service: byIdLoader(cache.services),
    resource: byIdLoader(cache.resources),
    location: byIdLoader(cache.locations),
    revenueByBooking: new DataLoader(async (bookingIds) => {
      const entries = new Map(bookingIds.map((id) => [id, []]));
      for (const entry of cache.revenue(bookingIds.length).all(bookingIds)) entries.get(entry.booking_id).push(entry);
      return bookingIds.map((id) => entries.get(id));
    }),
  };
}

const resolvers = {
  Query: {
    bookings(_parent, { sort, first }, { cache }) {
      const size = first ?? DEFAULT_FIRST;
      if (size < 1 || size > MAX_FIRST) {
        throw new GraphQLError(`first must be in 1..${MAX_FIRST}`, { extensions: { code: "INVALID_INPUT" } });
      }
      const order = SORTS[sort];
      const rows = cache.pages[sort].all(size + 1);
      return { order, rows: rows.slice(0, size), hasNextPage: rows.length > size };
    },
  },
  BookingConnection: {
    edges: ({ order, rows }) => rows.map((row) => ({ cursor: cursor(order, row), node: row })),
    nodes: ({ rows }) => rows,
    pageInfo: ({ order, rows, hasNextPage }) => ({
      hasNextPage,
      hasPreviousPage: false,
      startCursor: rows.length ? cursor(order, rows[0]) : null,
      endCursor: rows.length ? cursor(order, rows[rows.length - 1]) : null,
    }),
    totalCount: (_connection, _args, { cache }) => cache.count.get(),
  },
  Booking: {
    id: (row) => `Booking:${row.id}`,
    networkId: (row) => row.id,
    status: (row) => row.status.toUpperCase(),
    startAt: (row) => isoDateTime(row.start_at),
    endAt: (row) => isoDateTime(row.end_at),
    price: (row) => money(row.price_minor, row.currency),
    isCrossLocation: (row) => row.service_location_id !== row.originating_location_id,
    createdAt: (row) => isoDateTime(row.created_at),
    updatedAt: (row) => isoDateTime(row.updated_at),
    customer: (row, _args, { loaders }) => loaders.customer.load(row.customer_id),
    service: (row, _args, { loaders }) => loaders.service.load(row.service_id),
    resource: (row, _args, { loaders }) => (row.resource_id ? loaders.resource.load(row.resource_id) : null),
    serviceLocation: (row, _args, { loaders }) => loaders.location.load(row.service_location_id),
    originatingLocation: (row, _args, { loaders }) => loaders.location.load(row.originating_location_id),
    revenueSplit: (row, _args, { loaders }) => loaders.revenueByBooking.load(row.id),
  },
  Customer: {
    id: (row) => `Customer:${row.id}`,
    networkId: (row) => row.id,
    firstName: (row) => row.first_name,
    lastName: (row) => row.last_name,
    fullName: (row) => `${row.first_name} ${row.last_name}`,
  },
  Service: {
    id: (row) => `Service:${row.id}`,
    networkId: (row) => row.id,
    durationMinutes: (row) => row.duration_minutes,
    price: (row) => money(row.price_minor, row.currency),
    location: (row, _args, { loaders }) => loaders.location.load(row.location_id),
  },
  Resource: {
    id: (row) => `Resource:${row.id}`,
    networkId: (row) => row.id,
    kind: (row) => row.kind.toUpperCase(),
    location: (row, _args, { loaders }) => loaders.location.load(row.location_id),
  },
  Location: {
    id: (row) => `Location:${row.id}`,
    networkId: (row) => row.id,
  },
  RevenueShare: {
    role: (entry) => entry.role.toUpperCase(),
    sharePercent: (entry) => decimalString(entry.share_bp, 2),
    amount: (entry) => money(entry.amount_minor, entry.currency),
    commission: (entry) => money(entry.commission_minor, entry.currency),
    tax: (entry) => money(entry.tax_minor, entry.currency),
    paymentStatus: (entry) => entry.payment_status,
    location: (entry, _args, { loaders }) => loaders.location.load(entry.location_id),
  },
};

function options() {
  const { values } = parseArgs({
    options: {
      database: { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      "log-sql": { type: "boolean", default: false },
    },
  });
  const database = values.database ?? process.env.PEER_DATABASE;
  if (!database) throw new Error("pass --database PATH (or PEER_DATABASE): the gateway's SQLite cache file");
  return {
    database,
    port: Number(values.port ?? process.env.PEER_PORT ?? 4000),
    host: values.host ?? process.env.PEER_HOST ?? "127.0.0.1",
    logSql: values["log-sql"],
  };
}

async function main() {
  const { database, port, host, logSql } = options();
  const cache = openCache(database, logSql);
  const server = new ApolloServer({ typeDefs, resolvers });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host },
    context: async () => ({ cache, loaders: loaders(cache) }),
  });
  console.log(`peer ready at ${url} on ${database}`);
  const stop = () => server.stop().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

await main();
