/** A lease step a member process reported (a log line of its group member), with its wall-clock time. */
export interface TraceStep {
  readonly type: "trace";
  readonly member: string;
  /** `Date.now()` in the member's process: one machine, so comparable across the children. */
  readonly at: number;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The log lines of a group member that the run traces (the steps of a rebalance). */
export const TRACED = new Set([
  "group: tick",
  "group: rebalance",
  "group: revoking",
  "group: shard released",
  "group: shard acquired",
]);

/** Where the time of one join went: ms after the joiner reported ready, per step. */
export interface JoinChain {
  readonly joiner: string;
  /** The joiner's first heartbeat's round trip. */
  readonly joinerHeartbeatMs?: number;
  /** The joiner's first rebalance decided, and how long its round (members, leases) took. */
  readonly joinerDecided?: number;
  readonly joinerRoundMs?: number;
  /** Every rebalance of the joiner until it acquired: `began+roundMs`, `w` when a watch caused it. */
  readonly joinerRebalances: readonly string[];
  /** Another member's rebalance that decided to revoke: when it began, its round, what caused it. */
  readonly revokeBegan?: number;
  readonly revokeRoundMs?: number;
  readonly revokeCause?: string;
  /** The first revoke, then the first shard released (with what the release waited for). */
  readonly revoked?: number;
  readonly released?: number;
  readonly releasePageMs?: number;
  readonly releaseWriteMs?: number;
  /** The joiner's first acquisition, and the round trip of its acquire call. */
  readonly acquired?: number;
  readonly acquireMs?: number;
  /** The joiner sent its first shard list to the parent. */
  readonly reported: number;
  /** What the harness measured: the joiner's first shard seen by the parent. */
  readonly seen: number;
}

const number = (value: unknown): number | undefined =>
  typeof value === "number" ? Math.round(value) : undefined;

/**
 * The steps of the join of `joiner` from the members' traces: it was ready at `readyAt`, reported its
 * first shards at `reportedAt` (both its `Date.now()`), and the parent saw them `seen` ms after ready.
 */
export function joinChain(
  steps: readonly TraceStep[],
  joiner: string,
  readyAt: number,
  reportedAt: number,
  seen: number,
): JoinChain {
  const after = steps.filter((step) => step.at >= readyAt);
  const first = (test: (step: TraceStep) => boolean) => after.find(test);
  const rel = (step: TraceStep | undefined) => (step === undefined ? undefined : step.at - readyAt);
  const joinerDecided = first((step) => step.member === joiner && step.message === "group: rebalance");
  const revoked = first((step) => step.member !== joiner && step.message === "group: revoking");
  const revokeRebalance =
    revoked === undefined
      ? undefined
      : after
          .filter(
            (step) =>
              step.member === revoked.member && step.message === "group: rebalance" && step.at <= revoked.at,
          )
          .at(-1);
  const released = first((step) => step.member !== joiner && step.message === "group: shard released");
  const acquired = first((step) => step.member === joiner && step.message === "group: shard acquired");
  const revokeRound = number(revokeRebalance?.fields.roundMs);
  const joinerRebalances = after
    .filter(
      (step) =>
        step.member === joiner &&
        step.message === "group: rebalance" &&
        (acquired === undefined || step.at <= acquired.at),
    )
    .map((step) => {
      const round = number(step.fields.roundMs) ?? 0;
      return `${rel(step)! - round}+${round}${step.fields.cause === "watch" ? "w" : ""}`;
    });
  const chain: Record<string, number | string | readonly string[] | undefined> = {
    joiner,
    joinerHeartbeatMs: number(
      first((step) => step.member === joiner && step.message === "group: tick")?.fields.heartbeatMs,
    ),
    joinerDecided: rel(joinerDecided),
    joinerRoundMs: number(joinerDecided?.fields.roundMs),
    joinerRebalances,
    revokeBegan:
      revokeRebalance === undefined || revokeRound === undefined
        ? undefined
        : rel(revokeRebalance)! - revokeRound,
    revokeRoundMs: revokeRound,
    revokeCause: typeof revokeRebalance?.fields.cause === "string" ? revokeRebalance.fields.cause : undefined,
    revoked: rel(revoked),
    released: rel(released),
    releasePageMs: number(released?.fields.pageMs),
    releaseWriteMs: number(released?.fields.releaseMs),
    acquired: rel(acquired),
    acquireMs: number(acquired?.fields.acquireMs),
    reported: reportedAt - readyAt,
    seen: Math.round(seen),
  };
  for (const key of Object.keys(chain)) if (chain[key] === undefined) delete chain[key];
  return chain as unknown as JoinChain;
}
