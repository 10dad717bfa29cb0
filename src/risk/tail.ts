/** The tail of a sample of outcomes, shared by the float and bigint VaR/ES estimators. */

/** How many of `n` sorted outcomes form the tail beyond `confidence`: ⌈n (1 − confidence)⌉, at least 1. */
export const tailCount = (n: number, confidence: number): number => Math.max(1, Math.ceil(n * (1 - confidence) - 1e-9));
