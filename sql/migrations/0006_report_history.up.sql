-- The daily report's history: one row per (day, tenant, figure[, key]). Trends are read from
-- here, so they survive restarts and do not depend on alerts that were pruned; a past report
-- page is rendered from its day's rows. Re-running a day deletes its rows and writes them again
-- in one transaction. company_id NULL is the figure over all tenants; key names the breakdown
-- (a rule, a circuit) and is '' for a headline figure.
CREATE TABLE bg_report_figures (
    report_date   date NOT NULL,
    company_id    bigint,
    figure        text NOT NULL,
    key           text NOT NULL DEFAULT '',
    value         numeric NOT NULL,
    timezone      text NOT NULL,
    generated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bg_report_figures_key UNIQUE NULLS NOT DISTINCT (report_date, company_id, figure, key)
);
-- Trends: one figure over the last days, all tenants.
CREATE INDEX bg_report_figures_trend_idx ON bg_report_figures (figure, key, report_date)
    WHERE company_id IS NULL;

-- The roles of 0004: the report is the monitor's bookkeeping (a re-run replaces its day's rows).
GRANT SELECT, INSERT, DELETE ON bg_report_figures TO booking_guard_monitor, booking_guard_corrector;
