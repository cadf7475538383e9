import { MongoClient } from 'mongodb';
import { mongoClientOptions } from '../../read-store/mongodb/mongodb-read-store';
import { describeKeyStoreContract } from './key-store.contract';
import { MongoKeyStore } from './mongodb-key-store';

// Runs against a real MongoDB replica set when MONGODB_URL is set (rotation runs in a transaction, which needs one), as
// the read store's contract does.
const url = process.env['MONGODB_URL'];

if (url) {
  let run = 0;
  describeKeyStoreContract('mongodb', () => {
    const database = `reglament_keys_contract_${process.pid}_${++run}`;
    return {
      open: (master) => MongoKeyStore.open({ url, database }, master),
      cleanup: async () => {
        const client = new MongoClient(url, mongoClientOptions(url));
        try {
          await client.db(database).dropDatabase();
        } finally {
          await client.close();
        }
      },
    };
  });
} else {
  describe.skip('mongodb key store contract — skipped: MONGODB_URL not set', () => {
    it('runs the key store contract against MongoDB', () => undefined);
  });
}
