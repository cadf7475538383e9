import { describeReadStoreContract } from '../read-store.contract';
import { openMongoReadStore } from './mongodb-read-store';

// Runs against a real MongoDB replica set when MONGODB_URL is set (e.g. mongodb://localhost:27017/?replicaSet=rs0).
const url = process.env['MONGODB_URL'];

if (url) {
  describeReadStoreContract('mongodb', async () => openMongoReadStore({ url, database: `reglament_contract_${process.pid}` }));
} else {
  describe.skip('mongodb read store contract — skipped: MONGODB_URL not set', () => {
    it('runs the read store contract against MongoDB', () => undefined);
  });
}
