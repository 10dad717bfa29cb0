#!/usr/bin/env node
/* global require, process, __dirname */
/**
 * A solc executable for forge, over the pinned solc-js of package.json (forge cannot download compilers here;
 * foundry.toml points `solc` at this file). Answers `--version` like the native binary, and `--standard-json`
 * from stdin to stdout; imports forge did not inline resolve against the project and node_modules.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const fs = require("node:fs");
const path = require("node:path");
const solc = require("solc");

const root = path.resolve(__dirname, "..");

function findImports(file) {
  for (const base of [root, path.join(root, "node_modules")]) {
    const full = path.resolve(base, file);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  }
  return { error: `not found: ${file}` };
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
} else {
  process.stderr.write("usage: solc.cjs --version | --standard-json < input.json\n");
  process.exit(2);
}
