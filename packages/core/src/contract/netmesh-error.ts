/**
 * Base class of every error `@netmesh` throws or hands back. `code` is stable across releases: match on it
 * rather than on `instanceof` when an error may cross package or realm boundaries.
 */
export abstract class NetmeshError extends Error {
  /** Stable, machine-readable error code, e.g. `"INVALID_CONFIG"` or `"ADAPTER_TRANSIENT"`. */
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
