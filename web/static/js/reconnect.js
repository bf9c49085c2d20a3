// How a page comes back when its connection drops (docs/protocol.md, "Reconnecting"). No UI
// and no state: protocol.js applies it, and the aiortc test peers follow the same numbers
// (tests/support/reconnecting.py; a browser test checks that both agree).

export const POLICY = Object.freeze({
  firstMs: 500, // the first retry waits up to this; each further one twice as long…
  capMs: 5000, // …but never longer than this
  // Each wait is drawn from [1 − jitter, 1] × its step, so the pages of a restarted server
  // do not all knock in the same instant.
  jitter: 0.5,
  tooManyMs: 10000, // after 4029 (too many reconnects): at least this long, plus jitter
  connectTimeoutMs: 10000, // a WebSocket not open by then is given up and tried again
  mediaLostMs: 5000, // a peer connection "disconnected" this long is rebuilt from scratch
});

// The wait before reconnect attempt `attempt` (1, 2, …) after a close with `closeCode`.
export function reconnectDelay(attempt, closeCode, random = Math.random) {
  if (closeCode === 4029) return Math.round(POLICY.tooManyMs * (1 + POLICY.jitter * random()));
  const step = Math.min(POLICY.capMs, POLICY.firstMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(step * (1 - POLICY.jitter * random()));
}

// The application heartbeat, from the server's `ping_after_s`: how often the page pings, and
// how long a silent server is trusted before the socket is taken for dead.
export function heartbeat(pingAfterS) {
  const pingMs = (pingAfterS || 20) * 1000;
  return { everyMs: Math.min(pingMs, 15000) / 2, silentMs: 2 * pingMs };
}
