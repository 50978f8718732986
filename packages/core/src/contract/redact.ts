/**
 * Hides credentials in a connection URL before it is logged or put into an error message:
 * `redis://user:secret@host:6379/0` becomes `redis://[REDACTED]@host:6379/0`. Only the authority's
 * user-info is touched; an `@` in the path or query is left alone. Comma-separated multi-host URLs
 * (`nats://a:b@h1,c:d@h2`) are redacted host by host.
 */
export function redactUrl(url: string): string {
  return url
    .split(",")
    .map((part) => {
      const schemeEnd = part.indexOf("://");
      const authorityStart = schemeEnd === -1 ? 0 : schemeEnd + 3;
      const rest = part.slice(authorityStart);
      const authorityEnd = rest.search(/[/?#]/);
      const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
      const at = authority.lastIndexOf("@");
      if (at === -1) return part;
      return `${part.slice(0, authorityStart)}[REDACTED]${rest.slice(at)}`;
    })
    .join(",");
}
