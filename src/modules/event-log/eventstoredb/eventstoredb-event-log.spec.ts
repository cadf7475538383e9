import { describeEventLogContract } from '../event-log.contract';
import { MAX_APPEND_BYTES, openEventStoreDbEventLog } from './eventstoredb-event-log';

// Runs against a real EventStoreDB / KurrentDB when EVENTSTORE_URL is set (e.g. esdb://localhost:2113?tls=false, or the
// compose stack's: README "Runtime shapes", from the host).
// This is the test of the adapter against the server; eventstoredb-fault-harness.spec.ts only tests our handling of faults.
const url = process.env['EVENTSTORE_URL'];

if (url) {
  // The server's default MaxAppendSize is the adapter's limit (KurrentDB v25.0: 1 MiB).
  describeEventLogContract('eventstoredb', async () => openEventStoreDbEventLog({ connectionString: url }), { maxAppendBytes: MAX_APPEND_BYTES });
} else {
  describe.skip('eventstoredb event log contract — skipped: EVENTSTORE_URL not set', () => {
    it('runs the event log contract against EventStoreDB', () => undefined);
  });
}
