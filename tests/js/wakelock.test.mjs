// Screen Wake Lock kept while in the room, asked for again on return (web/static/js/wakelock.js).
import test from "node:test";
import assert from "node:assert/strict";
import { ScreenKeeper } from "../../web/static/js/wakelock.js";

// The browser's side: a document that can be hidden, and a wake lock that the browser releases
// when the page is hidden (as the Screen Wake Lock API specifies).
class FakeDocument extends EventTarget {
  constructor() { super(); this.visibilityState = "visible"; }
  set(state) { this.visibilityState = state; this.dispatchEvent(new Event("visibilitychange")); }
}

function browser({ refuse = false } = {}) {
  const doc = new FakeDocument();
  const held = [];
  const nav = {
    wakeLock: {
      async request(type) {
        assert.equal(type, "screen");
        if (refuse) throw Object.assign(new Error("denied"), { name: "NotAllowedError" });
        const sentinel = new EventTarget();
        sentinel.released = false;
        sentinel.release = async () => { sentinel.released = true; sentinel.dispatchEvent(new Event("release")); };
        held.push(sentinel);
        return sentinel;
      },
    },
  };
  doc.addEventListener("visibilitychange", () => {
    if (doc.visibilityState === "hidden") for (const s of held) if (!s.released) s.release();
  });
  return { doc, nav, held };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

test("held while in the room, asked for again when the page returns", async () => {
  const { doc, nav } = browser();
  const keeper = new ScreenKeeper({ nav, doc });
  assert.equal(keeper.state, "idle");
  assert.equal(await keeper.hold(), true);
  assert.equal(keeper.state, "held");
  assert.equal(keeper.requests, 1);
  doc.set("hidden");
  await settle();
  assert.equal(keeper.state, "released");
  assert.equal(keeper.requests, 1, "a hidden page does not ask");
  doc.set("visible");
  await settle();
  assert.equal(keeper.state, "held");
  assert.equal(keeper.requests, 2);
  await keeper.release();
  doc.set("hidden");
  doc.set("visible");
  await settle();
  assert.equal(keeper.requests, 2, "not asked for once let go");
  assert.equal(keeper.state, "released");
});

test("a second hold while held asks nothing more", async () => {
  const { doc, nav } = browser();
  const keeper = new ScreenKeeper({ nav, doc });
  await keeper.hold();
  await keeper.hold();
  assert.equal(keeper.requests, 1);
});

test("refused, or not there at all, is said so", async () => {
  const refused = browser({ refuse: true });
  const keeper = new ScreenKeeper({ nav: refused.nav, doc: refused.doc });
  assert.equal(await keeper.hold(), false);
  assert.equal(keeper.state, "refused");
  assert.equal(keeper.error, "NotAllowedError");
  const old = new ScreenKeeper({ nav: {}, doc: new FakeDocument() });
  assert.equal(await old.hold(), false);
  assert.equal(old.state, "unsupported");
});
