/**
 * A fault harness for the EventStoreDB adapter: a small gRPC server, built with @grpc/grpc-js (the client's own gRPC
 * library), that speaks just enough of KurrentDB's Streams service (Read, Append) for the real @eventstore/db-client to
 * talk to it, and misbehaves on request. It proves how OUR adapter handles a failure; it never proves that KurrentDB
 * behaves so. The real server is verified only by the contract suite (EVENTSTORE_URL).
 *
 * Modelled on KurrentDB v25.0 where it matters: Kestrel's default of 100 concurrent HTTP/2 streams per connection,
 * the MaxAppendSize check of `Streams.Append.cs` (sum of `Event.SizeOnDisk`, error trailer
 * `exception: maximum-append-size-exceeded`), filtered and unfiltered reads of $all in both directions.
 */
import { randomUUID } from 'node:crypto';
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { AppendReq, AppendResp, ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';

export interface StoredRecord {
  id: string;
  streamId: string;
  revision: number;
  type: string;
  data: Buffer;
  metadata: Buffer;
  /** Commit and prepare positions are equal here: every record is its own transaction. */
  position: number;
  created: Date;
}

export interface HarnessFaults {
  /** Reads of $all never end: after the records, the call stays open until the client cancels it. */
  endlessReads?: boolean;
  /** Reads answer nothing at all and stay open (a hung node). */
  hangReads?: boolean;
  /** A read of a stream answers as a follower one event behind would: without the stream's newest event. */
  followerBehind?: boolean;
  /** Appends are taken and never answered. */
  hangAppends?: boolean;
  /** The server-features query (the client's first call before an append) is never answered. */
  hangFeatures?: boolean;
  /** KurrentDB's MaxAppendSize; 1 MiB like the server's default. */
  maxAppendSize?: number;
}

export class EventStoreDbFaultHarness {
  readonly records: StoredRecord[] = [];
  faults: HarnessFaults = {};
  /** Read calls the server is serving right now (not ended, not cancelled). */
  openReads = 0;
  appendCalls = 0;
  /** Records sent by reads, all calls together. */
  recordsSent = 0;
  /** Subscriptions to $all asked for, all calls together. */
  subscriptionCalls = 0;
  /** Subscriptions open now: each gets the records stored after it started, as the server pushes them. */
  private readonly subscriptions = new Set<{
    call: ServerWritableStream<ReadReq, ReadResp>;
    matches: (r: StoredRecord) => boolean;
  }>();
  private server: Server | null = null;
  private nextPosition = 1000;

  /** Starts on a free local port; the connection string the adapter is given. */
  async start(): Promise<string> {
    const server = new Server({ 'grpc.max_concurrent_streams': 100 });
    server.addService(ServerFeaturesService, {
      // Unanswered when hung; otherwise UNIMPLEMENTED, which the client takes as "no optional features" (plain Append).
      getSupportedMethods: (_call: unknown, callback: sendUnaryData<unknown>) => {
        if (!this.faults.hangFeatures) callback({ code: status.UNIMPLEMENTED, details: 'not in the fault harness' });
      },
    });
    server.addService(StreamsService, {
      read: (call: ServerWritableStream<ReadReq, ReadResp>) => this.read(call),
      append: (call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>) =>
        this.append(call, callback),
      delete: unimplemented,
      tombstone: unimplemented,
      batchAppend: (call: ServerDuplexStream<unknown, unknown>) =>
        call.destroy(Object.assign(new Error('unimplemented'), { code: status.UNIMPLEMENTED })),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    this.server = server;
    return `esdb://127.0.0.1:${port}?tls=false`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) server.forceShutdown();
  }

  /**
   * Ends every open subscription from the server's side: `end` as a node shutting down cleanly does, `error` as a
   * dropped connection or a leader change (UNAVAILABLE) does.
   */
  endSubscriptions(how: 'end' | 'error'): void {
    for (const { call } of [...this.subscriptions]) {
      if (how === 'end') call.end();
      // grpc-js ends a server stream with an error status when the error is emitted on it.
      else
        call.emit(
          'error',
          Object.assign(new Error('Leader changed'), { code: status.UNAVAILABLE, details: 'Leader changed' }),
        );
    }
    this.subscriptions.clear();
  }

  /** Stores records directly, as another writer would. */
  seed(streamId: string, types: readonly string[]): void {
    for (const type of types) this.store(streamId, randomUUID(), type, Buffer.from('{}'), Buffer.from('{}'));
  }

  private store(streamId: string, id: string, type: string, data: Buffer, metadata: Buffer): StoredRecord {
    const revision = this.records.filter((r) => r.streamId === streamId).length;
    const record: StoredRecord = {
      id,
      streamId,
      revision,
      type,
      data,
      metadata,
      position: this.nextPosition,
      created: new Date(),
    };
    this.nextPosition += 100 + data.length + metadata.length;
    this.records.push(record);
    for (const subscription of this.subscriptions)
      if (subscription.matches(record)) subscription.call.write(toReadResp(record));
    return record;
  }

  private read(call: ServerWritableStream<ReadReq, ReadResp>): void {
    this.openReads++;
    let open = true;
    const close = () => {
      if (open) this.openReads--;
      open = false;
    };
    call.on('cancelled', close);
    call.on('close', close);
    call.on('finish', close);
    if (this.faults.hangReads) return;
    const options = call.request.getOptions()!;
    const backwards = options.getReadDirection() === ReadReq.Options.ReadDirection.BACKWARDS;
    const count = Number(options.getCount());
    let selected: StoredRecord[];
    if (options.hasStream()) {
      const stream = options.getStream()!;
      const name = Buffer.from(stream.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
      let events = this.records.filter((r) => r.streamId === name);
      if (this.faults.followerBehind) events = events.slice(0, -1);
      if (events.length === 0) {
        const notFound = new ReadResp();
        const body = new ReadResp.StreamNotFound();
        body.setStreamIdentifier(stream.getStreamIdentifier());
        notFound.setStreamNotFound(body);
        call.write(notFound);
        call.end();
        return;
      }
      const from = stream.hasRevision() ? Number(stream.getRevision()) : backwards ? Number.MAX_SAFE_INTEGER : 0;
      selected = backwards
        ? events.filter((r) => r.revision <= from).reverse()
        : events.filter((r) => r.revision >= from);
    } else {
      const all = options.getAll()!;
      const from = all.hasPosition()
        ? Number(all.getPosition()!.getPreparePosition())
        : all.hasEnd()
          ? Number.MAX_SAFE_INTEGER
          : 0;
      let records = backwards
        ? this.records.filter((r) => r.position <= from).reverse()
        : this.records.filter((r) => r.position >= from);
      let matches = (_r: StoredRecord) => true;
      if (options.hasFilter()) {
        const filter = options.getFilter()!;
        const on = filter.hasStreamIdentifier() ? filter.getStreamIdentifier()! : filter.getEventType()!;
        const field = (r: StoredRecord) => (filter.hasStreamIdentifier() ? r.streamId : r.type);
        const prefixes = on.getPrefixList();
        const regex = on.getRegex() ? new RegExp(on.getRegex()) : null;
        matches = (r) =>
          prefixes.length ? prefixes.some((p) => field(r).startsWith(p)) : regex ? regex.test(field(r)) : true;
        records = records.filter(matches);
      }
      if (options.hasSubscription()) {
        // A catch-up subscription: confirmed, then every record from the position, then each new one; open until the
        // client leaves or the harness ends it (a server restart).
        this.subscriptionCalls++;
        const confirmation = new ReadResp();
        const confirmed = new ReadResp.SubscriptionConfirmation();
        confirmed.setSubscriptionId(randomUUID());
        confirmation.setConfirmation(confirmed);
        call.write(confirmation);
        for (const record of records) {
          this.recordsSent++;
          call.write(toReadResp(record));
        }
        const subscription = { call, matches };
        this.subscriptions.add(subscription);
        const leave = () => this.subscriptions.delete(subscription);
        call.on('cancelled', leave);
        call.on('close', leave);
        return;
      }
      selected = records;
    }
    for (const record of selected.slice(0, count)) {
      this.recordsSent++;
      call.write(toReadResp(record));
    }
    if (this.faults.endlessReads && !options.hasStream()) return;
    call.end();
  }

  private append(call: ServerReadableStream<AppendReq, AppendResp>, callback: sendUnaryData<AppendResp>): void {
    this.appendCalls++;
    let streamId = '';
    let size = 0;
    let refused = false;
    const proposed: Array<{ id: string; type: string; data: Buffer; metadata: Buffer }> = [];
    call.on('data', (request: AppendReq) => {
      if (refused) return;
      if (request.hasOptions()) {
        streamId = Buffer.from(request.getOptions()!.getStreamIdentifier()!.getStreamName_asU8()).toString('utf8');
        return;
      }
      const message = request.getProposedMessage()!;
      const type = message.getMetadataMap().get('type') ?? '';
      const data = Buffer.from(message.getData_asU8());
      const metadata = Buffer.from(message.getCustomMetadata_asU8());
      // KurrentDB v25.0, Streams.Append.cs: size += Event.SizeOnDisk(type, data, metadata); refuse once over the limit.
      size += data.length + metadata.length + type.length * 2;
      if (size > (this.faults.maxAppendSize ?? 1024 * 1024)) {
        refused = true;
        const trailer = new Metadata();
        trailer.set('exception', 'maximum-append-size-exceeded');
        trailer.set('maximum-append-size', String(this.faults.maxAppendSize ?? 1024 * 1024));
        callback({
          code: status.INVALID_ARGUMENT,
          details: `Maximum Append Size of ${this.faults.maxAppendSize ?? 1024 * 1024} Exceeded.`,
          metadata: trailer,
        });
        return;
      }
      proposed.push({ id: message.getId()!.getString(), type, data, metadata });
    });
    call.on('end', () => {
      if (refused || this.faults.hangAppends) return;
      const stored = proposed.map((p) => this.store(streamId, p.id, p.type, p.data, p.metadata));
      const last = stored[stored.length - 1]!;
      const response = new AppendResp();
      const success = new AppendResp.Success();
      success.setCurrentRevision(String(last.revision));
      const position = new AppendResp.Position();
      position.setCommitPosition(String(stored[0]!.position));
      position.setPreparePosition(String(stored[0]!.position));
      success.setPosition(position);
      response.setSuccess(success);
      callback(null, response);
    });
  }
}

function unimplemented(_call: unknown, callback: sendUnaryData<unknown>): void {
  callback({ code: status.UNIMPLEMENTED, details: 'not in the fault harness' });
}

function toReadResp(record: StoredRecord): ReadResp {
  const recorded = new ReadResp.ReadEvent.RecordedEvent();
  const id = new UUID();
  id.setString(record.id);
  recorded.setId(id);
  const stream = new StreamIdentifier();
  stream.setStreamName(Buffer.from(record.streamId, 'utf8'));
  recorded.setStreamIdentifier(stream);
  recorded.setStreamRevision(String(record.revision));
  recorded.setPreparePosition(String(record.position));
  recorded.setCommitPosition(String(record.position));
  recorded.getMetadataMap().set('type', record.type);
  recorded.getMetadataMap().set('content-type', 'application/json');
  // .NET ticks since the Unix epoch, as the server sends them.
  recorded.getMetadataMap().set('created', String(BigInt(record.created.getTime()) * 10_000n));
  recorded.setData(record.data);
  recorded.setCustomMetadata(record.metadata);
  const event = new ReadResp.ReadEvent();
  event.setEvent(recorded);
  event.setCommitPosition(String(record.position));
  const response = new ReadResp();
  response.setEvent(event);
  return response;
}
