/**
 * The layers of the TypeScript and the one direction imports may point (README "Layout"; checked by `npm run lint`):
 *
 *   src/math, src/units  ←  src/protocol  ←  src/keeper, src/cli, src/risk  ←  deploy/  ←  dev/  ←  scenario/  ←  scripts/, test/
 *
 * app/src (the web app) stands beside the keeper and the CLI and may use only src/math, src/units and src/protocol.
 * No cycles anywhere. typechain-types/ is generated from the contracts and may be imported from every layer.
 */
const LAYERS = ["src/(math|units)", "src/protocol", "src/(keeper|cli|risk)", "deploy", "dev", "scenario", "scripts"];
const above = (i) => `^(${LAYERS.slice(i + 1).join("|")}|test|app)/`;

module.exports = {
  forbidden: [
    { name: "no-cycle", severity: "error", comment: "Import cycles hide which module owns a concept.", from: {}, to: { circular: true } },
    ...LAYERS.map((layer, i) => ({
      name: `one-way-${layer.replace(/[^a-z]+/g, "-").replace(/-$/, "")}`,
      severity: "error",
      comment: `${layer}/ may import only the layers below it (see the drawing at the top of this file).`,
      from: { path: `^${layer}/` },
      to: { path: above(i) },
    })),
    {
      name: "math-and-units-are-the-base",
      severity: "error",
      comment: "src/math and src/units import nothing of Keel's but each other.",
      from: { path: "^src/(math|units)/" },
      to: { path: "^(src/(protocol|keeper|cli|risk)|typechain-types)/" },
    },
    {
      name: "clients-stand-side-by-side",
      severity: "error",
      comment: "The keeper, the CLI and the risk analytics share code only through src/protocol and below.",
      from: { path: "^src/(keeper|cli|risk)/" },
      to: { path: "^src/(keeper|cli|risk)/", pathNot: "^src/$1/" },
    },
    {
      name: "app-uses-the-shared-protocol-only",
      severity: "error",
      comment: "The web app runs in a browser: it may use src/math, src/units and src/protocol, nothing else of Keel's.",
      from: { path: "^app/src/" },
      to: { path: "^(src/(keeper|cli|risk)|deploy|dev|scenario|scripts|test|typechain-types)/" },
    },
    {
      name: "browser-safe-core",
      severity: "error",
      comment: "What the web app imports must run in a browser: no Node built-ins.",
      from: { path: "^(app/src|src/math|src/units|src/protocol)/" },
      to: { dependencyTypes: ["core"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|typechain-types|artifacts|cache|coverage|dist|app/dist)/" },
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
  },
};
