/** How the benchmarks print numbers: durations, counts, and a duration that may be unknown. */
export const fmtOpt = (ms: number | undefined): string => (ms === undefined ? "?" : fmtMs(ms));
export const fmtInt = (n: number): string => n.toLocaleString("en-US");
export const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
