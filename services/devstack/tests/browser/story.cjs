// The new user's story, walked through the web page in headless Chromium:
//   node story.cjs PUBLIC_URL PHOTO_1 PHOTO_2
// PLAYWRIGHT_CORE names the playwright-core module, CHROMIUM the browser.
// Exits 0 when every step held; otherwise prints the failure (and leaves a
// screenshot next to the photos).
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

const [publicUrl, photo1, photo2] = process.argv.slice(2);
const run = `${Date.now().toString(36)}`;
const alice = `alice${run}`;
const bob = `bob${run}`;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function signUp(page, name) {
  await page.goto(publicUrl);
  await page.fill("#username", name);
  await page.fill("#email", `${name}@example.com`);
  await page.fill("#password", "password123");
  await page.click("#signup");
  await page.waitForSelector("#app:not([hidden])");
  check((await page.textContent("#me")) === name, `signed in as ${name}`);
}

async function publish(page, file, caption, price, audience = "anyone") {
  await page.setInputFiles("#photos", file);
  await page.fill("#caption", caption);
  await page.fill("#price", price);
  await page.selectOption("#audience", audience);
  await page.click("#publish");
  await page.waitForSelector(`#feed .post:has-text("${caption}")`);
}

async function signIn(page, name) {
  await page.click("#signout");
  await page.fill("#username", name);
  await page.fill("#password", "password123");
  await page.click("#login");
  await page.waitForSelector("#app:not([hidden])");
  check((await page.textContent("#me")) === name, `signed in as ${name}`);
}

// Waits until `selector`'s image has really loaded, and answers its src.
async function loadedImage(page, selector) {
  const img = page.locator(selector);
  await img.waitFor();
  await page.waitForFunction(
    (el) => el.complete && el.naturalWidth > 0,
    await img.elementHandle(),
    { timeout: 15000 },
  );
  return img.getAttribute("src");
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const screenshot = path.join(path.dirname(photo1), "failure.png");
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  try {
    // Alice posts one free and one paid photo.
    await signUp(page, alice);
    await publish(page, photo1, "free sunrise", "0");
    await publish(page, photo2, "paid sunset", "2.50");
    await page.click("#signout");

    // Bob follows her and sees the free photo and a locked preview with its price.
    await signUp(page, bob);
    await page.fill("#follow-name", alice);
    await page.click("#follow");
    await page.waitForSelector('#feed .post:has-text("paid sunset")');
    const freeSrc = await loadedImage(page, '#feed .post:has-text("free sunrise") img[data-kind="full"]');
    check(freeSrc.startsWith(`${publicUrl}/private/`) && freeSrc.includes("Signature="), `free photo is signed: ${freeSrc}`);
    const paid = page.locator('#feed .post:has-text("paid sunset")');
    const previewSrc = await loadedImage(page, '#feed .post:has-text("paid sunset") img[data-kind="preview"]');
    check(previewSrc.startsWith(`${publicUrl}/public/previews/`), `locked photo shows its preview: ${previewSrc}`);
    check((await paid.locator(".badge").textContent()).includes("€2.50"), "locked photo shows its price");
    check((await paid.locator('img[data-kind="full"]').count()) === 0, "no full image before buying");

    // Buying without money says so; after a card top-up (through the
    // provider and its webhook) it works.
    await paid.locator("button.buy").click();
    await page.waitForSelector("#status.error");
    await page.click("#card-topup");
    await page.waitForFunction(() => document.getElementById("balance").textContent === "€10.00");
    await paid.locator("button.buy").click();
    const boughtSrc = await loadedImage(page, '#feed .post:has-text("paid sunset") img[data-kind="full"]');
    // Bob's own copy, under his prefix, served by his cookie: no signature in the URL.
    check(boughtSrc.startsWith(`${publicUrl}/private/viewers/`) && !boughtSrc.includes("Signature="), `bought photo is bob's copy, by cookie: ${boughtSrc}`);
    await page.waitForFunction(() => document.getElementById("balance").textContent === "€7.50");

    // Bob's copy leaks. Alice drops it on her paid photo and learns it was Bob's.
    const leaked = path.join(path.dirname(photo1), "leaked.jpg");
    fs.writeFileSync(leaked, await (await context.request.get(boughtSrc)).body());
    await page.click("#signout");
    await page.fill("#username", alice);
    await page.fill("#password", "password123");
    await page.click("#login");
    await page.waitForSelector("#app:not([hidden])");
    const own = page.locator('#feed .post:has-text("paid sunset")');
    await own.locator(".trace input").setInputFiles(leaked);
    await page.waitForFunction(
      (name) => [...document.querySelectorAll(".trace-result")].some((el) => el.textContent.includes(`Leaked from ${name}'s copy`)),
      bob,
    );
    // Her sale is hers to pay out (it clears at once on the dev stack). The
    // bank sends the payout back: the page says so and why, and the money is back.
    await page.click("#earnings-refresh");
    await page.waitForFunction(() => document.getElementById("available").textContent === "€2.50");
    await page.fill("#payout-amount", "2.50");
    await page.click("#payout");
    await page.waitForSelector('.payout[data-state="pending"]');
    check((await page.textContent("#available")) === "€0.00", "the payout is debited at once");
    const stripe = (method, p, form) => fetch(`${process.env.STRIPE_API}${p}`, {
      method, headers: { authorization: `Bearer ${process.env.STRIPE_KEY}` }, body: form && new URLSearchParams(form),
    }).then((r) => r.json());
    const payout = (await stripe("GET", "/v1/payouts?limit=100")).data.find((p) => p.amount === 250);
    await stripe("POST", `/v1/payouts/${payout.id}`, { status: "failed" });
    // The provider's event reaches post a moment later: look again until the page shows it.
    const settled = async () => (await page.locator('.payout[data-state="failed"]').count()) > 0
      && (await page.textContent("#available")) === "€2.50";
    for (let tries = 0; tries < 50 && !(await settled()); tries++) {
      await page.click("#earnings-refresh");
      await page.waitForTimeout(200);
    }
    const failed = await page.locator('.payout[data-state="failed"]').textContent();
    check(failed.includes("could not send"), `a failed payout says why: ${failed}`);
    check((await page.textContent("#available")) === "€2.50", "the failed payout's money is back");

    // Alice opens a membership and posts for her subscribers; Bob subscribes
    // by card (the provider charges it), sees the post open (his own copy, by
    // his cookie), and cancels. (The wallet's Subscribe is the API tests'.)
    await page.fill("#tier-name", "Fans");
    await page.fill("#tier-price", "3");
    await page.click("#tier-create");
    await page.waitForSelector('.tier:has-text("Fans")');
    await publish(page, photo2, "members only", "0", "subscribers");
    await page.click("#signout");
    await page.fill("#username", bob);
    await page.fill("#password", "password123");
    await page.click("#login");
    await page.waitForSelector("#app:not([hidden])");
    const members = '#feed .post:has-text("members only")';
    await page.waitForSelector(`${members} img[data-kind="preview"]`);
    check((await page.locator(`${members} button.buy`).count()) === 0, "a members' post is not for sale");
    check((await page.locator(`${members} button.subscribe`).count()) === 1, "subscribe from the wallet is offered");
    await page.locator(`${members} button.subscribe-card`).click();
    const memberSrc = await loadedImage(page, `${members} img[data-kind="full"]`);
    check(memberSrc.startsWith(`${publicUrl}/private/viewers/`), `a subscriber's own copy: ${memberSrc}`);
    await page.waitForSelector('.subscription[data-state="active"][data-paid-by="card"]');
    check((await page.textContent("#balance")) === "€7.50", "the card paid, not the wallet");
    await page.locator(".subscription button.cancel").click();
    await page.waitForSelector('.subscription[data-cancelling="true"]');

    // Bob reports Alice's free post; a moderator sees it in the queue and
    // removes it (its photo taken down); Bob no longer sees it.
    const sunrise = page.locator('#feed .post:has-text("free sunrise")');
    await sunrise.locator("select.report-reason").selectOption("spam");
    await sunrise.locator("button.report").click();
    await page.waitForFunction(() => document.getElementById("status").textContent.startsWith("Reported"));
    check((await page.locator("#moderation").isHidden()), "no moderation view for Bob");
    await signIn(page, process.env.MODERATOR);
    const item = page.locator('.queue-item:has-text("spam")');
    await item.waitFor();
    check((await item.textContent()).includes("1 report"), `one report: ${await item.textContent()}`);
    await item.locator("button.remove").click();
    await page.waitForFunction(() => document.querySelectorAll(".queue-item").length === 0);
    await signIn(page, bob);
    await page.waitForSelector('#feed .post:has-text("members only")');
    check((await page.locator('#feed .post:has-text("free sunrise")').count()) === 0, "the removed post is gone");
    await page.waitForSelector('.notification[data-kind="report_resolved"]:has-text("remove")');

    // Alice sees the decision in her inbox; while she is on the page, Bob
    // follows her again and her badge and inbox move without a reload.
    await signIn(page, alice);
    const decision = page.locator('.notification[data-kind="moderated"]');
    await decision.waitFor();
    check((await decision.textContent()).includes("remove"), `the decision: ${await decision.textContent()}`);
    const unreadBefore = Number(await page.textContent("#unread"));
    const followsBefore = await page.locator('.notification[data-kind="followed"]').count();
    const asBob = await fetch(`${publicUrl}/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ login: bob, password: "password123" }),
    }).then((r) => r.json());
    for (const method of ["DELETE", "POST"]) {
      const followed = await fetch(`${publicUrl}/v1/users/${alice}/follow`, {
        method, headers: { authorization: `Bearer ${asBob.access_token}` },
      });
      check(followed.status === 204, `bob ${method} follow: ${followed.status}`);
    }
    await page.waitForFunction(
      (before) => document.querySelectorAll('.notification[data-kind="followed"]').length > before,
      followsBefore,
    );
    check(Number(await page.textContent("#unread")) === unreadBefore + 1, "the badge counted it live");
    await page.click("#mark-read");
    await page.waitForFunction(() => document.getElementById("unread").textContent === "0");
    if (process.env.STORY_SCREENSHOT) await page.screenshot({ path: process.env.STORY_SCREENSHOT, fullPage: true });
    console.log("browser story: ok");
  } catch (err) {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    console.error(`browser story failed: ${err.stack || err}\nscreenshot: ${screenshot}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
