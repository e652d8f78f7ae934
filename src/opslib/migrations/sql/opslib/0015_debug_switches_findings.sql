-- Debug logging and request tracking (issue 15, item 4): the switch operators turn on for a
-- while, read by the services (opslib.security.debug_state) through the database like the
-- maintenance windows. A switch is on while ended_at IS NULL AND expires_at > now(): readers
-- honour the expiry, so it goes off by itself and nothing has to wake up to close it.
-- services empty: every service. incident: the incident open when it was switched on.
CREATE TABLE opslib.debug_switches (
    id               bigserial   PRIMARY KEY,
    services         text[]      NOT NULL DEFAULT '{}',
    debug_logging    boolean     NOT NULL DEFAULT true,
    request_tracking boolean     NOT NULL DEFAULT true,
    reason           text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 500),
    actor            text        NOT NULL,
    started_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    ended_by         text,
    incident         bigint      REFERENCES opslib.incidents (id),
    CHECK (expires_at > started_at),
    CHECK (debug_logging OR request_tracking)
);
CREATE INDEX debug_switches_open_idx ON opslib.debug_switches (expires_at) WHERE ended_at IS NULL;

-- Monitoring for recurrence (issue 15, item 5): the kinds of evidence (auth, rate, probes ...)
-- each source of an incident showed, kept so a later pass still knows the incident's pattern
-- once its lines have left the analysis window.
CREATE TABLE opslib.incident_findings (
    incident  bigint      NOT NULL REFERENCES opslib.incidents (id),
    client    text        NOT NULL,
    kinds     text[]      NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident, client)
);
