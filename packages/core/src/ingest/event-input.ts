import { InvalidEventError } from "../errors.js";
import { ColumnLender, type EventColumns } from "./event-columns.js";
import type { RoutingHasher } from "./hashing.js";
import { PreparedEvent } from "./prepared-event.js";
import type { IngestManyOptions, RawEvent } from "./raw-event.js";
import type { RejectCounts } from "../stats.js";

/**
 * Turns what producers hand the bus into JSON texts and routing hashes, refusing anything that is not an
 * event with an {@link InvalidEventError} (counted once as `rejectedBy.invalid`).
 */
export class EventInput {
  private readonly columns = new ColumnLender();

  constructor(
    private readonly hasher: RoutingHasher,
    private readonly rejects: RejectCounts,
  ) {}

  /** Routing hash of an event: of its key when it has one, else of its JSON text. */
  hashOf(json: string, key: string | undefined): number {
    return key === undefined ? this.hasher.hash(json) : this.hashKey(key);
  }

  /** Routing hash of a partition key, which must be a string. */
  hashKey(key: unknown): number {
    if (typeof key !== "string") throw this.invalid(`partition key must be a string, got ${typeof key}`);
    return this.hasher.hash(key);
  }

  /** The JSON text of one value. */
  serialize(value: unknown): string {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (cause) {
      throw this.invalid(`event is not JSON-serializable: ${(cause as Error).message}`, cause);
    }
    if (typeof json !== "string") throw this.invalid(`event is not JSON-serializable (${typeof value})`);
    return json;
  }

  /**
   * Texts and hashes of a batch of values; throws before anything is admitted if one is invalid. The
   * columns are lent: hand them back with {@link giveBack} once the batch is offered.
   */
  serializeAll(values: readonly unknown[], options: IngestManyOptions | undefined): EventColumns {
    if (!Array.isArray(values)) throw this.invalid(`expected an array of events, got ${kindOf(values)}`);
    const key = options?.key;
    const columns = this.columns.borrow(values.length);
    // Set before filling: on a throw, done() clears up to here, and a slot not reached holds nothing.
    columns.count = values.length;
    const { texts, hashes, keyed } = columns;
    try {
      for (let i = 0; i < values.length; i++) {
        const value: unknown = values[i];
        let json: string;
        try {
          json = this.serialize(value);
        } catch (error) {
          // serialize() has counted the rejection already; only the message gains the index.
          throw new InvalidEventError(`events[${i}]: ${(error as Error).message}`, { cause: error });
        }
        const eventKey = typeof key === "function" ? key(value, i) : key;
        texts[i] = json;
        hashes[i] = this.hashOf(json, eventKey);
        keyed[i] = eventKey !== undefined;
      }
    } catch (error) {
      columns.done();
      throw error;
    }
    return columns;
  }

  /**
   * The text of a raw event that is not a prepared one. Anything but an object with a string `json`
   * (`null`, a string, `{ json: 5 }`) is refused with an {@link InvalidEventError}.
   */
  rawText(event: RawEvent): string {
    // The parameter is typed, but plain-JS callers and casts hand anything: check what arrived.
    const json: unknown = (event as RawEvent | null | undefined)?.json;
    if (typeof json === "string") return json;
    if (event === null || typeof event !== "object") {
      throw this.invalid(`expected a RawEvent ({ json, hash }), got ${kindOf(event)}`);
    }
    throw this.invalid(`RawEvent.json must be a string, got ${kindOf(json)}`);
  }

  /** A prepared event: serialized, hashed and encoded to UTF-8 once. */
  prepare(value: unknown, key: string | undefined): PreparedEvent {
    const json = this.serialize(value);
    return new PreparedEvent(json, this.hashOf(json, key), key !== undefined);
  }

  /**
   * Texts (or, for prepared events, bytes) and hashes of a batch of raw events, checked before anything
   * is admitted. The columns are lent, as by {@link serializeAll}.
   */
  unpackRaw(events: readonly RawEvent[]): EventColumns {
    if (!Array.isArray(events)) throw this.invalid(`expected an array of raw events, got ${kindOf(events)}`);
    const columns = this.columns.borrow(events.length);
    columns.count = events.length; // as in serializeAll
    const { texts, hashes, keyed } = columns;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      // A prepared event holds a string by construction: checking would touch its (cold) text.
      const prepared = event === undefined ? undefined : PreparedEvent.of(event);
      if (prepared === undefined && typeof event?.json !== "string") {
        columns.done();
        throw this.invalid(`events[${i}].json must be a string`);
      }
      texts[i] = prepared ?? event!.json;
      hashes[i] = prepared?.routingHash ?? event!.hash;
      keyed[i] = event.keyed !== false;
    }
    return columns;
  }

  /** Counts one invalid input and returns the error to throw. */
  invalid(message: string, cause?: unknown): InvalidEventError {
    this.rejects.invalid++;
    return new InvalidEventError(message, { cause });
  }
}

/** What a value is, for an error message; never its content (an event's text may be large or private). */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
