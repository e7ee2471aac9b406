/**
 * Bundles the page (`dist/app.js`, minified, with `index.html`), the test
 * wallet (`dist/test-wallet.js`) and the bench's page (`dist/bench.js`)
 * with esbuild, and writes
 * `dist/meta.json` (esbuild's metafile: what each input adds), which the
 * bench reads for the bundle's size and what dominates it.
 */
import { build } from "esbuild";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";

mkdirSync("dist", { recursive: true });
// production: kit drops its error messages (codes stay), as a dApp's bundler does
const common = { bundle: true, format: "esm", platform: "browser", target: "es2022", minify: true, sourcemap: false, logLevel: "warning", define: { "process.env.NODE_ENV": '"production"' } };
const app = await build({ ...common, entryPoints: ["src/app.ts"], outfile: "dist/app.js", metafile: true });
await build({ ...common, format: "iife", entryPoints: ["src/test-wallet.ts"], outfile: "dist/test-wallet.js" });
await build({ ...common, entryPoints: ["src/bench-page.ts"], outfile: "dist/bench.js" });
writeFileSync("dist/meta.json", JSON.stringify(app.metafile));
copyFileSync("index.html", "dist/index.html");
