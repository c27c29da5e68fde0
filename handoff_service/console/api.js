/*
 * The console's calls to the handoff service's JSON API (under /api, with
 * the agent's bearer token). Errors carry the HTTP status and the service's
 * error code ({"error", "field", "detail"}).
 */

export const API = "/api";

/** An API error with the HTTP status, the service's error code and, for a refused image, what it showed. */
export class ApiError extends Error {
  constructor(status, code, detail, data) {
    super(detail || "HTTP " + status);
    this.status = status;
    this.code = code;
    this.detail = detail || "";
    this.field = data && data.field ? String(data.field) : "";
    this.kinds = data && Array.isArray(data.kinds) ? data.kinds.map(String) : [];
  }
}

/** The error of a finished call: its status and the service's JSON body (if any). */
export function errorOf(status, text) {
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (err) {
    data = null;
  }
  return new ApiError(status, data && data.error, data && data.detail, data);
}

export function networkError(detail) {
  return new ApiError(0, "network", detail || "cannot reach the handoff service");
}

// Answers after which a request may never have reached a live replica.
const RETRIED_STATUSES = [502, 503, 504];
const RETRY_DELAYS_MS = [1000, 2000, 4000];

/** A fresh Idempotency-Key: 32 hex characters. */
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One JSON call with ``token``; resolves to the parsed body (null for an empty one).
 *
 * With ``key`` (an Idempotency-Key) a call that got no answer, or a 502/503/504
 * from the load balancer, is sent again with the same key: the service applies it
 * once, however many copies arrive.
 */
export function request(token, method, path, body, key) {
  if (!key) return requestOnce(token, method, path, body, null);
  let attempt = 0;
  const again = (error) => {
    const retried = error instanceof ApiError &&
      (error.status === 0 || RETRIED_STATUSES.indexOf(error.status) !== -1);
    if (!retried || attempt >= RETRY_DELAYS_MS.length) throw error;
    const delay = RETRY_DELAYS_MS[attempt++];
    return new Promise((resolve) => setTimeout(resolve, delay)).then(
      () => requestOnce(token, method, path, body, key).catch(again)
    );
  };
  return requestOnce(token, method, path, body, key).catch(again);
}

function requestOnce(token, method, path, body, key) {
  const init = {
    method: method,
    headers: { Accept: "application/json", Authorization: "Bearer " + token },
    cache: "no-store",
    credentials: "omit"
  };
  if (key) init.headers["Idempotency-Key"] = key;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(API + path, init).then(
    (response) => response.text().then((text) => {
      if (!response.ok) throw errorOf(response.status, text);
      try {
        return text ? JSON.parse(text) : null;
      } catch (err) {
        return null;
      }
    }),
    () => {
      throw networkError();
    }
  );
}

/** "?a=1&b=2" from an object (empty values left out). */
export function query(params) {
  const search = new URLSearchParams();
  Object.keys(params).forEach((key) => {
    const value = params[key];
    if (value != null && value !== "") search.set(key, String(value));
  });
  const text = search.toString();
  return text ? "?" + text : "";
}

export function enc(value) {
  return encodeURIComponent(String(value));
}
