import { describeReadStoreContract } from '../read-store.contract';
import { MongoClient } from 'mongodb';
import { MONGO_CLIENT_DEFAULTS, mongoClientOptions, openMongoReadStore } from './mongodb-read-store';

// Runs against a real MongoDB replica set when MONGODB_URL is set (e.g. mongodb://localhost:27017/?replicaSet=rs0; for the
// compose stack from the host add directConnection=true and credentials: README "Runtime shapes").
const url = process.env['MONGODB_URL'];

if (url) {
  describeReadStoreContract('mongodb', async () =>
    openMongoReadStore({ url, database: `reglament_contract_${process.pid}` }),
  );
} else {
  describe.skip('mongodb read store contract — skipped: MONGODB_URL not set', () => {
    it('runs the read store contract against MongoDB', () => undefined);
  });
}

// No server needed: the client parses its options at construction and connects only on first use.
describe('mongodb client options', () => {
  it('waits out an election (30 s server selection, not 5 s), bounds a silent socket, and acknowledges writes by a majority', async () => {
    const url = 'mongodb://mongo:27017/?replicaSet=rs0';
    const client = new MongoClient(url, mongoClientOptions(url));
    try {
      expect(client.options).toMatchObject({
        serverSelectionTimeoutMS: 30_000,
        connectTimeoutMS: 10_000,
        socketTimeoutMS: 60_000,
        retryWrites: true,
        retryReads: true,
      });
      expect(client.options.writeConcern).toMatchObject({ w: 'majority' });
    } finally {
      await client.close();
    }
  });

  it('leaves to the URL what the URL sets', async () => {
    const url = 'mongodb://mongo:27017/?replicaSet=rs0&serverSelectionTimeoutMS=45000&w=1';
    expect(mongoClientOptions(url)).not.toHaveProperty('serverSelectionTimeoutMS');
    expect(mongoClientOptions(url)).not.toHaveProperty('w');
    const client = new MongoClient(url, mongoClientOptions(url));
    try {
      expect(client.options.serverSelectionTimeoutMS).toBe(45_000);
      expect(client.options.writeConcern).toMatchObject({ w: 1 });
      expect(client.options.socketTimeoutMS).toBe(MONGO_CLIENT_DEFAULTS.socketTimeoutMS);
    } finally {
      await client.close();
    }
  });
});
