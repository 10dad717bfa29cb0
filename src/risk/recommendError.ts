/** The error of risk-parameter recommendations (`./recommend`, `./recommendConfig`). */
export class RecommendationError extends Error {
  override name = "RecommendationError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
