-- Phase `mail`: sends judged by the consent in force at send time, frequency cap, quiet hours.
--
-- What fairmark does (src/mail/mod.rs, prepare and validate; src/checks/mail/mod.rs,
-- count_by_campaign; frequency_cap.rs; quiet_hours.rs): views of the sends and consent events
-- with recipients tokenized by channel (keyed HMAC); validation queries that fail the audit on
-- unknown channels, rows without recipient or time, unmapped consent actions; the as-of join
-- as one plan (each consent event's period in force, until the recipient's next event on the
-- channel, from a lead() over the events; each send hash-joined to the period containing its
-- instant; at one instant consent events come before sends and an opt-out after an opt-in),
-- written once as fm_sends_judged, in which the sends are then validated; then per campaign and
-- channel: the messages beyond 4 in a rolling 7 x 24 h window per recipient (RANGE window, ties
-- at one instant numbered in campaign order; only for recipients with more than 2 sends in one
-- week-long bucket, since no other can be over the cap), and the sms sent between 21:00 and
-- 08:00 Asia/Shanghai. Each count_by_campaign query aggregates the violating sends alone, joined
-- to the campaign totals of one group-by, and gathers up to 3 example recipient tokens per
-- campaign. fairmark's views are recomputed by
-- every query that reads them: the tokens are computed by the validation queries and again by
-- the as-of join.
--
-- What this does: the same judgement, as DuckDB does it best. The sends and consent events are
-- tokenized ONCE, into temp tables; the validation is one aggregate per table (plus the
-- unmapped-action examples); the as-of join is DuckDB's ASOF LEFT JOIN (per recipient and
-- channel, the last consent event at or before the send), over the consent events reduced to
-- one per recipient, channel and instant with max(action) ('opt_out' > 'opt_in': the opt-out
-- wins a tie, as in fairmark's order). The validation guarantees what the ASOF join needs to
-- give fairmark's judgement: no NULL recipient, time or action (fairmark refuses such data).
-- The frequency cap is fairmark's RANGE window per recipient and channel; quiet hours compute
-- the local minute once per sms. Timed: everything below (no prerequisite). rows = judged
-- sends.
--
-- Where it differs: recipient tokens are the unkeyed sha256 stand-in (common.sql); local time
-- uses DuckDB's ICU zones. fairmark finds the frequency-cap candidates in two passes (even and
-- odd week buckets) to hold half the groups at a time; here one aggregate does. The other mail checks (no consent, after opt-out, missing
-- unsubscribe, sender id, unsolicited bulk) and the suppression list are not part of this phase.

-- @section tokenized
CREATE OR REPLACE TEMP TABLE fm_mail_sends AS
SELECT fm_token_recipient("recipient", lower(trim(CAST("channel" AS VARCHAR)))) AS recipient_token,
    lower(trim(CAST("channel" AS VARCHAR))) AS channel,
    CAST("campaign" AS VARCHAR) AS campaign,
    CAST("sent_at" AS TIMESTAMP) AS sent_at,
    lower(trim(CAST("has_unsubscribe" AS VARCHAR))) IN ('true', 't', 'yes', 'y', '1') AS has_unsubscribe,
    lower(trim(CAST("list_unsubscribe_post" AS VARCHAR))) IN ('true', 't', 'yes', 'y', '1') AS one_click_unsubscribe,
    CAST("sender" AS VARCHAR) AS sender_id,
    CAST(NULL AS VARCHAR) AS recipient_timezone,
    CAST(NULL AS BOOLEAN) AS postal_address
FROM raw_mail_sends;

CREATE OR REPLACE TEMP TABLE fm_consents AS
SELECT fm_token_recipient("recipient", lower(trim(CAST("channel" AS VARCHAR)))) AS recipient_token,
    lower(trim(CAST("channel" AS VARCHAR))) AS channel,
    CASE WHEN lower(trim(CAST("action" AS VARCHAR))) IN ('subscribe', 'opt_in') THEN 'opt_in'
         WHEN lower(trim(CAST("action" AS VARCHAR))) IN ('unsubscribe', 'opt_out', 'td') THEN 'opt_out' END AS action,
    lower(trim(CAST("action" AS VARCHAR))) AS raw_action,
    CAST("at" AS TIMESTAMP) AS "at"
FROM raw_consents;

-- @section validate
SELECT CAST(count(CASE WHEN channel IS NULL OR channel NOT IN ('email', 'sms', 'push') THEN 1 END) AS BIGINT),
    CAST(count(CASE WHEN recipient_token IS NULL THEN 1 END) AS BIGINT),
    CAST(count(CASE WHEN sent_at IS NULL THEN 1 END) AS BIGINT)
FROM fm_mail_sends;
SELECT CAST(count(CASE WHEN channel IS NULL OR channel NOT IN ('email', 'sms', 'push') THEN 1 END) AS BIGINT),
    CAST(count(CASE WHEN recipient_token IS NULL THEN 1 END) AS BIGINT),
    CAST(count(CASE WHEN "at" IS NULL THEN 1 END) AS BIGINT)
FROM fm_consents;
SELECT raw_action, CAST(sum(count(*)) OVER () AS BIGINT) AS total FROM fm_consents WHERE action IS NULL
GROUP BY raw_action ORDER BY raw_action LIMIT 3;

-- @section judged
CREATE OR REPLACE TEMP TABLE fm_sends_judged AS
WITH consent AS (
    SELECT recipient_token, channel, "at", max(action) AS action
    FROM fm_consents WHERE action IS NOT NULL
    GROUP BY recipient_token, channel, "at")
SELECT s.recipient_token, s.channel, s.campaign, s.sent_at,
    c.action AS status, c."at" AS status_at,
    s.has_unsubscribe, s.one_click_unsubscribe, s.sender_id, s.recipient_timezone, s.postal_address
FROM fm_mail_sends s ASOF LEFT JOIN consent c
    ON s.recipient_token = c.recipient_token AND s.channel = c.channel AND s.sent_at >= c."at";

-- @section count
SELECT count(*) FROM fm_sends_judged;

-- @section frequency_cap
-- 7 days x 24 h less one millisecond back, to the message itself; max_messages = 4 (cn pack).
-- As fairmark does it: only recipients with more than 2 (half the cap) sends in one week-long
-- bucket can be over the cap, so the windows run on theirs alone; the counts per campaign read
-- the violating sends, against the campaign totals of one group-by.
CREATE OR REPLACE TEMP TABLE fm_frequency_candidates AS
SELECT DISTINCT recipient_token, channel FROM (
    SELECT recipient_token, channel FROM fm_sends_judged
    GROUP BY recipient_token, channel, CAST(floor(epoch_ms(sent_at) / 604800000) AS BIGINT)
    HAVING count(*) > 2);
CREATE OR REPLACE TEMP TABLE fm_frequency_counts AS
WITH violating AS (
    SELECT campaign, channel, recipient_token, sent_at FROM (
        SELECT *, in_window - at_instant + position AS number_in_window FROM (
            SELECT j.*,
                count(*) OVER (PARTITION BY j.recipient_token, j.channel ORDER BY j.sent_at
                               RANGE BETWEEN INTERVAL '604799999 milliseconds' PRECEDING AND CURRENT ROW) AS in_window,
                count(*) OVER (PARTITION BY j.recipient_token, j.channel, j.sent_at) AS at_instant,
                row_number() OVER (PARTITION BY j.recipient_token, j.channel, j.sent_at ORDER BY j.campaign) AS position
            FROM fm_sends_judged j SEMI JOIN fm_frequency_candidates c
                ON j.recipient_token = c.recipient_token AND j.channel = c.channel))
    WHERE number_in_window > 4),
{{per_campaign}}

-- @section quiet_hours
-- sms quiet from 21:00 to 08:00 in the recipient's zone, else Asia/Shanghai (cn pack); the
-- local minute is computed once per sms, not per comparison.
CREATE OR REPLACE TEMP TABLE fm_quiet_counts AS
WITH violating AS (
    SELECT campaign, channel, recipient_token, sent_at FROM (
        SELECT *, fm_local_minute(sent_at, recipient_timezone, 'Asia/Shanghai') AS local_minute
        FROM fm_sends_judged WHERE channel = 'sms')
    WHERE local_minute >= 1260 OR local_minute < 480),
{{per_campaign}}

-- @section per_campaign
-- The end of every count_by_campaign query: the campaigns and channels with a violating send,
-- their counts against one group-by of the campaign totals, and up to 3 example tokens.
examples AS (
    SELECT campaign, channel, string_agg(recipient_token, ' ' ORDER BY recipient_token) AS tokens FROM (
        SELECT campaign, channel, recipient_token,
            row_number() OVER (PARTITION BY campaign, channel ORDER BY recipient_token) AS n
        FROM (SELECT DISTINCT campaign, channel, recipient_token FROM violating))
    WHERE n <= 3
    GROUP BY campaign, channel),
totals AS (SELECT campaign, channel, count(*) AS messages FROM fm_sends_judged GROUP BY campaign, channel),
counts AS (
    SELECT campaign, channel, count(*) AS violations, count(DISTINCT recipient_token) AS recipients,
        min(sent_at) AS first_at, max(sent_at) AS last_at
    FROM violating GROUP BY campaign, channel)
SELECT c.campaign, c.channel, CAST(t.messages AS BIGINT) AS messages,
    CAST(c.violations AS BIGINT) AS violations, CAST(c.recipients AS BIGINT) AS recipients,
    CAST(c.first_at AS VARCHAR) AS first_at, CAST(c.last_at AS VARCHAR) AS last_at,
    e.tokens AS examples
FROM counts c
JOIN totals t ON c.campaign IS NOT DISTINCT FROM t.campaign AND c.channel = t.channel
LEFT JOIN examples e ON c.campaign = e.campaign AND c.channel = e.channel
ORDER BY c.campaign, c.channel;
