/**
 * The request target (RFC 9112 §3.2) as the routes see it, named as `URL` names them: its path
 * (`pathname`, dot segments removed: routes are compared to fixed strings, so `/x/../healthz` is
 * `/healthz` and nothing reaches past `/`) and its query (`searchParams`). Only origin-form
 * (`/path?query`) and absolute-form (`http://host/path`, which a server must accept) are served;
 * anything else is refused, never thrown: `new URL()` throws on targets Node's parser lets through
 * (`//[`, `http://[::1`), and one such throw used to end the process.
 */

export type RequestTarget =
  | { readonly ok: true; readonly pathname: string; readonly searchParams: URLSearchParams }
  | { readonly ok: false; readonly message: string };

/** A path of RFC 3986 characters (pchar and `/`), every `%` starting a two-digit escape. */
const PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const ABSOLUTE_FORM = /^(?:https?|wss?):\/\//i;
/** Origin-form is read against a fixed origin, so `//host/x` stays the path `//host/x`. */
const ORIGIN = "http://localhost";

export function parseRequestTarget(target: string | undefined): RequestTarget {
  if (target === undefined || target === "") return refuse("The request has no target.");
  if (target.includes("#")) return refuse("A request target has no fragment (#).");
  const originForm = target.startsWith("/");
  if (!originForm && !ABSOLUTE_FORM.test(target)) {
    return refuse("The request target must be a path (/…) or an absolute http(s) or ws(s) URL.");
  }
  let url: URL;
  try {
    url = new URL(originForm ? ORIGIN + target : target);
  } catch {
    return refuse("The request target is not a valid URL.");
  }
  const rawPath = originForm ? (target.split("?", 1)[0] ?? "") : url.pathname;
  if (!PATH.test(rawPath)) {
    return refuse("The request path has a character that is not allowed there, or a % that is not an escape.");
  }
  return { ok: true, pathname: url.pathname, searchParams: url.searchParams };
}

const refuse = (message: string): RequestTarget => ({ ok: false, message });
