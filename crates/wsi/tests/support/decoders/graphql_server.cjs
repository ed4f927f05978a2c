// A GraphQL over WebSocket server: the npm `graphql-ws` package (protocol
// graphql-transport-ws) on `ws`, with a `graphql` schema, for crates/wsi/tests/decoders.rs.
//
//   NODE_PATH=DIR/node_modules node graphql_server.cjs
//
// Listens on 127.0.0.1, path /graphql, on a free port, and prints one JSON line per event on
// stdout: first {"event":"listening","port":N}, then what each client did (its
// connection_init payload, each subscribe with its id and query, each complete) as graphql-ws
// reports it. Exits when stdin closes.
//
// The schema: `Query.hello`, `Subscription.count(to: Int!)` streaming 1..to (20 ms apart),
// and `Subscription.fail`, whose one event's resolver throws (a `next` carrying `errors`).
// A subscription to a field that does not exist gets graphql-ws's `error` message.
const { WebSocketServer } = require('ws');
const { useServer } = require('graphql-ws/use/ws');
const {
  GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull,
} = require('graphql');

// Returns nothing: graphql-ws takes what its callbacks return as a verdict.
const report = (event) => {
  process.stdout.write(JSON.stringify(event) + '\n');
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { hello: { type: GraphQLString, resolve: () => 'world' } },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      count: {
        type: GraphQLInt,
        args: { to: { type: new GraphQLNonNull(GraphQLInt) } },
        subscribe: async function* (_, { to }) {
          for (let i = 1; i <= to; i++) {
            await sleep(20);
            yield { count: i };
          }
        },
      },
      fail: {
        type: GraphQLInt,
        subscribe: async function* () {
          yield { fail: 1 };
        },
        resolve: () => {
          throw new Error('fail resolver failed on purpose');
        },
      },
    },
  }),
});

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/graphql' });
useServer(
  {
    schema,
    onConnect: (ctx) => {
      report({ event: 'connect', protocol: ctx.extra.socket.protocol, payload: ctx.connectionParams ?? null });
      return true;
    },
    onSubscribe: (_ctx, id, payload) => {
      report({ event: 'subscribe', id, query: payload.query, variables: payload.variables ?? null });
    },
    onComplete: (_ctx, id) => report({ event: 'complete', id }),
    onError: (_ctx, id, _payload, errors) => report({ event: 'error', id, errors: errors.map((e) => e.message) }),
  },
  server,
);
server.on('listening', () => report({ event: 'listening', port: server.address().port }));
server.on('connection', (socket) => {
  socket.on('close', (code, reason) => report({ event: 'closed', code, reason: reason.toString() }));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
