/**
 * The shared protocol layer (src/math, src/units, src/protocol) runs in the web app's browser bundle as well as in
 * Node: it imports nothing of Node (no `node:` modules, no builtins), nothing that needs a provider (ethers,
 * hardhat), and nothing outside itself but each other.
 */
import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";

const SHARED = ["math", "units", "protocol"];
const SRC = join(__dirname, "..", "..", "src");

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']|require\(\s*["']([^"']+)["']\s*\)|import\(\s*["']([^"']+)["']\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? "",
  );
}

describe("BrowserSafe", () => {
  for (const dir of SHARED) {
    for (const name of readdirSync(join(SRC, dir)).filter((f) => f.endsWith(".ts"))) {
      it(`test_imports_${dir}_${name.replace(".ts", "")}_browserSafe`, () => {
        for (const spec of importsOf(join(SRC, dir, name))) {
          expect(spec.startsWith("node:") || builtinModules.includes(spec), `${dir}/${name} imports ${spec}`).to.equal(false);
          if (!spec.startsWith(".")) expect.fail(`${dir}/${name} imports the package ${spec}`);
          const target = spec.replace(/^\.\.\//, "").split("/")[0]!;
          if (spec.startsWith("../")) expect(SHARED, `${dir}/${name} imports ${spec}`).to.include(target);
        }
      });
    }
  }
});
