/**
 * Serialisation of generated records: the Kafka value in Python `json.dumps` style (spaces after
 * `:` and `,`, floats with a decimal point), wrapped in a compact JSON envelope like the seed's sample.
 */
import { PyFloat } from './model.js';
import type { Message, PyValue } from './model.js';

/** Writes a value as Python's `json.dumps` would (default separators). */
export function pyJson(value: PyValue): string {
  if (value instanceof PyFloat) {
    const v = value.value;
    return Number.isInteger(v) ? `${v}.0` : String(v);
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) parts.push(`${JSON.stringify(k)}: ${pyJson(v)}`);
  return `{${parts.join(', ')}}`;
}

/** The landed line of a message: a Kafka envelope, possibly truncated (malformed). */
export function envelopeLine(message: Message): string {
  const line = JSON.stringify({
    key: message.key,
    value: pyJson(message.record),
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: Math.floor(message.produced),
  });
  if (message.truncateAt === undefined) return line;
  return line.slice(0, Math.max(1, Math.floor(line.length * message.truncateAt)));
}

/** Header lines of the batch extracts. */
export const CSV_HEADERS = {
  registered_users: 'user_id,device_id,mac_address,registration_timestamp',
  gym_logins: 'mac_address,gym,login,logout',
} as const;
