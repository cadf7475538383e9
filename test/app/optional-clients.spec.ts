/**
 * The EventStoreDB client, the MongoDB driver and exceljs are loaded when first used, not by every start
 * (src/modules/event-log/open-event-log.ts, read-store/open-read-store.ts, personal-data/keys/open-key-store.ts,
 * shared/http/table-export.ts). Here each shape's opening is taken from the real opener to the real client, pointed
 * at a port where nothing listens: the answer must be that client's own refusal of the address, never a module that
 * could not be loaded (as it once was under jest, which resolves no `.js` path to its `.ts` source by itself).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEventLog } from '../../src/modules/event-log/open-event-log';
import { EventLogUnavailableError } from '../../src/modules/event-log/event-log.errors';
import { openReadStore } from '../../src/modules/read-store/open-read-store';
import { openKeyStore } from '../../src/modules/personal-data/keys/open-key-store';
import { exportTable, fromArray } from '../../src/shared/http/table-export';

// Nothing listens on port 1; the driver gives up choosing a server after half a second.
const MONGO = { kind: 'mongodb' as const, url: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500', database: 'x' };

describe('the clients a deployment may not use are loaded on first use', () => {
  it('EVENT_STORE=eventstoredb: the EventStoreDB client is loaded and refuses the unreachable server', async () => {
    await expect(openEventLog({ kind: 'eventstoredb', url: 'esdb://127.0.0.1:1?tls=false' })).rejects.toBeInstanceOf(
      EventLogUnavailableError,
    );
  });

  it('READ_STORE=mongodb: the MongoDB driver is loaded and refuses the unreachable server', async () => {
    await expect(openReadStore(MONGO)).rejects.toMatchObject({ name: 'MongoServerSelectionError' });
  });

  it("READ_STORE=mongodb: the key store's MongoDB adapter is loaded and refuses the unreachable server", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'reglament-optional-'));
    try {
      await expect(
        openKeyStore({ dataDir, readStore: MONGO, personalData: {} }, Buffer.alloc(32, 7)),
      ).rejects.toMatchObject({ name: 'MongoServerSelectionError' });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a spreadsheet export loads exceljs and writes an XLSX file (a ZIP: it starts with PK)', async () => {
    const headers: Record<string, string> = {};
    const file = exportTable(
      { header: (name: string, value: string) => (headers[name] = value) },
      { format: 'xlsx', lang: 'ru' },
      'rows',
      [{ heading: { ru: 'Ключ', kk: 'Кілт', en: 'Key' }, value: (row: { key: string }) => row.key }],
      fromArray([{ key: 'a' }, { key: 'b' }]),
    );
    expect(headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const chunks: Buffer[] = [];
    for await (const chunk of file.getStream()) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).subarray(0, 2).toString('latin1')).toBe('PK');
  });
});
