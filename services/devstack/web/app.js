// Shutter's small web client: plain JavaScript against the public API on
// this same address (no build step, nothing fetched from elsewhere).
"use strict";

const $ = (id) => document.getElementById(id);
const store = {
  get tokens() { return JSON.parse(localStorage.getItem("shutter.tokens") || "null"); },
  set tokens(value) {
    if (value) localStorage.setItem("shutter.tokens", JSON.stringify(value));
    else localStorage.removeItem("shutter.tokens");
  },
  // A known device has its own sign-in budget: keep its token per login name.
  deviceToken(login) {
    return JSON.parse(localStorage.getItem("shutter.devices") || "{}")[login.trim().toLowerCase()];
  },
  rememberDevice(login, token) {
    if (!token) return;
    const devices = JSON.parse(localStorage.getItem("shutter.devices") || "{}");
    devices[login.trim().toLowerCase()] = token;
    localStorage.setItem("shutter.devices", JSON.stringify(devices));
  },
};
// One key per post for the page's life: a double click buys once.
const purchaseKeys = new Map();

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

class ApiError extends Error {}

async function refreshTokens() {
  const tokens = store.tokens;
  if (!tokens) return false;
  const response = await fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: tokens.refresh_token }),
  });
  if (!response.ok) return false;
  store.tokens = await response.json();
  return true;
}

// Calls the API; a JSON body is sent as JSON, a Blob as itself. Refreshes the
// access token once on 401. Problems become ApiError with their detail.
async function api(method, path, body, headers = {}) {
  for (let attempt = 0; ; attempt++) {
    const init = { method, headers: { ...headers } };
    const tokens = store.tokens;
    if (tokens) init.headers.authorization = `Bearer ${tokens.access_token}`;
    if (body instanceof Blob) {
      init.body = body;
      init.headers["content-type"] = body.type || "application/octet-stream";
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["content-type"] = "application/json";
    }
    const response = await fetch(path, init);
    if (response.status === 401 && attempt === 0 && tokens && (await refreshTokens())) continue;
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      if (response.status === 401 && tokens) signOut();
      throw new ApiError((data && (data.detail || data.title)) || `HTTP ${response.status}`);
    }
    return data;
  }
}

// Amounts in the stack's currency (the wallet says which).
let currency = "usd";
// Whether the stack takes cards (a payment provider is configured).
let cardPayments = false;
const money = (cents) =>
  new Intl.NumberFormat("en", { style: "currency", currency: currency.toUpperCase() }).format(cents / 100);

let currentUser = null;

// A button of `className` saying `text` that runs `onClick`.
function button(className, text, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = className;
  element.textContent = text;
  element.addEventListener("click", onClick);
  return element;
}

async function signedIn() {
  const me = await api("GET", "/v1/users/me");
  currentUser = me;
  $("me").textContent = me.username;
  $("session").hidden = false;
  $("app").hidden = false;
  $("signin").hidden = true;
  await loadWallet();
  await Promise.all([loadEarnings(), loadFeed(), loadMembership(), loadInbox()]);
  watchInbox();
  const moderates = (me.roles || []).some((role) => role === "moderator" || role === "admin");
  $("moderation").hidden = !moderates;
  if (moderates) await loadQueue();
}

// What a notification says, from its kind and facts.
function describe(n) {
  const who = n.actor ? n.actor.username || "someone" : "";
  const amount = n.amount_cents === undefined ? "" : money(n.amount_cents);
  switch (n.kind) {
    case "followed": return `${who} followed you`;
    case "posted": return `${who} posted something new`;
    case "commented": return `${who} commented on your post`;
    case "liked": return `${who}${n.count > 1 ? ` and ${n.count - 1} other(s)` : ""} liked your post`;
    case "purchased": return `${who} bought your post for ${amount}`;
    case "subscribed": return `${who} subscribed to you`;
    case "subscription_ended": return `${who}'s subscription ended`;
    case "payout_paid": return `Your payout of ${amount} was paid`;
    case "payout_failed": return `Your payout of ${amount} failed; the money is back in your earnings`;
    case "moderated": return `A moderator's decision on your ${n.target.kind}: ${n.action} (${n.reason})`;
    case "report_resolved": return `Your report of a ${n.target.kind} was resolved: ${n.action}`;
    default: return n.kind;
  }
}

function showUnread(count) {
  $("unread").textContent = count > 998 ? "999+" : String(count);
  $("unread").className = count > 0 ? "unread" : "unread none";
}

// The newest notification the page has shown (what "mark all read" covers).
let newestSeq = 0;

function notificationElement(n) {
  const entry = document.createElement("li");
  entry.className = n.read ? "notification" : "notification new";
  entry.dataset.kind = n.kind;
  entry.dataset.id = n.id;
  entry.textContent = `${describe(n)} · ${new Date(n.created_at).toLocaleString()}`;
  if (!n.read) {
    entry.append(" ", button("read", "Read", () => act(async () => {
      await api("POST", `/v1/notifications/${n.id}/read`);
      await loadInbox();
    })));
  }
  return entry;
}

async function loadInbox() {
  const page = await api("GET", "/v1/notifications");
  newestSeq = Math.max(0, ...page.items.map((n) => n.seq));
  $("notifications").replaceChildren(...page.items.map(notificationElement));
  showUnread(page.unread);
}

// The live stream: each new notification goes on top and sets the badge. A
// lost connection is resumed after the last event seen (Last-Event-ID).
let inboxWatch = null;

async function watchInbox() {
  if (inboxWatch) inboxWatch.abort();
  const watch = new AbortController();
  inboxWatch = watch;
  let lastEventId = null;
  while (!watch.signal.aborted && store.tokens) {
    try {
      const headers = { authorization: `Bearer ${store.tokens.access_token}`, accept: "text/event-stream" };
      if (lastEventId) headers["last-event-id"] = lastEventId;
      const response = await fetch("/v1/notifications/stream", { headers, signal: watch.signal });
      if (response.status === 401 && !(await refreshTokens())) return;
      if (response.status === 410) { lastEventId = null; await loadInbox(); continue; }
      if (response.ok) {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
          let end;
          while ((end = text.indexOf("\n\n")) >= 0) {
            const block = text.slice(0, end);
            text = text.slice(end + 2);
            const field = (name) => block.split("\n").find((line) => line.startsWith(`${name}:`))?.slice(name.length + 1).trim();
            if (field("event") !== "notification") continue;
            lastEventId = field("id");
            const { notification, unread } = JSON.parse(field("data"));
            newestSeq = Math.max(newestSeq, notification.seq);
            $("notifications").querySelector(`[data-id="${notification.id}"]`)?.remove();
            $("notifications").prepend(notificationElement(notification));
            showUnread(unread);
          }
        }
      }
    } catch (err) {
      if (watch.signal.aborted) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

$("mark-read").addEventListener("click", () => act(async () => {
  await api("POST", "/v1/notifications/read", { up_to: newestSeq });
  await loadInbox();
}));

// Moderators: open reports by target, oldest first; remove or dismiss each.
async function loadQueue() {
  const { items } = await api("GET", "/v1/moderation/reports");
  $("queue").replaceChildren(...items.map((item) => {
    const entry = document.createElement("li");
    entry.className = "queue-item";
    entry.dataset.targetId = item.target.id;
    entry.textContent = `${item.target.kind} ${item.target.id} · ${item.reports} report(s): ${item.reasons.join(", ")} `;
    for (const action of item.target.kind === "user" ? ["dismiss", "warn", "suspend"] : ["dismiss", "remove"]) {
      const control = button(action, action[0].toUpperCase() + action.slice(1), () => act(async () => {
        await api("POST", "/v1/moderation/actions", { target: item.target, action, reason: "against the community rules" });
        say(`Done: ${action}.`);
        await loadQueue();
      }));
      entry.append(" ", control);
    }
    return entry;
  }));
}

// Another user's post: report it, or block or mute its author.
function safetyControls(post) {
  const box = document.createElement("div");
  box.className = "safety";
  const reason = document.createElement("select");
  reason.className = "report-reason";
  for (const name of ["spam", "harassment", "hate", "violence", "nudity", "stolen", "other"]) {
    reason.append(new Option(name, name));
  }
  const report = button("report", "Report", () => act(async () => {
    await api("POST", "/v1/reports", { target: { kind: "post", id: post.id }, reason: reason.value });
    say("Reported: a moderator will look at it.");
  }));
  box.append(reason, " ", report);
  const username = post.author && post.author.username;
  for (const [kind, label, done] of [["mute", "Mute", "muted"], ["block", "Block", "blocked"]]) {
    if (!username) break;
    const control = button(kind, `${label} ${username}`, () => act(async () => {
      await api("POST", `/v1/users/${encodeURIComponent(username)}/${kind}`);
      say(`You ${done} ${username}.`);
      await loadFeed();
    }));
    box.append(" ", control);
  }
  return box;
}

// A creator's tiers and monthly recurring revenue; a fan's subscriptions,
// each cancellable at its period's end.
async function loadMembership() {
  const [{ tiers }, subscribers, { subscriptions }] = await Promise.all([
    api("GET", `/v1/users/${encodeURIComponent(currentUser.username)}/tiers`),
    api("GET", "/v1/subscribers"),
    api("GET", "/v1/subscriptions"),
  ]);
  $("tiers").replaceChildren(...tiers.map((tier) => {
    const item = document.createElement("li");
    item.className = "tier";
    item.textContent = `${tier.name} · ${money(tier.monthly_cents)} a month · ${tier.subscribers} subscribed`;
    return item;
  }));
  $("mrr").textContent = money(subscribers.monthly_recurring_cents);
  $("subscriptions").replaceChildren(...subscriptions.map((subscription) => {
    const item = document.createElement("li");
    item.className = "subscription";
    item.dataset.state = subscription.state;
    item.dataset.cancelling = subscription.cancel_at_period_end;
    item.dataset.paidBy = subscription.paid_by;
    const until = new Date(subscription.current_period_end).toLocaleDateString();
    item.textContent = `${money(subscription.price_cents)} a month by ${subscription.paid_by} · ${subscription.state}` +
      (subscription.cancel_at_period_end ? ` · ends ${until}` : ` · renews ${until}`);
    if (["trialing", "active", "past_due"].includes(subscription.state) && !subscription.cancel_at_period_end) {
      const cancel = button("cancel", "Cancel", () => act(async () => {
        await api("POST", `/v1/subscriptions/${subscription.id}/cancel`);
        say(`Cancelled: open until ${until}.`);
        await loadMembership();
      }));
      item.append(" ", cancel);
    }
    return item;
  }));
}

// Subscribes to the author's lowest tier that opens `post`, paying from the
// wallet or by card (the provider's test card stands in for Stripe.js, as
// for top-ups: the provider then charges it every period).
async function subscribeFor(post, button, byCard) {
  button.disabled = true;
  try {
    const { tiers } = await api("GET", `/v1/users/${encodeURIComponent(post.author.username)}/tiers`);
    const tier = tiers.find((t) => t.rank >= post.audience.min_rank);
    if (!tier) throw new ApiError("This creator has no tier for this post.");
    await api("POST", `/v1/tiers/${tier.id}/subscriptions`, byCard ? { payment_method: "pm_card_visa" } : {});
    say(`Subscribed to ${tier.name}${byCard ? " by card" : ""}.`);
    await loadWallet();
    await Promise.all([loadFeed(), loadMembership()]);
  } catch (err) {
    say(err.message, true);
    button.disabled = false;
  }
}

function signOut() {
  const tokens = store.tokens;
  store.tokens = null;
  if (inboxWatch) inboxWatch.abort();
  if (tokens) {
    fetch("/v1/auth/logout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    }).catch(() => {});
  }
  $("session").hidden = true;
  $("app").hidden = true;
  $("signin").hidden = false;
}

async function loadWallet() {
  const wallet = await api("GET", "/v1/wallet");
  currency = wallet.currency;
  $("balance").textContent = money(wallet.balance_cents);
  $("topup").textContent = `Add ${money(1000)} (dev)`;
  $("card-topup").textContent = `Add ${money(1000)} by card`;
  $("card-topup").hidden = !wallet.card_topups;
  cardPayments = wallet.card_topups;
}

// A creator's earnings: available, pending (clearing), and payouts with
// why one failed, in the provider's words.
async function loadEarnings() {
  const earnings = await api("GET", "/v1/earnings");
  $("available").textContent = money(earnings.earnings_cents);
  $("pending").textContent = money(earnings.pending_cents);
  $("payout-form").hidden = !earnings.payouts_enabled;
  $("payouts").replaceChildren(...earnings.payouts.map((payout) => {
    const item = document.createElement("li");
    item.className = "payout";
    item.dataset.state = payout.state;
    item.textContent = `${money(payout.amount_cents)} · ${payout.state}` + (payout.failure ? ` — ${payout.failure}` : "");
    return item;
  }));
}

function photoElement(post, photo) {
  const box = document.createElement("div");
  box.className = "photo";
  if (photo.unavailable) {
    // Taken down or deleted by its owner: nothing to load.
    const note = document.createElement("span");
    note.className = "unavailable";
    note.textContent = "This photo is no longer available.";
    box.append(note);
    return box;
  }
  const img = document.createElement("img");
  img.alt = post.caption || "photo";
  if (photo.locked) {
    box.classList.add("locked");
    img.src = photo.preview_url;
    img.dataset.kind = "preview";
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = `🔒 ${money(photo.price_cents)}`;
    box.append(img, badge);
  } else if (photo.url) {
    img.src = photo.url;
    img.dataset.kind = "full";
    box.append(img);
    if (post.price_cents && currentUser && post.author_id === currentUser.id) box.append(traceElement(photo));
  } else {
    // url-signer could not answer in time: show the preview, say why.
    img.src = photo.preview_url;
    img.dataset.kind = "preview";
    const note = document.createElement("span");
    note.className = "unavailable";
    note.textContent = "temporarily unavailable";
    box.append(img, note);
  }
  return box;
}

// On the creator's own paid photo: drop (or choose) a leaked copy, learn
// which buyer's copy it is.
function traceElement(photo) {
  const zone = document.createElement("label");
  zone.className = "trace";
  const input = document.createElement("input");
  input.type = "file";
  input.accept = "image/jpeg,image/png,image/webp";
  const result = document.createElement("span");
  result.className = "trace-result";
  result.textContent = "Found a leak? Drop it here to trace it.";
  const traceFile = (file) => act(async () => {
    result.textContent = "Tracing…";
    const found = await api("POST", `/v1/media/${photo.media_id}/trace`, file);
    result.textContent = found.found
      ? `Leaked from ${found.buyer.username || found.buyer.id}'s copy (purchase ${found.purchase_id}, confidence ${Math.round(found.confidence * 100)}%).`
      : "No buyer's mark found in that image.";
  });
  input.addEventListener("change", () => input.files[0] && traceFile(input.files[0]));
  zone.addEventListener("dragover", (event) => event.preventDefault());
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files[0]) traceFile(event.dataTransfer.files[0]);
  });
  zone.append(input, result);
  return zone;
}

function postElement(post) {
  const item = document.createElement("li");
  item.className = "post";
  item.dataset.postId = post.id;
  const meta = document.createElement("div");
  meta.className = "meta";
  const author = (post.author && post.author.username) || post.author_id;
  meta.textContent = `${author} · ${new Date(post.created_at).toLocaleString()}` +
    (post.price_cents ? ` · paid ${money(post.price_cents)}` : " · free") +
    (post.audience.kind === "anyone" ? "" : ` · for ${post.audience.kind}`);
  const caption = document.createElement("p");
  caption.textContent = post.caption;
  const photos = document.createElement("div");
  photos.className = "photos";
  photos.append(...post.photos.map((photo) => photoElement(post, photo)));
  item.append(meta, caption, photos);
  const locked = post.photos.some((photo) => photo.locked && !photo.unavailable);
  if (locked && post.audience.kind === "subscribers" && post.author) {
    const subscribe = button("subscribe", `Subscribe to ${post.author.username}`, () => subscribeFor(post, subscribe, false));
    item.append(subscribe);
    if (cardPayments) {
      const byCard = button("subscribe-card", "by card", () => subscribeFor(post, byCard, true));
      item.append(" ", byCard);
    }
  }
  if (post.author && currentUser && post.author.id !== currentUser.id) item.append(safetyControls(post));
  if (locked && post.price_cents) {
    const buy = button("buy", `Buy for ${money(post.price_cents)}`, () => buyPost(post.id, buy));
    item.append(buy);
  }
  return item;
}

async function loadFeed() {
  const page = await api("GET", "/v1/feed");
  $("feed").replaceChildren(...page.items.map(postElement));
}

async function buyPost(postId, button) {
  if (!purchaseKeys.has(postId)) purchaseKeys.set(postId, crypto.randomUUID());
  button.disabled = true;
  try {
    await api("POST", `/v1/posts/${postId}/purchase`, undefined, { "idempotency-key": purchaseKeys.get(postId) });
    say("Bought. Enjoy the photos.");
    await loadWallet();
  await Promise.all([loadEarnings(), loadFeed()]);
  } catch (err) {
    say(err.message, true);
    button.disabled = false;
  }
}

async function act(work) {
  try {
    await work();
  } catch (err) {
    say(err.message, true);
  }
}

$("queue-refresh").addEventListener("click", () => act(loadQueue));

$("signup").addEventListener("click", () => act(async () => {
  const body = await api("POST", "/v1/auth/signup", {
    username: $("username").value, email: $("email").value, password: $("password").value,
  });
  store.tokens = body.tokens;
  store.rememberDevice($("username").value, body.tokens.device_token);
  say("Welcome to Shutter.");
  await signedIn();
}));

$("auth-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => {
    const login = $("username").value;
    const device_token = store.deviceToken(login);
    const tokens = await api("POST", "/v1/auth/login", { login, password: $("password").value, ...(device_token ? { device_token } : {}) });
    store.rememberDevice(login, tokens.device_token);
    store.tokens = tokens;
    say("Signed in.");
    await signedIn();
  });
});

$("signout").addEventListener("click", signOut);
$("refresh").addEventListener("click", () => act(loadFeed));

$("topup").addEventListener("click", () => act(async () => {
  const wallet = await api("POST", "/v1/wallet/dev-topup", { amount_cents: 1000 });
  $("balance").textContent = money(wallet.balance_cents);
  say(`Added ${money(1000)} (development top-up).`);
}));

// The provider's test card stands in for Stripe.js here: the payment is
// confirmed at once, and the wallet grows when the provider's webhook says so.
$("card-topup").addEventListener("click", () => act(async () => {
  const started = await api("POST", "/v1/wallet/topups", { amount_cents: 1000, payment_method: "pm_card_visa" });
  say("Card payment sent; waiting for the provider to confirm it…");
  for (let waited = 0; waited < 30000; waited += 500) {
    const { topups } = await api("GET", "/v1/wallet/topups");
    const topup = topups.find((t) => t.id === started.id);
    if (topup && topup.state === "succeeded") {
      await loadWallet();
      say(`Added ${money(1000)} by card.`);
      return;
    }
    if (topup && ["failed", "canceled"].includes(topup.state)) {
      throw new ApiError(`The card payment ${topup.state}${topup.failure ? `: ${topup.failure}` : ""}.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new ApiError("The provider has not confirmed the payment yet; your wallet grows when it does.");
}));

$("earnings-refresh").addEventListener("click", () => act(loadEarnings));

$("tier-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => {
    const { tiers } = await api("GET", `/v1/users/${encodeURIComponent(currentUser.username)}/tiers`);
    const rank = Math.min(5, tiers.length + 1);
    const monthlyCents = Math.round(Number($("tier-price").value || 0) * 100);
    await api("POST", "/v1/tiers", { rank, name: $("tier-name").value, monthly_cents: monthlyCents });
    $("tier-form").reset();
    say("Tier created.");
    await loadMembership();
  });
});

$("payout-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => {
    const amountCents = Math.round(Number($("payout-amount").value || 0) * 100);
    const payout = await api("POST", "/v1/earnings/payouts", { amount_cents: amountCents }, { "idempotency-key": crypto.randomUUID() });
    say(`Payout of ${money(payout.amount_cents)}: ${payout.state}.`);
    await loadEarnings();
  });
});

$("follow-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => {
    const name = $("follow-name").value.trim();
    await api("POST", `/v1/users/${encodeURIComponent(name)}/follow`);
    say(`Following ${name}.`);
    await loadFeed();
  });
});

$("compose").addEventListener("submit", (event) => {
  event.preventDefault();
  act(async () => {
    const files = [...$("photos").files];
    const mediaIds = [];
    for (const [index, file] of files.entries()) {
      say(`Uploading photo ${index + 1} of ${files.length}…`);
      mediaIds.push((await api("POST", "/v1/media", file)).id);
    }
    const priceCents = Math.round(Number($("price").value || 0) * 100);
    const kind = $("audience").value;
    const audience = kind === "subscribers" ? { kind, min_rank: 1 } : { kind };
    await api("POST", "/v1/posts", { caption: $("caption").value, media_ids: mediaIds, price_cents: priceCents, audience });
    $("compose").reset();
    say("Published.");
    await loadFeed();
  });
});

if (store.tokens) act(signedIn).catch(() => signOut());
