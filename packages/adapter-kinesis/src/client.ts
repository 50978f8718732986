import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { KinesisClient, type KinesisClientConfig } from "@aws-sdk/client-kinesis";
import type { AdapterError } from "@netmesh/core/adapter";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { classify } from "./classify.js";
import type { KinesisCredentials, KinesisSettings } from "./options.js";
import type { CredentialParts, Redactor } from "./redaction.js";

/** Per-call options the SDK takes: the abort signal. */
export interface CallOptions {
  readonly abortSignal?: AbortSignal;
}

/**
 * The adapter's `KinesisClient`, built for a long-lived process: the classic HTTP/1.1 handler (the
 * SDK may otherwise negotiate HTTP/2, which local emulators cannot speak) with keep-alive agents whose
 * socket pool is sized for the shard count, a connect and a request timeout that throw (the handler
 * only warns by default), and every failure classified and scrubbed of credentials.
 */
export class Client {
  /** The SDK client (owned: destroyed by {@link Client.destroy}). */
  readonly sdk: KinesisClient;

  constructor(
    settings: KinesisSettings,
    endpoint: string | undefined,
    credentials: KinesisCredentials | undefined,
    extra: KinesisClientConfig | undefined,
    private readonly redactor: Redactor,
  ) {
    const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets, keepAliveMsecs: 1_000 };
    const requestHandler = new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      connectionTimeout: settings.connectTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      throwOnRequestTimeout: true,
    });
    const config: KinesisClientConfig = {
      ...extra,
      requestHandler,
      maxAttempts: settings.maxAttempts,
      ...(settings.region !== undefined && { region: settings.region }),
      ...(endpoint !== undefined && { endpoint }),
      // A copy: the SDK writes attribution fields into a static credentials object (a frozen one throws).
      ...(credentials !== undefined && {
        credentials: typeof credentials === "function" ? credentials : { ...credentials },
      }),
    };
    this.sdk = new KinesisClient(config);
    if (credentials !== undefined && typeof credentials !== "function")
      redactor.learn(credentials as CredentialParts);
  }

  /**
   * Resolves the credentials the client will sign with (the provider chain runs now, so a machine
   * without credentials fails at `init`, not at the first write) and teaches the redactor their values.
   */
  async learnCredentials(): Promise<void> {
    const provider = (this.sdk.config as { credentials?: () => Promise<CredentialParts> }).credentials;
    if (typeof provider === "function") this.redactor.learn(await provider());
  }

  /**
   * Sends one command, bounded by the handler's timeouts and `signal`. Failures come back classified
   * (see `classify`) with `what` naming the operation; the credentials of the moment are learned first,
   * so even a refreshed session token echoed by the service is scrubbed.
   */
  async call<Output>(
    what: string,
    signal: AbortSignal | undefined,
    run: (sdk: KinesisClient, options: CallOptions) => Promise<Output>,
  ): Promise<Output> {
    try {
      return await run(this.sdk, signal === undefined ? {} : { abortSignal: signal });
    } catch (error) {
      await this.learnCredentials().catch(() => {});
      throw classify(error, what, this.redactor);
    }
  }

  /**
   * Classifies a failure reported inside a reply (a record of `PutRecords`), as {@link Client.call}
   * does for a failed call: the contract's class for its code, scrubbed, with a copy as cause.
   */
  failure(error: { readonly name: string; readonly message: string }, what: string): AdapterError {
    return classify(error, what, this.redactor);
  }

  /** Closes every socket of the pool. */
  destroy(): void {
    this.sdk.destroy();
  }
}
