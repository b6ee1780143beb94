// Runs every case of cases.json through rattler's solver (resolvo, WASM) and checks the
// documented outcome. usage: node fixture_cases_rattler.cjs CASES_JSON BASE_URL
// BASE_URL serves oracle_channel.py copies: BASE_URL/default/channel and BASE_URL/cuda/channel.
const fs = require("fs");
const r = require("@conda-org/rattler");
const [casesPath, base] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(casesPath, "utf8")).cases;
(async () => {
  let failures = 0;
  for (const c of cases) {
    const chan = base + (c.virtual ? "/cuda/channel" : "/default/channel");
    let outcome, detail = "";
    try {
      const pk = await r.simpleSolve(c.specs, [chan], [c.platform, "noarch"], []);
      outcome = "solvable";
      const got = Object.fromEntries(pk.map((p) => [p.packageName, [p.version, p.build]]));
      for (const [name, want] of Object.entries(c.expect || {})) {
        const [v, b] = want.split(" ");
        const g = got[name];
        if (!g || g[0] !== v || (b && g[1] !== b)) {
          detail += ` ${name}: want ${want}, got ${g ? g.join(" ") : "nothing"};`;
        }
      }
    } catch (e) {
      outcome = "unsolvable";
      const msg = String(e);
      for (const name of c.conflict || []) {
        if (!msg.includes(name)) detail += ` explanation does not mention ${name};`;
      }
    }
    const ok = outcome === c.outcome && detail === "";
    if (!ok) failures++;
    console.log(`${ok ? "ok  " : "FAIL"} ${c.id}: ${outcome}${detail}`);
  }
  process.exit(failures ? 1 : 0);
})();
