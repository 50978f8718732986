import { redactUrl } from "@netmesh/core/adapter";

/** A URL anywhere in a text: scheme, `://`, then everything up to whitespace or a quote. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;

/**
 * Shapes of AWS credential material that may be echoed in a service's error text whatever their value
 * (a `SignatureDoesNotMatch` message quotes the canonical request, headers included): SigV4 signatures,
 * credential scopes, session-token headers, and access key ids.
 */
const CREDENTIAL_SHAPES: readonly [RegExp, string][] = [
  [/(Signature=)[0-9a-f]{16,}/gi, "$1[REDACTED]"],
  [/(Credential=)[^,\s/]+/gi, "$1[REDACTED]"],
  [/(x-amz-security-token\s*[:=]\s*)[^\s,;"']+/gi, "$1[REDACTED]"],
  [/\b(?:AKIA|ASIA|AIDA|AROA|ANPA|AGPA)[A-Z0-9]{12,}\b/g, "[REDACTED]"],
];

/** Shorter secrets are not replaced inside text: they would mangle ordinary words. */
const MIN_SECRET_LENGTH = 4;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The parts of an AWS identity worth hiding. */
export interface CredentialParts {
  readonly accessKeyId?: string | undefined;
  readonly secretAccessKey?: string | undefined;
  readonly sessionToken?: string | undefined;
}

/**
 * Scrubs credentials from text before it reaches an error message or a log line: every value it was
 * told about (the explicit keys, and whatever the provider chain resolved to, learned at `init` and
 * again after each failure, so refreshed session tokens are known too), plus the shapes above, plus
 * the user-info of any URL.
 */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | undefined;

  /** Adds the secret parts of an identity (idempotent). */
  learn(parts: CredentialParts | undefined): void {
    if (parts === undefined) return;
    let changed = false;
    for (const value of [parts.accessKeyId, parts.secretAccessKey, parts.sessionToken]) {
      if (typeof value === "string" && value.length >= MIN_SECRET_LENGTH && !this.secrets.has(value)) {
        this.secrets.add(value);
        changed = true;
      }
    }
    if (!changed) return;
    // Longest first, so a secret containing another is replaced whole.
    const sorted = [...this.secrets].sort((a, b) => b.length - a.length);
    this.pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g");
  }

  /** `text` with every known secret, credential shape and URL user-info replaced by `[REDACTED]`. */
  text(text: string): string {
    let clean = this.pattern === undefined ? text : text.replace(this.pattern, "[REDACTED]");
    for (const [shape, replacement] of CREDENTIAL_SHAPES) clean = clean.replace(shape, replacement);
    return clean.replace(URL_IN_TEXT, (url) => redactUrl(url));
  }
}
