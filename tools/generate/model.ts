/**
 * The generator's intermediate shapes: a Kafka message (one offset) and a landed line (one line
 * in one landing file). A message can land more than once (redelivery), which is why they differ.
 */

/** The streamed topics, one landing folder each. */
export type Topic = 'user_info' | 'bpm' | 'workout';

/** The batch extracts of the relational database, one landing folder each. */
export type BatchTable = 'registered_users' | 'gym_logins';

/** A float that is written with a decimal point even when integral (`1678538830.0`), as Python does. */
export class PyFloat {
  /** @param value the number to write */
  constructor(readonly value: number) {}
}

/** A JSON-like value the renderer can write in the feed's Python `json.dumps` style. */
export type PyValue = string | number | boolean | null | PyFloat | PyRecord;

/** An ordered record; key order is kept when rendered. */
export interface PyRecord {
  [key: string]: PyValue;
}

/** One Kafka message: it owns one offset in its topic partition once produced. */
export interface Message {
  readonly topic: Topic;
  readonly partition: number;
  readonly key: string;
  /** The record carried in `value`; mess may change fields before it is rendered. */
  readonly record: PyRecord;
  /** When the producer wrote it (epoch seconds); the envelope timestamp is its floor. */
  produced: number;
  /** Assigned when it first lands, in landing order per topic partition; -1 before that. */
  offset: number;
  /** If set, the landed line is cut at this fraction of its length (a malformed line). */
  truncateAt?: number;
}

/** One line that lands in a landing file. */
export interface Line {
  readonly folder: Topic | BatchTable;
  /** Kafka partition for stream lines (part of the file name), 0 for batch rows. */
  readonly partition: number;
  /** When the line lands (epoch seconds): decides its arrival. */
  readonly land: number;
  /** Small offset added to `land` to order lines inside a file, so files are not perfectly sorted. */
  readonly jitter: number;
  /** The message, for stream lines. */
  readonly message?: Message;
  /** True for the first delivery of a message (the one that fixes its offset). */
  readonly firstDelivery: boolean;
  /** The CSV row text, for batch lines. */
  readonly csv?: string;
}
