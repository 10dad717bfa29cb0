/**
 * `npm run app` (dev server on 127.0.0.1:5173, `-- --port N`) and `npm run app:build` (static bundle in app/dist).
 * The app fetches `deployments/<network>.json` at run time: the dev and preview servers serve it from the
 * repository's deployments/ (or from KEEL_DEPLOYMENTS), so `npm run node` then `npm run app` needs no other setup.
 * A static host serves the manifest next to the bundle instead: one build serves any deployment.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Connect, type Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const deployments = resolve(process.env.KEEL_DEPLOYMENTS ?? join(here, "..", "deployments"));

/** Serves `/deployments/<name>.json` from the deployments directory, read fresh on every request. */
function serveDeployments(): Plugin {
  const middleware: Connect.NextHandleFunction = (req, res, next) => {
    const m = /^\/deployments\/([A-Za-z0-9_-]+)\.json(?:\?.*)?$/.exec(req.url ?? "");
    if (!m) return next();
    const file = join(deployments, `${m[1]}.json`);
    if (!existsSync(file)) {
      res.statusCode = 404;
      res.end(`no deployment manifest at ${file}: run \`npm run node\` first`);
      return;
    }
    res.setHeader("Content-Type", "application/json");
    res.setHeader("Cache-Control", "no-store");
    res.end(readFileSync(file));
  };
  return {
    name: "keel-deployments",
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  };
}

export default defineConfig({
  root: here,
  base: "./",
  plugins: [react(), serveDeployments()],
  server: { host: "127.0.0.1", port: 5173, fs: { allow: [join(here, "..")] } },
  preview: { host: "127.0.0.1", port: 4173 },
  build: { outDir: join(here, "dist"), emptyOutDir: true, chunkSizeWarningLimit: 800 },
});
