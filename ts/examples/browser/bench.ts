/**
 * The TypeScript payer's numbers (issue 29), printed as a table and, with
 * `--json`, as JSON:
 * - vouchers signed per second in Node and in Chromium (WebCrypto Ed25519
 *   and the `@noble/ed25519` fallback), and payments per second through the
 *   payer with a durable store (a file in Node, IndexedDB in Chromium);
 * - beside them the Rust payer's, from `micropay bench accept` when
 *   `MICROPAY_BIN` names a release binary built with `--features bench`;
 * - the page's bundle (minified, gzip) and what dominates it;
 * - in Chromium, the time a micropay 402 → paid answer takes, against a
 *   free request to the same server (p50/p99). The server is in this
 *   process: it answers the 402 and verifies each voucher's signature, as
 *   a receiver does before it serves (`micropay bench-paywall` measures
 *   what `serve` adds).
 *
 * `npm run bench -w micropay-browser-example [-- --json]`; `CHROMIUM` names
 * the browser (`/usr/bin/chromium` unless told).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import type { Address } from "@solana/kit";
import { decodePaymentSignatureHeader, encodePaymentRequiredHeader, encodePaymentResponseHeader } from "@x402/core/http";
import { fromWire, keyFromSeed, MemoryStore, MICROPAY_PROGRAM_ADDRESS, verifyVoucher } from "@micropay/sdk";
import { FileStore } from "@micropay/sdk/node";
import { paysPerSecond, signRates } from "./src/measure.js";

const VOUCHERS = 20_000;
const PAYMENTS = 2_000;
const REQUESTS = 300;
const CHANNEL = "8qbHbw2BbbTHBW1sbeqakYXVKRQM8Ne7pLK7m6CVfeR" as Address;
const CREATOR = "CktRuQ2mttgRGkXJtyksdKHjUdc2C4TgDzyB98oEzy8" as Address;
const MINT = "So11111111111111111111111111111111111111112" as Address;
const SEED = new Array(32).fill(1);

const SUBJECT = { channel: CHANNEL, creator: CREATOR, mint: MINT, seed: Uint8Array.from(SEED) };

async function node() {
  const signing = await signRates(SUBJECT, VOUCHERS);
  const paysMemory = (await paysPerSecond(new MemoryStore(), SUBJECT, PAYMENTS, "http://bench")).perSecond;
  const file = new FileStore(join(mkdtempSync(join(tmpdir(), "micropay-bench-")), "payer.json"));
  const paysFile = (await paysPerSecond(file, SUBJECT, PAYMENTS, "http://bench")).perSecond;
  return { ...signing, paysMemory, paysFile };
}

/** Serves the bench page, `/free`, and `/paid` (a micropay 402, then a verified voucher). */
async function server() {
  const session = await keyFromSeed(Uint8Array.from(SEED));
  let held = 0n;
  const offer = (url: string) => ({
    x402Version: 2,
    error: "payment required",
    resource: { url, description: "", mimeType: "text/plain" },
    accepts: [{ scheme: "micropay", network: "solana:localnet", amount: "1", asset: MINT, payTo: CREATOR, maxTimeoutSeconds: 60, extra: { programId: MICROPAY_PROGRAM_ADDRESS } }],
  });
  const files: Record<string, [string, string]> = {
    "/bench.html": ["text/html", '<!doctype html><link rel="icon" href="data:,"><script type="module" src="/bench.js"></script>'],
    "/bench.js": ["text/javascript", readFileSync("dist/bench.js", "utf8")],
  };
  const http = createServer(async (req, res) => {
    const file = files[req.url ?? ""];
    if (file) return res.writeHead(200, { "content-type": file[0] }).end(file[1]);
    if (req.url === "/free") return res.end("free");
    const header = req.headers["payment-signature"] as string | undefined;
    const voucher = header ? fromWire(decodePaymentSignatureHeader(header).payload) : undefined;
    if (!voucher || voucher.amount <= held || !(await verifyVoucher(voucher, session.address))) {
      return res.writeHead(402, { "PAYMENT-REQUIRED": encodePaymentRequiredHeader(offer(`http://${req.headers.host}${req.url}`) as never) }).end();
    }
    held = voucher.amount;
    res.writeHead(200, { "PAYMENT-RESPONSE": encodePaymentResponseHeader({ success: true, transaction: "", network: "solana:localnet", payer: CHANNEL } as never) }).end("paid");
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return { origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, close: () => (http.closeAllConnections(), http.close()) };
}

async function browser() {
  const s = await server();
  const b = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await b.newPage();
    await page.goto(`${s.origin}/bench.html`);
    await page.waitForFunction(() => "micropayBench" in window);
    const config = { vouchers: VOUCHERS, payments: PAYMENTS, requests: REQUESTS, channel: CHANNEL, creator: CREATOR, mint: MINT, seed: SEED };
    return await page.evaluate((c) => (window as unknown as { micropayBench: (c: unknown) => Promise<Record<string, number | boolean>> }).micropayBench(c), config);
  } finally {
    await b.close();
    s.close();
  }
}

/** The page bundle's size, and its largest packages. */
function bundle() {
  const js = readFileSync("dist/app.js");
  const meta = JSON.parse(readFileSync("dist/meta.json", "utf8")) as { outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }> };
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(meta.outputs["dist/app.js"]!.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    const name = m ? m[1]! : input.includes("packages/sdk") ? "@micropay/sdk" : "the page";
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const top = [...byPackage.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([name, bytes]) => ({ name, bytes }));
  return { minified: js.length, gzip: gzipSync(js, { level: 9 }).length, top };
}

/** The Rust payer's durable pays per second, from `micropay bench accept`. */
function rust(): { onePerWrite: number; reserveAhead: number } | undefined {
  const bin = process.env.MICROPAY_BIN;
  if (!bin) return undefined;
  const out = JSON.parse(execFileSync(bin, ["bench", "accept", "--vouchers", "20000", "--output", "json"], { encoding: "utf8" })) as {
    cases: { operation: string; mode: string; per_second: number }[];
  };
  const pay = (mode: string) => out.cases.find((c) => c.operation === "pay" && c.mode === mode)?.per_second ?? NaN;
  return { onePerWrite: pay("one write each"), reserveAhead: pay("reserve 64 ahead") };
}

execFileSync(process.execPath, ["build.mjs"], { stdio: "inherit" });
const results = { node: await node(), chromium: await browser(), bundle: bundle(), rust: rust() };
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(results));
} else {
  const n = (x: unknown) => (typeof x === "number" ? Math.round(x).toLocaleString("en-US") : "—");
  const ms = (x: unknown) => (typeof x === "number" ? `${x.toFixed(2)} ms` : "—");
  const { node: nd, chromium: ch, bundle: bd, rust: rs } = results;
  console.log("| where | sign (WebCrypto) /s | sign (@noble/ed25519) /s | durable pays /s | pays in memory /s |");
  console.log("|---|---:|---:|---:|---:|");
  console.log(`| Node ${process.version} | ${n(nd.signWebCrypto)} | ${n(nd.signNoble)} | ${n(nd.paysFile)} (file, fsync) | ${n(nd.paysMemory)} |`);
  console.log(`| Chromium | ${n(ch.signWebCrypto)} | ${n(ch.signNoble)} | ${n(ch.pays)} (IndexedDB, strict) | — |`);
  if (rs) console.log(`| Rust payer (16 clients) | — | — | ${n(rs.onePerWrite)} (SQLite, one write each) | ${n(rs.reserveAhead)} (reserve 64 ahead) |`);
  console.log(`\nChromium, ${REQUESTS} requests: free p50 ${ms(ch.freeP50)} p99 ${ms(ch.freeP99)}; 402 → paid p50 ${ms(ch.paidP50)} p99 ${ms(ch.paidP99)}; added p50 ${ms(Number(ch.paidP50) - Number(ch.freeP50))} p99 ${ms(Number(ch.paidP99) - Number(ch.freeP99))}`);
  console.log(`\nbundle (dist/app.js): ${n(bd.minified)} bytes minified, ${n(bd.gzip)} gzip; largest: ${bd.top.map((t) => `${t.name} ${n(t.bytes)}`).join(", ")}`);
}
