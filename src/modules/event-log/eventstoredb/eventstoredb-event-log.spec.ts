import { describeEventLogContract } from '../event-log.contract';
import { openEventStoreDbEventLog } from './eventstoredb-event-log';

// Runs against a real EventStoreDB / KurrentDB when EVENTSTORE_URL is set (e.g. esdb://localhost:2113?tls=false).
const url = process.env['EVENTSTORE_URL'];

if (url) {
  describeEventLogContract('eventstoredb', async () => openEventStoreDbEventLog({ connectionString: url }));
} else {
  describe.skip('eventstoredb event log contract — skipped: EVENTSTORE_URL not set', () => {
    it('runs the event log contract against EventStoreDB', () => undefined);
  });
}
