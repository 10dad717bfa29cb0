/**
 * Static analysis behind `npm run analyze`: `forge lint` (Foundry's Solidity linter, high/medium/low security
 * lints) over contracts/, each finding matched against the committed triage (analysis/forge-lint-triage.json:
 * lint, file, the offending source line, and a one-line reason). A finding is identified by its lint, file and
 * source text, not its line number, so edits elsewhere in a file keep their triage. New high or medium findings
 * fail; new low ones are reported; triage entries that no longer match are reported as stale.
 */
import { readFileSync } from "node:fs";
import { runCaptured } from "./captured";

export interface Finding {
  lint: string;
  file: string;
  line: number;
  code: string;
  severity: "high" | "med" | "low";
}

export interface TriageEntry {
  lint: string;
  file: string;
  code: string;
  reason: string;
}

/** forge lint's severities for the lints it reports (forge-lint 1.7); unknown lints count as high. */
const SEVERITY: Record<string, Finding["severity"]> = {
  "incorrect-shift": "high",
  "unchecked-call": "high",
  "erc20-unchecked-transfer": "high",
  "divide-before-multiply": "med",
  "unsafe-typecast": "med",
  "block-timestamp": "low",
};

export async function lint(paths: readonly string[]): Promise<Finding[]> {
  const { stdout, stderr, code } = await runCaptured("npx", ["forge", "lint", ...paths, "--severity", "high", "--severity", "med", "--severity", "low", "--json"]);
  const findings: Finding[] = [];
  for (const line of `${stdout}\n${stderr}`.split("\n")) {
    if (!line.startsWith("{")) continue;
    const d = JSON.parse(line) as {
      code: { code: string } | null;
      spans: { file_name: string; line_start: number; text: { text: string }[] }[];
    };
    const span = d.spans[0];
    if (!d.code || !span) continue;
    findings.push({
      lint: d.code.code,
      file: span.file_name,
      line: span.line_start,
      code: (span.text[0]?.text ?? "").trim(),
      severity: SEVERITY[d.code.code] ?? "high",
    });
  }
  if (code !== 0 && findings.length === 0) throw new Error(`forge lint exited ${code}:\n${stderr}`);
  return findings;
}

export function readTriage(path: string): TriageEntry[] {
  const entries = JSON.parse(readFileSync(path, "utf8")) as TriageEntry[];
  for (const e of entries) {
    if (!e.reason || e.reason.trim().length < 10) throw new Error(`triage entry without a reason: ${e.lint} ${e.file}`);
  }
  return entries;
}

export interface Review {
  triaged: { finding: Finding; reason: string }[];
  fresh: Finding[];
  stale: TriageEntry[];
}

export function review(findings: Finding[], triage: TriageEntry[]): Review {
  const key = (x: { lint: string; file: string; code: string }): string => `${x.lint}|${x.file}|${x.code}`;
  const reasons = new Map(triage.map((e) => [key(e), e.reason]));
  const used = new Set<string>();
  const out: Review = { triaged: [], fresh: [], stale: [] };
  for (const f of findings) {
    const reason = reasons.get(key(f));
    if (reason === undefined) out.fresh.push(f);
    else {
      used.add(key(f));
      out.triaged.push({ finding: f, reason });
    }
  }
  out.stale = triage.filter((e) => !used.has(key(e)));
  return out;
}
