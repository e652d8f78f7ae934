-- Paused and slowed monitored URLs (issue 13: pause_low_priority, adjust_scraping_intervals).
-- opslib pauses a URL by setting the platform's monitored_urls.active to false (what the
-- platform's scheduler already honours) and records here what it paused, so resume turns back
-- on exactly those and never a URL someone else deactivated. url_id is the platform's id as
-- text (its type is the platform's).
CREATE TABLE opslib.paused_urls (
    url_id     text        PRIMARY KEY,
    selection  text        NOT NULL,                 -- e.g. "priority low (7-10)"
    reason     text        NOT NULL DEFAULT '',
    actor      text        NOT NULL,
    paused_at  timestamptz NOT NULL DEFAULT now(),
    until      timestamptz NOT NULL                  -- resumed automatically after it
);
CREATE INDEX paused_urls_until_idx ON opslib.paused_urls (until);

-- A URL's interval before opslib first changed it: restore puts back exactly this.
CREATE TABLE opslib.url_intervals (
    url_id           text             PRIMARY KEY,
    original_seconds double precision NOT NULL CHECK (original_seconds > 0),
    selection        text             NOT NULL,
    actor            text             NOT NULL,
    changed_at       timestamptz      NOT NULL DEFAULT now()
);
