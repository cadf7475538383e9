/**
 * The second half of a tree rebuild, on its own thread: the calling thread reads the events and hands over their
 * leaves (32 bytes each, in log order); this thread hashes them (RFC 9162, as merkle.ts hashLeaf / hashChildren),
 * stores every node and commits, so reading and hashing run on two cores instead of one after the other. It holds
 * the log's write lock from before the first event is read until its commit: nothing can append meanwhile, and a
 * rebuild that stops half-way (error, kill, power loss) commits nothing, leaving the tree it started from.
 *
 * The calling thread waits synchronously (Atomics.wait on a shared counter the builder bumps with every message):
 * rebuild() stays a plain call, as the CLI, start-up and tests use it.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

// Plain JS: it runs in a worker thread, also under jest (no TypeScript loader there). Nodes are numbered in
// post-order (merkle.ts nodePosition): a build from leaf 0 appends them in order, each leaf then the subtrees it
// completes. The connection is set up as commit-writer.ts sets up the writer's (WAL, synchronous=FULL, one fsync).
const BUILDER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { hash: sha256 } = require('node:crypto');
const Database = require(workerData.driver);
const port = workerData.port;
const counter = new Int32Array(workerData.signal);
function tell(message) {
  port.postMessage(message);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}
// counter[1]: pages of leaves built, so the reading thread never runs far ahead (memory); set past any count on a
// failure, so it never waits for pages that will not be built.
function pageBuilt() {
  Atomics.add(counter, 1, 1);
  Atomics.notify(counter, 1);
}
function failed(error) {
  Atomics.store(counter, 1, 0x3fffffff);
  Atomics.notify(counter, 1);
  return { error: String((error && error.message) || error), code: error && error.code };
}
let db = null;
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.exec('BEGIN IMMEDIATE');
  db.exec('DELETE FROM tree_nodes');
  tell({ ready: true });
} catch (error) {
  try { if (db) db.close(); } catch {}
  db = null;
  tell(failed(error));
  port.close();
}
const BATCH = 200;
const putNodes = db && db.prepare('INSERT INTO tree_nodes (pos, hash) VALUES ' + Array(BATCH).fill('(?, ?)').join(', '));
const putNode = db && db.prepare('INSERT INTO tree_nodes (pos, hash) VALUES (?, ?)');
const pending = [];
let pos = 0;
function put(hash) {
  pending.push(pos++, hash);
  if (pending.length === BATCH * 2) { putNodes.run(pending); pending.length = 0; }
}
// The right edge: edge[level] is the left node at that level still waiting for its sibling.
const edge = [];
const leafInput = Buffer.alloc(33);
const nodeInput = Buffer.alloc(65);
nodeInput[0] = 1;
let index = 0;
function addLeaves(bytes) {
  for (let at = 0; at < bytes.length; at += 32) {
    leafInput.set(bytes.subarray(at, at + 32), 1);
    let hash = sha256('sha256', leafInput, 'buffer');
    put(hash);
    let level = 0;
    for (let i = index; i % 2 === 1; i = (i - 1) / 2) {
      nodeInput.set(edge[level], 1);
      nodeInput.set(hash, 33);
      hash = sha256('sha256', nodeInput, 'buffer');
      level++;
      put(hash);
    }
    edge[level] = hash;
    index++;
  }
}
// MTH of the whole tree from its right edge (RFC 9162 §2.1.1): the peaks folded right to left.
function root() {
  let acc = null;
  for (let level = 0; level < edge.length; level++) {
    if (edge[level] === undefined || !((index >> level) & 1)) continue;
    if (acc === null) acc = edge[level];
    else { nodeInput.set(edge[level], 1); nodeInput.set(acc, 33); acc = sha256('sha256', nodeInput, 'buffer'); }
  }
  return acc;
}
if (db) port.on('message', (message) => {
  try {
    if (message.leaves) {
      addLeaves(Buffer.from(message.leaves));
      pageBuilt();
    }
    else if (message.commit) {
      for (let i = 0; i < pending.length; i += 2) putNode.run(pending[i], pending[i + 1]);
      db.exec('COMMIT');
      db.close();
      tell({ committed: index, root: root() });
      port.close();
    } else if (message.abort) {
      db.exec('ROLLBACK');
      db.close();
      tell({ aborted: true });
      port.close();
    }
  } catch (error) {
    try { if (db.inTransaction) db.exec('ROLLBACK'); db.close(); } catch {}
    tell(failed(error));
    port.close();
  }
});
`;

type BuilderAnswer =
  | { ready: true }
  | { committed: number; root: Uint8Array | null }
  | { aborted: true }
  | { error: string; code?: string };

/** How long the calling thread waits for one answer before it gives the builder up (a build is never this slow). */
const ANSWER_TIMEOUT_MS = 10 * 60_000;
/** Pages handed over and not yet built, at most (a page is what the caller hands over at once: 5,000 leaves). */
const MAX_PAGES_AHEAD = 16;

export class TreeBuilder {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  /** [0]: answers posted by the builder; [1]: pages of leaves it has built. */
  private readonly counter = new Int32Array(new SharedArrayBuffer(8));
  private pagesSent = 0;
  private finished = false;

  /** Starts the builder and waits until it holds the write lock with the old tree deleted (in its transaction). */
  constructor(file: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(BUILDER_SOURCE, {
      eval: true,
      workerData: { file, driver: require.resolve('better-sqlite3'), port: port2, signal: this.counter.buffer },
      transferList: [port2],
    });
    this.worker.unref();
    this.expect('ready');
  }

  /** Leaves in log order, 32 bytes each; the buffer is handed over (not copied), so the caller must not reuse it. */
  add(leaves: Uint8Array): void {
    // At most MAX_PAGES_AHEAD pages wait for the builder: reading is faster than building, and a large log's leaves
    // would otherwise pile up in memory (32 bytes each) until the builder caught up.
    for (let built = Atomics.load(this.counter, 1); this.pagesSent - built >= MAX_PAGES_AHEAD;) {
      if (Atomics.wait(this.counter, 1, built, ANSWER_TIMEOUT_MS) === 'timed-out') this.giveUp();
      built = Atomics.load(this.counter, 1);
    }
    this.pagesSent++;
    const owned = leaves.byteOffset === 0 && leaves.byteLength === leaves.buffer.byteLength;
    const buffer = owned ? leaves.buffer : leaves.slice().buffer;
    this.port.postMessage({ leaves: buffer }, [buffer as ArrayBuffer]);
  }

  /** Stores the last nodes and commits (one fsync); the leaves the builder committed and the root it computed. */
  commit(): { leaves: number; root: Uint8Array | null } {
    this.port.postMessage({ commit: true });
    const answer = this.expect('committed');
    return { leaves: answer.committed, root: answer.root && Buffer.from(answer.root) };
  }

  /** Rolls the build back: the tree stays as it was before the build. Never throws (it runs on a failure path). */
  abort(): void {
    if (this.finished) return;
    try {
      this.port.postMessage({ abort: true });
      this.expect('aborted');
    } catch {
      // The thread is gone or stuck: terminating it drops its connection, and SQLite rolls the transaction back.
      void this.worker.terminate();
    }
  }

  private expect<K extends 'ready' | 'committed' | 'aborted'>(kind: K): Extract<BuilderAnswer, Record<K, unknown>> {
    const answer = this.next();
    if ('error' in answer) {
      this.finished = true;
      throw Object.assign(new Error(`the tree rebuild failed: ${answer.error}`), { code: answer.code });
    }
    if (!(kind in answer)) throw new Error(`the tree builder answered ${Object.keys(answer)[0]}, expected ${kind}`);
    if (kind !== 'ready') {
      this.finished = true;
      this.port.close();
    }
    return answer as Extract<BuilderAnswer, Record<K, unknown>>;
  }

  private next(): BuilderAnswer {
    for (;;) {
      const seen = Atomics.load(this.counter, 0);
      const received = receiveMessageOnPort(this.port);
      if (received) return received.message as BuilderAnswer;
      if (Atomics.wait(this.counter, 0, seen, ANSWER_TIMEOUT_MS) === 'timed-out') this.giveUp();
    }
  }

  private giveUp(): never {
    void this.worker.terminate();
    this.finished = true;
    throw new Error(`the tree builder did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
  }
}
