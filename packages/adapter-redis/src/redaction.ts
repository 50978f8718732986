import { redactUrl } from "@netmesh/core/adapter";
import type { RedisOptions } from "ioredis";

/** A URL anywhere in a text: scheme, `://`, then everything up to whitespace or a quote. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;
/** Shorter secrets are not replaced inside text: they would mangle ordinary words, and never appear. */
const MIN_SECRET_LENGTH = 3;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Scrubs credentials from text before it reaches a log line or an error message: every URL's user-info
 * (`redis://user:secret@host` → `redis://[REDACTED]@host`) and every known password, wherever it
 * appears (an error text echoing a command, a URL-decoded password, …).
 */
export class Redactor {
  private readonly secrets: RegExp | undefined;

  constructor(secrets: readonly (string | undefined)[]) {
    const usable = [...new Set(secrets)].filter(
      (secret): secret is string => typeof secret === "string" && secret.length >= MIN_SECRET_LENGTH,
    );
    // Longest first, so a secret that contains another is replaced whole.
    usable.sort((a, b) => b.length - a.length);
    this.secrets = usable.length > 0 ? new RegExp(usable.map(escapeRegExp).join("|"), "g") : undefined;
  }

  /** The secrets of a connection: the URL's password (raw and decoded) and the options' password. */
  static forConnection(url: string | undefined, options: RedisOptions | undefined): Redactor {
    const secrets: (string | undefined)[] = [options?.password];
    if (url !== undefined) {
      // The user-info ends at the last `@` of the authority: a password may hold an unencoded `@`.
      const userInfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url)?.[1];
      const password = userInfo?.includes(":") ? userInfo.slice(userInfo.indexOf(":") + 1) : userInfo;
      secrets.push(password);
      if (password !== undefined) {
        try {
          secrets.push(decodeURIComponent(password));
        } catch {
          // Not percent-encoded validly: the raw form above is all there is to hide.
        }
      }
    }
    return new Redactor(secrets);
  }

  /** `text` with every URL's user-info and every known secret replaced by `[REDACTED]`. */
  text(text: string): string {
    const urlsHidden = text.replace(URL_IN_TEXT, (url) => redactUrl(url));
    return this.secrets === undefined ? urlsHidden : urlsHidden.replace(this.secrets, "[REDACTED]");
  }

  /** The message of any thrown value, scrubbed. */
  message(error: unknown): string {
    return this.text(error instanceof Error ? error.message : String(error));
  }
}
