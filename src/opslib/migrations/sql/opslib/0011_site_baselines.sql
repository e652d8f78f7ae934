-- Site-change baselines (issue 12, `opslib sites changes`): per monitored page, the structural
-- fingerprint of its DOM skeleton (text, numbers, scripts and ads left out) and what the
-- extraction engine read on it when the baseline was saved. A domain's pages are compared with
-- these; `--save-baseline` replaces them after a deliberate change.
CREATE TABLE opslib.site_baselines (
    url         text        PRIMARY KEY,
    domain      text        NOT NULL CHECK (domain = lower(domain) AND domain <> ''),
    fingerprint jsonb       NOT NULL,
    price_found boolean     NOT NULL,
    confidence  double precision,
    method      text,
    saved_at    timestamptz NOT NULL DEFAULT now(),
    saved_by    text
);
CREATE INDEX site_baselines_domain ON opslib.site_baselines (domain);
