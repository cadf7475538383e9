import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { AppendResult, ExpectedRevision } from '../event-log.port';
import { runnableSource } from '../../../shared/runnable-source';
import { leafData } from '../../transparency/domain/log-leaf';

/** One append of a group, as the writer thread receives it: events already validated and serialised. */
export interface GroupAppend {
  streamId: string;
  expected: ExpectedRevision;
  /** leaf: the event's leaf data, 64 hex digits (event-validation.ts PreparedEvent). */
  events: { id: string; type: string; data: string; metadata: string; leaf: string | null }[];
}

/** Why one append of a group was refused, in a shape that crosses the thread boundary. */
export type AppendRefusal =
  | { kind: 'wrong-revision'; streamId: string; expected: ExpectedRevision; actual: number | 'no_stream' }
  | { kind: 'invalid'; path: string; problem: string }
  | { kind: 'failed'; message: string; code?: string };

export type AppendOutcome = { ok: AppendResult } | { refused: AppendRefusal };

/**
 * Where the Merkle tree's nodes are stored: `with` the events, in their transaction (a lone append committed on the
 * calling thread, only onto a tree that holds the whole log); `behind` the events, in a transaction of their own right
 * after the events' commit is acknowledged (the writer thread: the groups waiting for it no longer queue behind the
 * tree), which brings the tree up to the log's head whatever process wrote the events; `none` for the benchmark's
 * baseline.
 */
export type TreeMode = 'with' | 'behind' | 'none';

// One connection's commits: each group's appends checked and savepointed on their own, in one transaction (one fsync,
// synchronous=FULL), and the Merkle tree extended with the appends that held. The same source runs in the writer
// thread and, for a lone append, on the calling thread (InlineCommitter): one implementation, so both commit with the
// same checks, order and durability. treeProgress (writer thread only): a shared [leaves stored, last store failed].
// loadLeafData: gives log-leaf.ts leafData, the one function that makes a stored event a leaf (the builder's and
// verify's), for the leaves of events another writer committed; loaded before the first tree transaction.
const COMMITTER_SOURCE = `(function createCommitter(db, treeMode, treeProgress, loadLeafData) {
const lastRevision = db.prepare('SELECT revision FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1');
const byId = db.prepare('SELECT stream_id, revision, position, type, metadata FROM events WHERE id = ?');
const insert = db.prepare('INSERT INTO events (id, stream_id, revision, type, data, metadata, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
// The log's Merkle tree (RFC 9162, src/modules/transparency/domain/merkle.ts appendLeafHash), kept as its perfect
// subtrees in the same transaction as the events: leaf i is event position i + 1; each leaf completes about one node.
const { hash: sha256 } = require('node:crypto');
const NODE_BATCH = 100;
const getNode = db.prepare('SELECT hash FROM tree_nodes WHERE pos = ?').pluck();
const storedNodes = db.prepare('SELECT coalesce(max(pos) + 1, 0) FROM tree_nodes').pluck();
const logSize = db.prepare('SELECT coalesce(max(position), 0) FROM events').pluck();
const eventsBetween = db.prepare('SELECT position, id, stream_id, type, data, metadata FROM events WHERE position > ? AND position <= ? ORDER BY position');
function popcount(n) { let c = 0; for (let v = n; v > 0; v = Math.floor(v / 2)) c += v % 2; return c; }
// Nodes are numbered in post-order: leaf i at 2i - popcount(i), then each subtree it completes, one after another.
function nodePosition(level, index) { const last = (index + 1) * 2 ** level - 1; return 2 * last - popcount(last) + level; }
// The tree's right edge, kept across transactions: edge[level] is the left node at that level still waiting for its
// sibling, in a tree of edgeLeaves leaves. Read back from the table when unknown (first commit, a failed commit).
let edge = null;
let edgeLeaves = -1;
// 'behind': the leaves this writer committed whose nodes it has not stored yet, ascending: pendingAt[k] is the leaf
// index (event position - 1) of pendingLeaf[k]. Another process's commits may sit between them.
const pendingAt = [];
const pendingLeaf = [];
let leafData = null;
// Time in tree transactions since the last commit's report.
let treeMs = 0;
const nodesOf = (leaves) => 2 * leaves - popcount(leaves);
// The leaves of a tree of \`nodes\` nodes (merkle.ts leavesOfNodeCount), -1 when no whole tree has that many.
function leavesOfNodes(nodes) {
  if (edgeLeaves >= 0 && nodesOf(edgeLeaves) === nodes) return edgeLeaves;
  let leaves = Math.floor(nodes / 2);
  while (nodesOf(leaves) < nodes) leaves++;
  return nodesOf(leaves) === nodes ? leaves : -1;
}
const syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
const syncFull = db.prepare('PRAGMA synchronous = FULL');
function publish(leaves, failed) {
  if (!treeProgress) return;
  Atomics.store(treeProgress, 1, failed ? 1n : 0n);
  if (leaves !== null) Atomics.store(treeProgress, 0, BigInt(leaves));
  Atomics.notify(treeProgress, 0);
}
function loadEdge(leaves) {
  edge = [];
  for (let level = 0; 2 ** level <= leaves; level++) {
    const index = Math.floor(leaves / 2 ** level);
    if (index % 2 === 1) edge[level] = getNode.get(nodePosition(level, index - 1));
  }
  edgeLeaves = leaves;
}
// Adds leaf \`index\` (its leaf data in hex, found by the caller) to a tentative edge and collects the nodes it
// completes; nothing is stored until it is committed. Hash inputs are written into two reused buffers (0x00 || leaf,
// 0x01 || left || right).
const leafInput = Buffer.alloc(33);
const nodeInput = Buffer.alloc(65);
nodeInput[0] = 1;
// A leaf's node: its hash (RFC 9162: SHA-256 of 0x00 || leaf data) and its position in the table.
function leafHash(leaf) {
  leafInput.write(leaf, 1, 'hex');
  return sha256('sha256', leafInput, 'buffer');
}
const leafPosition = (index) => 2 * index - popcount(index);
function appendLeaf(tree, index, leaf) {
  let hash = leafHash(leaf);
  let pos = leafPosition(index);
  tree.nodes.push(pos, hash);
  let level = 0;
  for (let i = index; i % 2 === 1; i = (i - 1) / 2) {
    nodeInput.set(tree.edge[level], 1);
    nodeInput.set(hash, 33);
    hash = sha256('sha256', nodeInput, 'buffer');
    level++;
    tree.nodes.push(++pos, hash);
  }
  tree.edge[level] = hash;
  tree.leaves = index + 1;
}
// One statement per commit: a group commit of a few events completes a few dozen nodes, and one INSERT of them all
// costs a fraction of as many single-row INSERTs. A statement per row count (at most NODE_BATCH rows), prepared the
// first time it is needed.
const putNodesOfCount = [];
function putNodesOf(count) {
  let statement = putNodesOfCount[count];
  if (!statement) {
    statement = db.prepare('INSERT INTO tree_nodes (pos, hash) VALUES ' + Array(count).fill('(?, ?)').join(', '));
    putNodesOfCount[count] = statement;
  }
  return statement;
}
function storeNodes(nodes) {
  for (let i = 0; i < nodes.length; i += NODE_BATCH * 2) {
    const rows = nodes.length - i >= NODE_BATCH * 2 ? NODE_BATCH : (nodes.length - i) / 2;
    putNodesOf(rows).run(i === 0 && rows * 2 === nodes.length ? nodes : nodes.slice(i, i + rows * 2));
  }
}
class Refused extends Error { constructor(refusal) { super(refusal.kind); this.refusal = refusal; } }

// An append whose event ids are already recorded, in the same stream and order, is a retry of an acknowledged
// append (the client lost the response): answered as the first time, nothing written.
function recognisedRetry(streamId, events, expected) {
  const first = byId.get(events[0].id);
  if (!first) {
    for (let i = 1; i < events.length; i++) {
      if (byId.get(events[i].id)) throw new Refused({ kind: 'invalid', path: 'events[' + i + '].id', problem: events[i].id + ' is already recorded in the log' });
    }
    return null;
  }
  let last = first;
  for (let i = 0; i < events.length; i++) {
    const found = byId.get(events[i].id);
    if (!found || found.stream_id !== streamId || found.revision !== first.revision + i) {
      throw new Refused({ kind: 'invalid', path: 'events[' + i + '].id', problem: events[i].id + ' is already recorded in the log as part of another append' });
    }
    // The same ids with other content is no retry: two requests under one Idempotency-Key, raced (ids come from the
    // key), were both answered as recorded. A conflict instead: the caller reads the stream and finds the act the key
    // already names, and answers the second request for what it is.
    if (found.type !== events[i].type || retryMark(found.metadata) !== retryMark(events[i].metadata)) {
      const current = lastRevision.get(streamId);
      throw new Refused({ kind: 'wrong-revision', streamId, expected, actual: current === undefined ? 'no_stream' : current.revision });
    }
    last = found;
  }
  return { nextRevision: last.revision, position: last.position };
}

// What tells a retry from another request under the same ids: the request's fingerprint, which the sealed metadata
// carries for a command with an Idempotency-Key (the data may differ between a retry and its first: personal fields are
// encrypted again with another nonce).
function retryMark(metadata) {
  try {
    const parsed = JSON.parse(metadata);
    return parsed && parsed.idempotency && typeof parsed.idempotency.fingerprint === 'string' ? parsed.idempotency.fingerprint : '';
  } catch {
    return '';
  }
}

function write(append, recordedAt) {
  const { streamId, expected, events } = append;
  const retried = recognisedRetry(streamId, events, expected);
  if (retried) return { ...retried, tree: null };
  const row = lastRevision.get(streamId);
  const actual = row === undefined ? 'no_stream' : row.revision;
  if ((expected === 'no_stream' && actual !== 'no_stream') || (typeof expected === 'number' && expected !== actual)) {
    throw new Refused({ kind: 'wrong-revision', streamId, expected, actual });
  }
  let revision = row === undefined ? -1 : row.revision;
  let position = 0;
  // 'with': the nodes are hashed now on a tentative edge; 'behind': only the leaves are collected, with their index.
  const tree = treeMode === 'with' ? { edge: edge.slice(), leaves: edgeLeaves, nodes: [] }
    : treeMode === 'behind' ? { at: [], leafData: [] } : null;
  for (const e of events) {
    revision++;
    position = Number(insert.run(e.id, streamId, revision, e.type, e.data, e.metadata, recordedAt).lastInsertRowid);
    if (tree && tree.leafData) { tree.at.push(position - 1); tree.leafData.push(e.leaf); }
    else if (tree) {
      if (position - 1 !== tree.leaves) throw new Error('event position ' + position + ' does not follow the tree of ' + tree.leaves + ' leaves');
      appendLeaf(tree, position - 1, e.leaf);
    }
  }
  return { nextRevision: revision, position, tree };
}
// A nested better-sqlite3 transaction is a SAVEPOINT: one append's failure rolls back only its own rows.
const appendOne = db.transaction(write);

function commitGroups(groups) {
  const results = groups.map(({ batch }) => ({ batch, outcomes: [] }));
  const started = performance.now();
  const pendingBefore = pendingAt.length;
  try {
    // IMMEDIATE takes the write lock first (waiting on busy_timeout): a deferred transaction that read before
    // writing could fail with SQLITE_BUSY_SNAPSHOT when a checkpoint reset the WAL meanwhile.
    db.transaction(() => {
      // 'behind': a tree behind the log is the normal state (leaves of this writer's or another's commits not stored
      // yet): the tree's own transaction completes it. A tree AHEAD of the log means events were removed under it (a
      // running service included): nothing more is written, or new events would take the removed ones' positions and
      // their leaves be dropped as already stored.
      if (treeMode === 'behind') treeNotAheadOfLog();
      const nodes = [];
      if (treeMode === 'with') {
        const stored = storedNodes.get();
        const events = logSize.get();
        // A lone append extends a tree that holds the whole log; else it goes to the writer thread, which completes it.
        if (stored !== nodesOf(events)) throw Object.assign(new Error('the Merkle tree is not at the log head'), { code: 'TREE_BEHIND' });
        if (edge === null || edgeLeaves !== events) loadEdge(events);
      }
      groups.forEach(({ group, recordedAt }, g) => {
        for (const append of group) {
          try {
            const { tree, ...ok } = appendOne(append, recordedAt);
            // The append held: its leaves join the tree (a refused one was rolled back with its savepoint).
            if (tree && tree.leafData) {
              for (let i = 0; i < tree.at.length; i++) { pendingAt.push(tree.at[i]); pendingLeaf.push(tree.leafData[i]); }
            } else if (tree) {
              edge = tree.edge;
              edgeLeaves = tree.leaves;
              for (const value of tree.nodes) nodes.push(value);
            }
            results[g].outcomes.push({ ok });
          }
          catch (error) { results[g].outcomes.push({ refused: error instanceof Refused ? error.refusal : { kind: 'failed', message: String(error && error.message || error), code: error && error.code } }); }
        }
      });
      storeNodes(nodes);
    }).immediate();
  } catch (error) {
    // The commit itself failed (disk full, I/O error): nothing of these groups is durable, nor the edge built on them
    // (the leaves acknowledged before it are still to be stored).
    edge = null;
    pendingAt.length = pendingBefore;
    pendingLeaf.length = pendingBefore;
    return { results: groups.map(({ batch }) => ({ batch })), commitError: String(error && error.message || error), code: error && error.code };
  }
  const reported = treeMs;
  treeMs = 0;
  return { results, transactionMs: performance.now() - started, treeMs: reported };
}

// The leaves of the stored events at indexes [from, until), by the one function that makes an event a leaf.
function storedLeaves(from, until) {
  const leaves = [];
  let index = from;
  for (const row of eventsBetween.iterate(from, until)) {
    if (row.position !== index + 1) break;
    leaves.push(leafData({ id: row.id, streamId: row.stream_id, type: row.type, data: row.data, metadata: row.metadata }).toString('hex'));
    index++;
  }
  if (index !== until) throw new Error('the log has no event at position ' + (index + 1) + ': positions must be gapless for its tree');
  return leaves;
}

// Throws when the stored tree is no whole tree or holds more leaves than the log has events.
function treeNotAheadOfLog() {
  const stored = storedNodes.get();
  const leaves = leavesOfNodes(stored);
  if (leaves < 0) throw new Error("the log's Merkle tree holds " + stored + ' nodes, which no whole tree has: it is damaged; rebuild it (npm run cli -- rebuild-tree)');
  const head = logSize.get();
  if (leaves > head) throw new Error('the Merkle tree holds ' + leaves + ' leaves but the log only ' + head + ' events: events were removed from the log');
  return { leaves, head };
}

// Inside a write transaction: brings the stored tree up to the log's head, whatever process committed the events. The
// leaves this writer holds are used where they follow (the usual case: all of them, nothing read); the others are
// read from the stored events; held leaves the tree already has (stored by another writer, a catch-up, a rebuild) are
// dropped, never stored twice. Returns the tentative tree (null when nothing was added), the held leaves it used or
// dropped, and the leaves of the tree stored.
function completeTree() {
  const { leaves: start, head } = treeNotAheadOfLog();
  let held = 0;
  // A held leaf the tree already has was stored by another writer from the same stored event: its leaf node must be
  // this one's, or the event at that position is not the one this writer committed (removed and replaced).
  for (; held < pendingAt.length && pendingAt[held] < start; held++) {
    const stored = getNode.get(leafPosition(pendingAt[held]));
    if (!stored || !leafHash(pendingLeaf[held]).equals(stored)) throw new Error('the Merkle tree holds another leaf at position ' + (pendingAt[held] + 1) + ' than the event this writer committed there: the log was changed under it');
  }
  if (start === head) return { tree: null, consumed: held, leaves: start };
  if (edge === null || edgeLeaves !== start) loadEdge(start);
  const tree = { edge: edge.slice(), leaves: start, nodes: [] };
  for (let index = start; index < head; ) {
    if (held < pendingAt.length && pendingAt[held] === index) {
      appendLeaf(tree, index++, pendingLeaf[held++]);
      continue;
    }
    const until = held < pendingAt.length ? pendingAt[held] : head;
    for (const leaf of storedLeaves(index, until)) appendLeaf(tree, index++, leaf);
  }
  storeNodes(tree.nodes);
  return { tree, consumed: held, leaves: head };
}

// 'behind': stores the nodes of the tree up to the log's head (completeTree), in one transaction without an fsync of
// its own (synchronous=NORMAL): the next events' commit fsyncs the WAL, these frames before it, so the stored tree is
// never ahead of the log, and after a crash behind it by the leaves not stored yet, which the next tree transaction of
// any writer, or start-up, completes (open-transparency.ts). Runs when this writer holds leaves, or when \`asked\` (a
// reader waits for the tree). A failure keeps the held leaves, tried again after the next commit.
function storeTreeBehind(asked) {
  if (pendingAt.length === 0 && !asked) return null;
  const started = performance.now();
  let completed = null;
  try {
    // Loaded before the write lock is taken, never while holding it: loading it inside the tree's transaction (tens of
    // milliseconds for the first one) made another process's commits fail with SQLITE_BUSY (BENCHMARKS.md, issue 17).
    if (leafData === null) leafData = loadLeafData();
    syncNormal.run();
    completed = db.transaction(completeTree).immediate();
  } catch (error) {
    edge = null;
    publish(null, true);
    return String(error && error.message || error);
  } finally {
    syncFull.run();
    treeMs += performance.now() - started;
  }
  if (completed.consumed === pendingAt.length) { pendingAt.length = 0; pendingLeaf.length = 0; }
  else { pendingAt.splice(0, completed.consumed); pendingLeaf.splice(0, completed.consumed); }
  if (completed.tree) { edge = completed.tree.edge; edgeLeaves = completed.tree.leaves; }
  publish(completed.leaves, false);
  return null;
}
return { commitGroups, storeTreeBehind, pendingLeaves: () => pendingAt.length };
})`;

// Runs in a worker thread with its own connection: the group's transaction and its fsync (synchronous=FULL)
// block this thread, not the one answering requests. One transaction at a time; each append savepointed on its own.
const WRITER_SOURCE = `
const { receiveMessageOnPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('busy_timeout = 5000');
function loadLeafData() {
  if (workerData.leafModule.register) require(workerData.leafModule.register);
  return require(workerData.leafModule.file).leafData;
}
const { commitGroups, storeTreeBehind, pendingLeaves } = ${COMMITTER_SOURCE}(db, workerData.treeMode, workerData.treeProgress, loadLeafData);

// The tree is stored once TREE_BATCH leaves wait, TREE_MAX_LAG_MS after the first of them, when a reader of the tree
// asks ('tree': SqliteEventLog waits for it before reading its size) and before the writer stops. A transaction of its
// own costs about as much as the nodes of 30 leaves, so a busy log shares one among a few commits; and it must fit in
// the time the callers take to answer and send the next group, or that group waits for it (BENCHMARKS.md, issue 17).
const TREE_BATCH = 32;
const TREE_MAX_LAG_MS = workerData.treeLagMs;
let treeTimer = null;
let treeFailing = false;
function storeTree(asked) {
  if (treeTimer !== null) { clearTimeout(treeTimer); treeTimer = null; }
  const problem = storeTreeBehind(asked);
  // Told once per run of failures; the leaves stay pending and are tried again after the next commit.
  if (problem !== null && !treeFailing) port.postMessage({ treeError: problem });
  treeFailing = problem !== null;
}

// Groups come over a dedicated port; every group already waiting when a transaction starts joins it, so a
// group never waits for the round trip of the one before to be noticed on the other thread.
const port = workerData.port;
port.on('message', (first) => {
  const messages = [first];
  for (let next; (next = receiveMessageOnPort(port)) !== undefined; ) messages.push(next.message);
  const stop = messages.indexOf('stop');
  const groups = (stop < 0 ? messages : messages.slice(0, stop)).filter((m) => m !== 'tree');
  if (groups.length > 0) port.postMessage(commitGroups(groups));
  // Acknowledged first, then the tree: while the callers take their answers and form the next group.
  if (stop >= 0 || messages.includes('tree') || pendingLeaves() >= TREE_BATCH) storeTree(messages.includes('tree'));
  else if (pendingLeaves() > 0 && treeTimer === null) treeTimer = setTimeout(storeTree, TREE_MAX_LAG_MS, false);
  if (stop >= 0) { db.close(); port.postMessage({ stopped: true }); }
});
`;

/** What the writer thread has done: transactions (one fsync each), appends in them, and its time in them. */
export interface WriterStats {
  transactions: number;
  /** Most appends one transaction carried. */
  largestTransaction: number;
  /** Summed over transactions: the writer thread's time in them, fsync included. */
  transactionMs: number;
  /** Summed over the tree's own transactions, stored behind the commits (not counted in transactionMs). */
  treeTransactionMs: number;
}

type WriterMessage =
  | { results: Array<{ batch: number; outcomes: AppendOutcome[] }>; transactionMs: number; treeMs?: number }
  | { results: Array<{ batch: number }>; commitError: string; code?: string }
  | { treeError: string }
  | { stopped: true };

/**
 * The committing thread of the embedded event log. It is started on the first append (a process that only
 * reads the log never starts one) and keeps the process alive only while a group is in flight. Groups are
 * handed over as soon as they are formed; the thread commits every group waiting for it in one transaction.
 */
export class CommitWriter {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly inFlight = new Map<
    number,
    { resolve(outcomes: AppendOutcome[]): void; reject(error: Error): void }
  >();
  private nextBatch = 1;
  private failure: Error | null = null;
  private stopped: (() => void) | null = null;
  readonly stats: WriterStats = { transactions: 0, largestTransaction: 0, transactionMs: 0, treeTransactionMs: 0 };
  /** [leaves of the tree stored, 1 when the last store of the tree failed], written by the writer thread. */
  private readonly treeProgress = new BigInt64Array(new SharedArrayBuffer(16));

  private readonly onTreeError: (problem: string) => void;

  constructor(
    file: string,
    options: { maintainTree?: boolean; onTreeError?: (problem: string) => void; treeLagMs?: number } = {},
  ) {
    this.onTreeError = options.onTreeError ?? (() => undefined);
    const { port1, port2 } = new MessageChannel();
    this.treeProgress[0] = -1n;
    this.port = port1;
    this.worker = new Worker(WRITER_SOURCE, {
      eval: true,
      workerData: {
        file,
        driver: require.resolve('better-sqlite3'),
        port: port2,
        treeMode: (options.maintainTree === false ? 'none' : 'behind') satisfies TreeMode,
        treeProgress: this.treeProgress,
        leafModule: runnableSource(__filename, '../../transparency/domain/log-leaf'),
        treeLagMs: options.treeLagMs ?? 10,
      },
      transferList: [port2],
    });
    this.worker.unref();
    this.port.unref();
    this.port.on('message', (message: WriterMessage) => this.received(message));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      this.stopped?.();
      this.fail(new Error(`the event log's writer thread exited (code ${code})`));
    });
  }

  /** Commits one group; resolves once it is durable, with one outcome per append. */
  commit(group: GroupAppend[], recordedAt: number): Promise<AppendOutcome[]> {
    if (this.failure) return Promise.reject(this.failure);
    const batch = this.nextBatch++;
    this.port.ref();
    return new Promise((resolve, reject) => {
      this.inFlight.set(batch, { resolve, reject });
      this.port.postMessage({ batch, group, recordedAt });
    });
  }

  private received(message: WriterMessage): void {
    if ('stopped' in message) return this.stopped?.();
    if ('treeError' in message) return this.onTreeError(message.treeError);
    if ('transactionMs' in message) {
      this.stats.transactions++;
      this.stats.transactionMs += message.transactionMs;
      this.stats.treeTransactionMs += message.treeMs ?? 0;
      this.stats.largestTransaction = Math.max(
        this.stats.largestTransaction,
        message.results.reduce((n, r) => n + r.outcomes.length, 0),
      );
    }
    for (const result of message.results) {
      const pending = this.inFlight.get(result.batch);
      if (!pending) continue;
      this.inFlight.delete(result.batch);
      if ('commitError' in message)
        pending.reject(Object.assign(new Error(message.commitError), { code: message.code }));
      else pending.resolve((result as { outcomes: AppendOutcome[] }).outcomes);
    }
    if (this.inFlight.size === 0) this.port.unref();
  }

  /**
   * Waits (blocking this thread, at most `timeoutMs`) until the writer thread has stored the tree of at least `leaves`
   * leaves; false when it has not, or when its last attempt to store the tree failed. The writer is asked to store it
   * now and does so without this thread, so the wait is about one tree transaction.
   */
  waitForTree(leaves: number, timeoutMs: number): boolean {
    const target = BigInt(leaves);
    const deadline = performance.now() + timeoutMs;
    if (Atomics.load(this.treeProgress, 0) < target && !this.failure) {
      // A failure flagged earlier is for the writer's next attempt, which this asks for, to confirm or clear.
      Atomics.store(this.treeProgress, 1, 0n);
      this.port.postMessage('tree');
    }
    for (;;) {
      const stored = Atomics.load(this.treeProgress, 0);
      if (stored >= target) return true;
      const left = deadline - performance.now();
      if (this.failure || Atomics.load(this.treeProgress, 1) !== 0n || left <= 0) return false;
      Atomics.wait(this.treeProgress, 0, stored, left);
    }
  }

  /** Commits what was handed over, then closes the writer's connection. */
  async stop(): Promise<void> {
    if (this.failure) return;
    const stopped = new Promise<void>((resolve) => (this.stopped = resolve));
    this.port.ref();
    this.port.postMessage('stop');
    await stopped;
    this.failure = new Error('the event log is closed');
    this.port.close();
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const pending of this.inFlight.values()) pending.reject(error);
    this.inFlight.clear();
  }
}

type CommitMessage = Exclude<WriterMessage, { stopped: true } | { treeError: string }>;
type Committer = {
  commitGroups(groups: Array<{ batch: number; group: GroupAppend[]; recordedAt: number }>): CommitMessage;
  storeTreeBehind(asked: boolean): string | null;
};

/**
 * Commits a lone append on the calling thread, saving it the two hand-offs to the writer thread (about a quarter of
 * a millisecond each way). Its own connection, with the writer's settings (WAL, synchronous=FULL: acknowledged only
 * once on disk) and the writer's own commit code, so durability, checks and the tree are the same. The caller uses it
 * only while no group is with the writer thread, so the two never interleave; it never waits for the write lock (busy
 * timeout 0): when another process holds it, `busy` sends the append to the writer thread instead.
 */
export class InlineCommitter {
  private readonly db: Database.Database;
  private readonly commitGroups: Committer['commitGroups'];

  constructor(file: string, options: { maintainTree?: boolean } = {}) {
    this.db = new Database(file, { fileMustExist: true });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('wal_autocheckpoint = 0');
    this.db.pragma('busy_timeout = 0');
    const create = new Function('require', `return ${COMMITTER_SOURCE}`)(require) as (
      db: Database.Database,
      treeMode: TreeMode,
      treeProgress: null,
      loadLeafData: () => typeof leafData,
    ) => Committer;
    // A lone append keeps the tree in its own commit: the log is quiet, and the writer thread's next commit finds the
    // tree complete.
    this.commitGroups = create(
      this.db,
      options.maintainTree === false ? 'none' : 'with',
      null,
      () => leafData,
    ).commitGroups;
  }

  /**
   * The outcomes once durable; `busy` when another connection holds the write lock, or the stored tree does not reach
   * the log's head yet (a writer, of this process or another, has not stored the tree of its last commit): nothing was
   * written, and the writer thread, which completes the tree, takes the append.
   */
  commit(
    group: GroupAppend[],
    recordedAt: number,
  ): { outcomes: AppendOutcome[]; transactionMs: number } | { busy: true } {
    const message = this.commitGroups([{ batch: 0, group, recordedAt }]);
    if ('commitError' in message) {
      if (message.code === 'SQLITE_BUSY' || message.code === 'TREE_BEHIND') return { busy: true };
      throw Object.assign(new Error(message.commitError), { code: message.code });
    }
    return { outcomes: message.results[0]!.outcomes, transactionMs: message.transactionMs };
  }

  close(): void {
    this.db.close();
  }
}
