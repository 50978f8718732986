import type { EventSource } from "../shard/shard-ring.js";

/** Batches up to this many events reuse the spare columns; a larger one gets columns of its own. */
const SPARE_MAX_EVENTS = 65_536;

/**
 * A batch call's events, checked and hashed before any is admitted, as three columns: the text (or
 * prepared event), its routing hash, and whether it was keyed. The first `count` rows are the batch.
 * Whoever offers the batch calls {@link EventColumns.done} once it has (the texts must not outlive the
 * call).
 */
export class EventColumns {
  readonly texts: (EventSource | undefined)[] = [];
  readonly hashes: number[] = [];
  readonly keyed: boolean[] = [];
  count = 0;

  constructor(
    /** The lender the columns go back to, or undefined for columns of a call's own. */
    private readonly lender: ColumnLender | undefined,
  ) {}

  /** The batch is offered: the texts are let go and the columns can serve the next batch. */
  done(): void {
    if (this.lender === undefined) return;
    this.texts.fill(undefined, 0, this.count);
    this.count = 0;
    this.lender.giveBack(this);
  }
}

/**
 * Lends one set of columns to batch calls in turn. Three arrays of a batch's length cost little to
 * fill, but arrays of 16k events are large objects to V8: they die only in a full collection, so a
 * producer calling `ingestMany` in a loop made the collector mark the whole heap far more often. A
 * call that comes while the spare set is lent out (a waiting call, or one re-entered from a key
 * function or a diagnostics subscriber) gets columns of its own.
 */
export class ColumnLender {
  private spare: EventColumns | undefined = new EventColumns(this);

  /** Empty columns for a batch of `size` events. */
  borrow(size: number): EventColumns {
    const spare = this.spare;
    if (spare === undefined || size > SPARE_MAX_EVENTS) return new EventColumns(undefined);
    this.spare = undefined;
    return spare;
  }

  /** Called by {@link EventColumns.done}. */
  giveBack(columns: EventColumns): void {
    this.spare = columns;
  }
}
