/**
 * One amount form, shared by the position and stability pages: its label and input ("max" where allowed), a hint,
 * the exact preview when the page has one (with its integers as data attributes, for tests), the refusal, and the
 * submit button, enabled only for an amount the page's plan accepts.
 */
import type React from "react";

/** What a page's plan for the typed amount says: a refusal, or ok (with the preview line, where the page shows one). */
export type AmountPlan = { ok: false; error: string } | { ok: true; preview?: { text: string; data: Record<string, string> } };

export function AmountForm<F extends string>(props: {
  form: F;
  title: string;
  /** The input's label; by default "Amount (unit)". */
  label?: string;
  plan: AmountPlan | undefined;
  text: string;
  unit: string;
  hint?: string | undefined;
  allowMax?: boolean;
  /** Render the preview line (`<form>-preview`). */
  previews?: boolean;
  busy: boolean;
  onType: (e: React.ChangeEvent<HTMLInputElement>) => void;
  onSubmit: (form: F) => Promise<void>;
  children?: React.ReactNode;
}): React.JSX.Element {
  const { form, plan } = props;
  const inputId = `${form}-amount`;
  const errorId = `${form}-error`;
  const previewId = `${form}-preview`;
  return (
    <form
      className="action"
      aria-label={props.title}
      onSubmit={(e) => {
        e.preventDefault();
        void props.onSubmit(form);
      }}
    >
      <h2>{props.title}</h2>
      {props.children}
      <label htmlFor={inputId}>
        {props.label ?? `Amount${props.unit ? ` (${props.unit})` : ""}`}
        {props.allowMax ? ", or max" : ""}
      </label>
      <input id={inputId} data-testid={inputId} type="text" inputMode="decimal" autoComplete="off" value={props.text} onChange={props.onType}
        aria-invalid={plan !== undefined && !plan.ok} aria-describedby={props.previews ? `${errorId} ${previewId}` : errorId} placeholder={props.allowMax ? "0.0 or max" : "0.0"} />
      {props.hint && <div className="hint">{props.hint}</div>}
      {props.previews && (
        <div id={previewId} data-testid={previewId} className="hint" aria-live="polite" {...Object.fromEntries(Object.entries(plan?.ok && plan.preview ? plan.preview.data : {}).map(([k, v]) => [`data-${k}`, v]))}>
          {plan?.ok && plan.preview ? plan.preview.text : ""}
        </div>
      )}
      <div id={errorId} data-testid={errorId} className="error" role={plan && !plan.ok ? "alert" : undefined}>
        {plan && !plan.ok ? plan.error : ""}
      </div>
      <button type="submit" data-testid={`${form}-submit`} disabled={props.busy || !plan?.ok}>
        {props.title}
      </button>
    </form>
  );
}
