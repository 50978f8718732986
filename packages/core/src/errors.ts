import { NetmeshError } from "./contract/netmesh-error.js";

/** A value for an error message; never throws (a null-prototype object has no `toString`). */
export function describeValue(value: unknown): string {
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return String(value);
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/** The bus configuration is invalid. `path` names the offending field, e.g. `"batch.maxSize"`. */
export class ConfigError extends NetmeshError {
  readonly code = "INVALID_CONFIG" as const;
  constructor(
    /** Dotted path of the invalid field. */
    readonly path: string,
    problem: string,
  ) {
    super(`invalid configuration: ${path} ${problem}`);
  }
}

/** An event cannot be ingested: it is not serializable to JSON, or its partition key is not a string. */
export class InvalidEventError extends NetmeshError {
  readonly code = "INVALID_EVENT" as const;
}

/** The persisted producer state file could not be read, created or written. */
export class ProducerStateError extends NetmeshError {
  readonly code = "PRODUCER_STATE" as const;
  constructor(
    /** The producer state file involved. */
    readonly path: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`producer-state file ${path}: ${problem}`, options);
  }
}

/** The adapter is not compatible with this version of the bus (wrong or missing `specVersion`). */
export class AdapterCompatibilityError extends NetmeshError {
  readonly code = "ADAPTER_INCOMPATIBLE" as const;
}

/** A poll cursor could not be decoded: bad encoding, bad JSON, non-canonical or out-of-range keys, … */
export class InvalidCursorError extends NetmeshError {
  readonly code = "INVALID_CURSOR" as const;
  constructor(problem: string) {
    super(`invalid cursor: ${problem}`);
  }
}

/** A filter is malformed or exceeds the depth/size limits. */
export class InvalidFilterError extends NetmeshError {
  readonly code = "INVALID_FILTER" as const;
  constructor(problem: string) {
    super(`invalid filter: ${problem}`);
  }
}

/** A poll or subscribe request has an invalid field (limit, order, shards, …). */
export class InvalidPollRequestError extends NetmeshError {
  readonly code = "INVALID_POLL_REQUEST" as const;
  constructor(
    /** The offending field. */
    readonly field: string,
    problem: string,
  ) {
    super(`invalid poll request: ${field} ${problem}`);
  }
}

/** Why a scaling request was refused. */
export type ScalingRefusal = "dynamic-scaling-disabled" | "shard-ids-exhausted" | "invalid-count" | "closed";

/** A scaling request cannot be carried out. */
export class ScalingError extends NetmeshError {
  readonly code = "SCALING_REFUSED" as const;
  constructor(
    /** Why. */
    readonly reason: ScalingRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** The bus is shut down and its adapter closed: the call needs a live bus (read with a new adapter). */
export class BusClosedError extends NetmeshError {
  readonly code = "BUS_CLOSED" as const;
  constructor(message = "the bus is shut down and its adapter closed: read with a new adapter instance") {
    super(message);
  }
}
