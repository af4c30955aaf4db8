/**
 * Who a Twilio media stream acts for, decided at `start`. A `token` parameter (a stream token from
 * `POST /v1/auth/token`) must be valid, whether or not the upgrade was signed: it is used up, the
 * stream counts against its key's stream limit (one stream per track: a two-track call counts two,
 * on this node and, in a cluster, across nodes), and only that key may read the call. Without one,
 * only a signed upgrade gets in, for no key in particular (any key may read the call); its streams
 * count against `TWILIO_SIGNED_KEY` for admission, and no per-key limit applies.
 */
import type { SharedTokens } from "../shared-tokens.js";
import type { StreamTokens } from "../stream-tokens.js";
import type { TwilioFaultCode } from "./twilio-faults.js";

/**
 * The key a call let in by Twilio's signature alone counts against. It can never be an API key:
 * credentials are read without whitespace.
 */
export const TWILIO_SIGNED_KEY = "twilio signature";

export interface StreamCredential {
  /** The key the stream's sessions count against. */
  readonly key: string;
  /** The key that may read the call; undefined: any key. */
  readonly owner: string | undefined;
  readonly by: "token" | "signature";
  /** The stream ended: the token and the key's connection are given back. Idempotent. */
  release(): void;
}

export type CredentialCheck =
  | { readonly ok: true; readonly credential: StreamCredential }
  | { readonly ok: false; readonly code: TwilioFaultCode; readonly why: string };

/** Counts a connection of `key` holding `streams` streams, or says why its key has too many. */
export type CountConnection = (
  key: string,
  streams: number,
) => Promise<{ readonly ok: true; readonly closed: () => void } | { readonly ok: false; readonly why: string }>;

/**
 * `streams`: the decoders the call will hold (its tracks). `shared`: a token minted on another node
 * of a cluster is taken, and its single use claimed cluster-wide.
 */
export async function streamCredential(
  token: string | undefined,
  signed: boolean,
  tokens: StreamTokens,
  shared: Pick<SharedTokens, "adopt" | "use">,
  countConnection: CountConnection,
  streams: number,
): Promise<CredentialCheck> {
  if (token === undefined) {
    if (!signed) {
      return {
        ok: false,
        code: "twilio_unauthorized",
        why: "no valid signature on the upgrade and no token parameter",
      };
    }
    return { ok: true, credential: { key: TWILIO_SIGNED_KEY, owner: undefined, by: "signature", release: () => {} } };
  }
  await shared.adopt(token);
  const checked = tokens.check(token, null);
  if (!checked.ok) return { ok: false, code: "twilio_unauthorized", why: `token parameter refused: ${checked.why}` };
  const streamToken = checked.token;
  const counted = await countConnection(streamToken.key, streams);
  if (!counted.ok) return { ok: false, code: "twilio_too_many_streams", why: counted.why };
  // Another stream, here or on another node, may have used the token while this one was being counted.
  if (!(await shared.use(token, streamToken))) {
    counted.closed();
    return { ok: false, code: "twilio_unauthorized", why: "token parameter refused: the token was already used" };
  }
  return {
    ok: true,
    credential: {
      key: streamToken.key,
      owner: streamToken.key,
      by: "token",
      release: tokens.connectionRelease(streamToken, () => counted.closed()),
    },
  };
}
