import { randomBytes } from "node:crypto";
import { nkeys } from "@nats-io/nats-core";

type KeyPair = ReturnType<typeof nkeys.createUser>;

// Decentralized (operator mode) credentials for a test server: an operator, an account and users, as
// the `nsc` tool would make them, signed with nkeys. Enough for nats-server 2.9's memory resolver.

function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/** A NATS JWT: `{typ, alg: ed25519-nkey}`, the claims, and the issuer's ed25519 signature of both. */
function jwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = {
    jti: randomBytes(16).toString("hex").toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  const payload = base64url(JSON.stringify(claims));
  const signature = issuer.sign(new TextEncoder().encode(`${header}.${payload}`));
  return `${header}.${payload}.${base64url(signature)}`;
}

/** The text of a `.creds` file: a user JWT and the nkey seed that proves it is the user's. */
export function credsFile(userJwt: string, seed: string): string {
  return [
    "-----BEGIN NATS USER JWT-----",
    userJwt,
    "------END NATS USER JWT------",
    "",
    "************************* IMPORTANT *************************",
    "NKEY Seed printed below can be used to sign and prove identity.",
    "NKEYs are sensitive and should be treated as secrets.",
    "",
    "-----BEGIN USER NKEY SEED-----",
    seed,
    "------END USER NKEY SEED------",
    "",
    "*************************************************************",
    "",
  ].join("\n");
}

/** An operator with one account (JetStream allowed) and a way to issue its users. */
export interface OperatorSetup {
  /** Server configuration lines (operator JWT file path, memory resolver with the account). */
  serverConfig(operatorJwtPath: string): string;
  readonly operatorJwt: string;
  /** A user of the account: its JWT and its seed. */
  user(name: string): { readonly jwt: string; readonly seed: string };
}

export function operatorSetup(): OperatorSetup {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const operatorJwt = jwt(operator, operator.getPublicKey(), "netmesh-test-operator", { type: "operator" });
  const accountJwt = jwt(operator, account.getPublicKey(), "netmesh-test-account", {
    type: "account",
    limits: {
      subs: -1,
      data: -1,
      payload: -1,
      imports: -1,
      exports: -1,
      wildcards: true,
      conn: -1,
      leaf: -1,
      mem_storage: -1,
      disk_storage: -1,
      streams: -1,
      consumer: -1,
    },
    default_permissions: { pub: {}, sub: {} },
  });
  return {
    operatorJwt,
    serverConfig: (path) =>
      [
        `operator: ${JSON.stringify(path)}`,
        "resolver: MEMORY",
        `resolver_preload: { ${account.getPublicKey()}: ${JSON.stringify(accountJwt)} }`,
      ].join("\n"),
    user(name) {
      const user = nkeys.createUser();
      const userJwt = jwt(account, user.getPublicKey(), name, {
        type: "user",
        pub: {},
        sub: {},
        subs: -1,
        data: -1,
        payload: -1,
      });
      return { jwt: userJwt, seed: new TextDecoder().decode(user.getSeed()) };
    },
  };
}
