/** Number of routing slots in dynamic mode: a key's hash picks a slot, the slot names a shard. */
export const SLOT_COUNT = 4_096;
const SLOT_SHIFT = 20; // 2^32 / 2^20 = 4,096 slots

/**
 * Key affinity for dynamic mode: 4,096 slots, each owned by one active shard. A key always maps to the
 * same slot, so it stays on its shard until ownership of that slot moves; adding or removing a shard
 * moves only the slots it gains or gives up (about 1/n of them), and the table stays balanced to within
 * one slot. Routing is an array lookup.
 */
export class SlotTable<T extends { readonly id: number }> {
  private readonly slots: T[] = [];

  /** Spreads the slots evenly over the initial owners (contiguous runs, like multiply-shift routing). */
  constructor(owners: readonly T[]) {
    if (owners.length === 0) throw new RangeError("a slot table needs at least one owner");
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      this.slots.push(owners[Math.floor((slot * owners.length) / SLOT_COUNT)]!);
    }
  }

  /** The owner of a 32-bit hash's slot. */
  route(hash: number): T {
    return this.slots[(hash >>> 0) >>> SLOT_SHIFT]!;
  }

  /** Slots owned per owner id. */
  counts(): Map<number, number> {
    const counts = new Map<number, number>();
    for (const owner of this.slots) counts.set(owner.id, (counts.get(owner.id) ?? 0) + 1);
    return counts;
  }

  /** Gives a new owner its fair share, taking slots from the owners that hold the most. */
  add(owner: T): void {
    const owned = new Map<number, number[]>();
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const id = this.slots[slot]!.id;
      const list = owned.get(id);
      if (list) list.push(slot);
      else owned.set(id, [slot]);
    }
    const share = Math.floor(SLOT_COUNT / (owned.size + 1));
    for (let taken = 0; taken < share; taken++) {
      let richest: number[] | undefined;
      let richestId = -1;
      for (const [id, list] of owned) {
        if (
          richest === undefined ||
          list.length > richest.length ||
          (list.length === richest.length && id < richestId)
        ) {
          richest = list;
          richestId = id;
        }
      }
      // The richest owner's last slot, so the owners' runs stay as contiguous as they can.
      this.slots[richest!.pop()!] = owner;
    }
  }

  /** Hands a leaving owner's slots to the remaining owners that hold the fewest. */
  remove(owner: T, remaining: readonly T[]): void {
    if (remaining.length === 0) throw new RangeError("cannot remove the last owner of the slot table");
    const counts = new Map<number, number>(remaining.map((r) => [r.id, 0]));
    for (const current of this.slots)
      if (current.id !== owner.id) counts.set(current.id, (counts.get(current.id) ?? 0) + 1);
    const byId = new Map(remaining.map((r) => [r.id, r]));
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      if (this.slots[slot]!.id !== owner.id) continue;
      let poorest = -1;
      let fewest = Number.POSITIVE_INFINITY;
      for (const [id, count] of counts) {
        if (count < fewest || (count === fewest && id < poorest)) {
          poorest = id;
          fewest = count;
        }
      }
      this.slots[slot] = byId.get(poorest)!;
      counts.set(poorest, fewest + 1);
    }
  }
}
