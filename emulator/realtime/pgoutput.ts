// Decoding of the replication stream: the CopyData envelopes of the streaming
// replication protocol (XLogData 'w', primary keepalive 'k', our standby
// status 'r') and the messages of the built-in pgoutput plugin, protocol
// version 1, text format. Only what Broadcast from Database needs is decoded:
// Begin, Commit, Relation and Insert; other messages are reported as 'other'.

export interface Column {
  name: string;
  typeOid: number;
}

export interface Relation {
  id: number;
  namespace: string;
  name: string;
  columns: Column[];
}

/** One value of a tuple: text, null, or unchanged (TOAST not resent). */
export type TupleValue = string | null | undefined;

export type PgOutputMessage =
  /** commitTime: the transaction's commit time, µs since 2000-01-01 UTC (PostgreSQL's epoch). */
  | { tag: 'begin'; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: 'commit'; commitLsn: bigint; endLsn: bigint }
  | { tag: 'relation'; relation: Relation }
  | { tag: 'insert'; relationId: number; values: TupleValue[] }
  | { tag: 'other'; code: string };

export type StreamMessage =
  | { kind: 'xlogdata'; walStart: bigint; walEnd: bigint; data: Buffer }
  | { kind: 'keepalive'; walEnd: bigint; replyRequested: boolean }
  | { kind: 'unknown'; code: number };

export function decodeCopyData(chunk: Buffer): StreamMessage {
  const code = chunk[0];
  if (code === 0x77 && chunk.length >= 25) {
    return {
      kind: 'xlogdata',
      walStart: chunk.readBigUInt64BE(1),
      walEnd: chunk.readBigUInt64BE(9),
      data: chunk.subarray(25),
    };
  }
  if (code === 0x6b && chunk.length >= 18) {
    return { kind: 'keepalive', walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 };
  }
  return { kind: 'unknown', code: code ?? -1 };
}

/** Microseconds since 2000-01-01, the protocol's clock. */
const POSTGRES_EPOCH_MS = 946_684_800_000;

/** A standby status update reporting `lsn` as written, flushed and applied. */
export function standbyStatus(lsn: bigint, replyRequested = false): Buffer {
  const message = Buffer.alloc(34);
  message[0] = 0x72; // 'r'
  message.writeBigUInt64BE(lsn, 1);
  message.writeBigUInt64BE(lsn, 9);
  message.writeBigUInt64BE(lsn, 17);
  message.writeBigInt64BE(BigInt(Date.now() - POSTGRES_EPOCH_MS) * 1000n, 25);
  message[33] = replyRequested ? 1 : 0;
  return message;
}

class Reader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}
  u8() {
    const value = this.buffer.readUInt8(this.at);
    this.at += 1;
    return value;
  }
  i16() {
    const value = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return value;
  }
  u32() {
    const value = this.buffer.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }
  i32() {
    const value = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return value;
  }
  u64() {
    const value = this.buffer.readBigUInt64BE(this.at);
    this.at += 8;
    return value;
  }
  cstring() {
    const end = this.buffer.indexOf(0, this.at);
    if (end < 0) throw new RangeError('unterminated string in pgoutput message');
    const value = this.buffer.toString('utf8', this.at, end);
    this.at = end + 1;
    return value;
  }
  bytes(length: number) {
    if (this.at + length > this.buffer.length) throw new RangeError('truncated pgoutput message');
    const value = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
}

function tuple(reader: Reader): TupleValue[] {
  const count = reader.i16();
  const values: TupleValue[] = [];
  for (let i = 0; i < count; i++) {
    const kind = String.fromCharCode(reader.u8());
    if (kind === 'n') values.push(null);
    else if (kind === 'u') values.push(undefined);
    else if (kind === 't' || kind === 'b') values.push(reader.bytes(reader.i32()).toString('utf8'));
    else throw new RangeError(`unknown tuple value kind '${kind}'`);
  }
  return values;
}

/** Decodes one pgoutput message (throws RangeError on a malformed one). */
export function decodePgOutput(data: Buffer): PgOutputMessage {
  const reader = new Reader(data);
  const code = String.fromCharCode(reader.u8());
  switch (code) {
    case 'B': {
      const finalLsn = reader.u64();
      const commitTime = reader.u64();
      return { tag: 'begin', finalLsn, commitTime, xid: reader.u32() };
    }
    case 'C': {
      reader.u8(); // flags
      const commitLsn = reader.u64();
      return { tag: 'commit', commitLsn, endLsn: reader.u64() };
    }
    case 'R': {
      const id = reader.u32();
      const namespace = reader.cstring();
      const name = reader.cstring();
      reader.u8(); // replica identity
      const count = reader.i16();
      const columns: Column[] = [];
      for (let i = 0; i < count; i++) {
        reader.u8(); // flags (part of the key)
        const columnName = reader.cstring();
        const typeOid = reader.u32();
        reader.i32(); // type modifier
        columns.push({ name: columnName, typeOid });
      }
      return { tag: 'relation', relation: { id, namespace, name, columns } };
    }
    case 'I': {
      const relationId = reader.u32();
      const marker = String.fromCharCode(reader.u8());
      if (marker !== 'N') throw new RangeError(`unexpected insert tuple marker '${marker}'`);
      return { tag: 'insert', relationId, values: tuple(reader) };
    }
    default:
      return { tag: 'other', code };
  }
}
