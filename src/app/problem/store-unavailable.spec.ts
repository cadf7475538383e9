/**
 * MongoDB not answering, as the real driver reports it (no server listens on the port: the driver's own server
 * selection fails), is answered 503 store-unavailable with Retry-After, not a 500 "unhandled error". Before, every such
 * error under a read model or the key store reached callers as a 500.
 */
import { createServer, type Server } from 'node:net';
import { MongoClient, MongoServerError } from 'mongodb';
import { toProblem } from './problem.filter';
import { mongoUnavailable } from '../../shared/problem/store-unavailable';

async function errorOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('MongoDB not answering (the real driver, no server)', () => {
  let closedPort: number;
  let dropping: Server;
  let droppingPort: number;

  beforeAll(async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise((resolve) => probe.close(resolve));
    // Accepts and drops every connection: a server that goes away mid-handshake.
    dropping = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    droppingPort = (dropping.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => dropping.close(resolve));
  });

  it.each([
    ['no server listening', () => closedPort],
    ['a server dropping every connection', () => droppingPort],
  ])('%s: a read is answered 503 store-unavailable with Retry-After', async (_, port) => {
    const client = new MongoClient(`mongodb://127.0.0.1:${port()}/?directConnection=true`, {
      serverSelectionTimeoutMS: 300,
    });
    try {
      const error = await errorOf(() => client.db('reglament').collection('cases').findOne({}));
      expect(mongoUnavailable(error)).toBe(true);
      const { problem, headers } = toProblem(error, '/api/cases/x');
      expect(problem).toMatchObject({ status: 503, type: expect.stringContaining('store-unavailable') });
      expect(problem.detail).not.toContain('127.0.0.1');
      expect(headers).toEqual({ 'retry-after': '5' });
    } finally {
      await client.close();
    }
  });

  it('a refusal by the server (a duplicate key) is not taken for MongoDB not answering', () => {
    const duplicate = new MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key error', errorLabels: [] });
    expect(mongoUnavailable(duplicate)).toBe(false);
    expect(toProblem(duplicate).problem.status).toBe(500);
  });

  it("errors that are not the driver's are not either", () => {
    expect(mongoUnavailable(new Error('MongoNetworkError'))).toBe(false);
    expect(mongoUnavailable(Object.assign(new Error('x'), { name: 'MongoNetworkError' }))).toBe(false);
  });
});
