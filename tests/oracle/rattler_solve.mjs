// Differential oracle: solve conda specs with rattler (resolvo, compiled to WASM).
//   node rattler_solve.mjs --channel URL --platform P [--json-out FILE] SPEC...
// Prints one JSON document on stdout:
//   {"solved": true, "packages": [{"name","version","build","filename","subdir"}...]}
//   {"solved": false, "message": "<rattler's explanation>"}
// rattler-wasm's simpleSolve has no virtual-package parameter: serve a channel whose repodata
// carries the virtual packages as records (tests/solver_oracle.py does that).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const rattler = require("@conda-org/rattler");

const args = process.argv.slice(2);
const channels = [];
let platform = "linux-64";
const specs = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--channel") channels.push(args[++i]);
  else if (args[i] === "--platform") platform = args[++i];
  else specs.push(args[i]);
}

try {
  const t0 = process.hrtime.bigint();
  const solved = await rattler.simpleSolve(specs, channels, [platform, "noarch"], []);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const packages = solved.map((p) => ({
    name: p.packageName,
    version: p.version,
    build: p.build,
    filename: p.filename,
    subdir: p.subdir ?? null,
  }));
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  process.stdout.write(JSON.stringify({ solved: true, packages, ms }) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ solved: false, message: String(e) }) + "\n");
}
