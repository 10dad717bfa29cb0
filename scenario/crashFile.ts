/**
 * Scenarios from JSON files, validated with zod:
 *
 *     { "name": "my-crash", "description": "…", "step": "30m", "hours": 24,
 *       "keyframes": { "WETH": [[0, 1], [10, 0.6], [24, 0.7]] },
 *       "ammDepth": { "WETH": "2000" }, "feedback": 0.5, "cureRate": 0.5 }
 *
 * `step` is a duration ("30m", "1h") or seconds; `ammDepth` (whole tokens per pool) defaults to DEFAULT_AMM_DEPTH;
 * `feedback` and `cureRate` default to 0 and 0.5. `loadScenario` takes a built-in name or a path.
 */
import { existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import { parseDuration } from "../src/units";
import { SCENARIOS } from "./crashes";
import { DEFAULT_AMM_DEPTH, fromKeyframes, type Keyframe, type Scenario, ScenarioError } from "./crash";

/** Steps a replay may take at most: a step costs a keeper pass on the real contracts. */
export const MAX_STEPS = 500;

const symbol = z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, "an asset symbol such as WETH");
const fraction = z.number().min(0).max(1);
const keyframe = z.tuple([z.number().nonnegative(), z.number().positive()]);
const depth = z.union([z.string().regex(/^\d[\d,]*(\.\d+)?$/, "whole tokens such as \"5000\""), z.number().positive()]);

const scenarioSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "lower-case letters, digits and dashes"),
    description: z.string().optional(),
    step: z.union([z.string(), z.number().int().positive()]),
    hours: z.number().positive(),
    keyframes: z.record(symbol, z.array(keyframe).min(1)).refine((k) => Object.keys(k).length > 0, "at least one asset"),
    ammDepth: z.record(symbol, depth).optional(),
    feedback: fraction.default(0),
    cureRate: fraction.default(0.5),
  })
  .strict();

export type ScenarioFile = z.input<typeof scenarioSchema>;

/** A scenario from parsed JSON; `source` names the input in errors. */
export function parseScenario(input: unknown, source = "<scenario>"): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const at = issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
    throw new ScenarioError(`${source}${at}: ${issue.message}`, { cause: parsed.error });
  }
  const s = parsed.data;
  let stepSeconds: number;
  try {
    stepSeconds = typeof s.step === "number" ? s.step : parseDuration(s.step, "step");
  } catch (e) {
    throw new ScenarioError(`${source} at step: ${(e as Error).message}`, { cause: e });
  }
  const steps = Math.round((s.hours * 3600) / stepSeconds);
  if (steps > MAX_STEPS) throw new ScenarioError(`${source}: ${steps} steps of ${stepSeconds}s in ${s.hours}h; at most ${MAX_STEPS}`);
  const ammDepth = s.ammDepth
    ? Object.fromEntries(Object.entries(s.ammDepth).map(([k, v]) => [k, String(v)]))
    : DEFAULT_AMM_DEPTH;
  try {
    return fromKeyframes(
      {
        name: s.name,
        description: s.description ?? `${s.name} (from ${source})`,
        stepSeconds,
        hours: s.hours,
        ammDepth,
        feedback: s.feedback,
        cureRate: s.cureRate,
      },
      s.keyframes as Record<string, Keyframe[]>,
    );
  } catch (e) {
    if (e instanceof ScenarioError) throw new ScenarioError(`${source}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A built-in scenario by name, or a JSON scenario file by path. */
export function loadScenario(nameOrPath: string): Scenario {
  const builtIn = SCENARIOS[nameOrPath];
  if (builtIn) return builtIn;
  if (!existsSync(nameOrPath)) {
    throw new ScenarioError(
      `"${nameOrPath}" is neither a built-in scenario (${Object.keys(SCENARIOS).join(", ")}) nor a file`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(nameOrPath, "utf8"));
  } catch (e) {
    throw new ScenarioError(`${nameOrPath}: not valid JSON (${(e as Error).message})`, { cause: e });
  }
  return parseScenario(json, nameOrPath);
}
