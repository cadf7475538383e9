// One-shot MongoDB setup for the production compose file (service mongo-setup), run by mongosh as the root user.
// Idempotent: initiates the single-node replica set (named mongo:27017, the name the other containers resolve),
// waits until this node is PRIMARY, and creates (or updates) the application's user with readWrite on its database only.
const database = process.env.MONGODB_DATABASE || 'reglament';
try {
  rs.status();
} catch (error) {
  if (error.codeName !== 'NotYetInitialized') throw error;
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongo:27017' }] });
}
for (let i = 0; i < 120 && !db.hello().isWritablePrimary; i++) sleep(1000);
if (!db.hello().isWritablePrimary) throw new Error('this node did not become PRIMARY within 120 s');
const admin = db.getSiblingDB('admin');
const roles = [{ role: 'readWrite', db: database }];
if (admin.getUser('reglament')) admin.updateUser('reglament', { pwd: process.env.MONGO_APP_PASSWORD, roles });
else admin.createUser({ user: 'reglament', pwd: process.env.MONGO_APP_PASSWORD, roles });
print(`MongoDB: replica set rs0 PRIMARY; user reglament has readWrite on ${database}`);
