-- claimflow KPIs over the analytics feed (`claimflow analytics sink`), for DuckDB.
--
--   duckdb -cmd "SET VARIABLE tenant = 'demo'" < analytics/kpis.sql
--
-- Variables (each has a default): events_glob (the sink's files), tenant, as_of (the aging date).
-- Every amount is integer cents; rates are fractions rounded to 4 places. The ops console runs this
-- same file (console/kpis.py), so its numbers and these are the same numbers.
--
-- Definitions and sources:
--   clean_claim_rate      HFMA MAP Key CL-1 "clean claim rate": claims that pass edits with no manual
--                         intervention / claims entering billing. Here: coded encounters whose claim went
--                         out to the payer / coded encounters. The events carry no hold history, so a
--                         claim released from hold by hand still counts as clean (a known limit).
--   first_pass_rate       Claims accepted on their first submission (one submission, never rejected by a
--                         999/277CA/277) / claims that got an answer (any status change), HFMA Claim
--                         Integrity Task Force's first-pass resolution in spirit.
--   denial_rate           HFMA MAP Key AR-5 "remittance denial rate": claims denied in full / claims
--                         remitted (with a payment-received), by payer, by CARC and by rendering provider.
--   ar_aging_by_payer     Open payer A/R (charge - paid - payer adjustments - patient responsibility, or
--                         the whole charge before the 835) by days since the date of service:
--                         0-30, 31-60, 61-90, 90+.
--   days_in_ar            HFMA MAP Key "net days in A/R": net A/R (open payer A/R + patient
--                         responsibility) / average daily net patient revenue (charges - contractual
--                         CO adjustments of claims served in the 90 days to as_of, / 90).
--   net_collection_rate   Payments / (charges - contractual CO adjustments) over adjudicated claims
--                         (MGMA's adjusted collection rate).

SET VARIABLE events_glob = coalesce(getvariable('events_glob'), '.local/analytics/event_type=*/event_date=*/*.parquet');
SET VARIABLE tenant = coalesce(getvariable('tenant'), 'demo');
SET VARIABLE as_of = coalesce(getvariable('as_of'), current_date);

-- The tenant's events, read from the files once (every view below works on this table).
CREATE OR REPLACE TEMP TABLE events AS
SELECT * FROM read_parquet(getvariable('events_glob'), hive_partitioning = true)
WHERE tenant = getvariable('tenant');

CREATE OR REPLACE TEMP VIEW encounters AS
SELECT payload->>'$.encounter_id' AS encounter_id,
       payload->>'$.payer_id' AS payer_id,
       payload->>'$.rendering_provider_npi' AS rendering_provider_npi,
       CAST(payload->>'$.service_date_from' AS DATE) AS service_date
FROM events WHERE event_type = 'encounter-coded.v1'
QUALIFY row_number() OVER (PARTITION BY payload->>'$.encounter_id' ORDER BY event_time) = 1;

CREATE OR REPLACE TEMP VIEW submissions AS
SELECT payload->>'$.claim_id' AS claim_id,
       payload->>'$.encounter_id' AS encounter_id,
       payload->>'$.claim_control_number' AS claim_control_number,
       payload->>'$.payer_id' AS payer_id,
       CAST(payload->>'$.total_charge_cents' AS BIGINT) AS total_charge_cents,
       CAST(payload->>'$.submitted_at' AS TIMESTAMPTZ) AS submitted_at
FROM events WHERE event_type = 'claim-submitted.v1';

CREATE OR REPLACE TEMP VIEW claims AS
SELECT s.claim_id, s.encounter_id, s.claim_control_number, s.payer_id, s.total_charge_cents, s.submitted_at,
       count(*) OVER (PARTITION BY s.claim_id) AS submissions,
       e.service_date, e.rendering_provider_npi, coalesce(s.payer_id = e.payer_id, true) AS is_primary
FROM submissions s LEFT JOIN encounters e USING (encounter_id)
QUALIFY row_number() OVER (PARTITION BY s.claim_id ORDER BY s.submitted_at) = 1;

CREATE OR REPLACE TEMP VIEW status_changes AS
SELECT payload->>'$.claim_id' AS claim_id,
       payload->>'$.from_state' AS from_state,
       payload->>'$.to_state' AS to_state,
       payload->>'$.source' AS source,
       CAST(payload->>'$.changed_at' AS TIMESTAMPTZ) AS changed_at,
       event_time, event_id
FROM events WHERE event_type = 'claim-status-changed.v1';

CREATE OR REPLACE TEMP VIEW payments AS
SELECT payload->>'$.payment_id' AS payment_id,
       payload->>'$.claim_id' AS claim_id,
       payload->>'$.payer_id' AS payer_id,
       payload->>'$.reversal_of' AS reversal_of,
       CAST(payload->>'$.charge_cents' AS BIGINT) AS charge_cents,
       CAST(payload->>'$.paid_cents' AS BIGINT) AS paid_cents,
       CAST(payload->>'$.patient_responsibility_cents' AS BIGINT) AS patient_responsibility_cents,
       from_json(payload->'$.adjustments', '[{"group":"VARCHAR","carc":"VARCHAR","amount_cents":"BIGINT"}]')
           AS adjustments
FROM events WHERE event_type = 'payment-received.v1' AND payload->>'$.claim_id' IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY payload->>'$.payment_id' ORDER BY event_time) = 1;

CREATE OR REPLACE TEMP VIEW payment_adjustments AS
SELECT p.payment_id, p.claim_id, p.reversal_of IS NOT NULL AS is_reversal, a.adjustment."group" AS group_code,
       a.adjustment.carc AS carc, a.adjustment.amount_cents AS amount_cents
FROM payments p, unnest(p.adjustments) AS a(adjustment);

-- One row per submitted claim: what the payer paid and adjusted, what the patient owes, what is open.
CREATE OR REPLACE TEMP VIEW claim_money AS
WITH paid AS (
    SELECT claim_id,
           sum(CASE WHEN reversal_of IS NULL THEN paid_cents ELSE -paid_cents END) AS paid_cents,
           sum(CASE WHEN reversal_of IS NULL THEN patient_responsibility_cents
                    ELSE -patient_responsibility_cents END) AS patient_responsibility_cents
    FROM payments GROUP BY claim_id
), adjusted AS (
    SELECT claim_id,
           sum(CASE WHEN group_code <> 'PR' THEN (CASE WHEN is_reversal THEN -amount_cents ELSE amount_cents END)
               ELSE 0 END) AS payer_adjustment_cents,
           sum(CASE WHEN group_code = 'CO' THEN (CASE WHEN is_reversal THEN -amount_cents ELSE amount_cents END)
               ELSE 0 END) AS contractual_cents
    FROM payment_adjustments GROUP BY claim_id
)
SELECT c.*, paid.claim_id IS NOT NULL AS adjudicated,
       coalesce(paid.paid_cents, 0) AS paid_cents,
       coalesce(adjusted.payer_adjustment_cents, 0) AS payer_adjustment_cents,
       coalesce(adjusted.contractual_cents, 0) AS contractual_cents,
       coalesce(paid.patient_responsibility_cents, 0) AS patient_responsibility_cents,
       c.total_charge_cents - coalesce(paid.paid_cents, 0) - coalesce(adjusted.payer_adjustment_cents, 0)
           - coalesce(paid.patient_responsibility_cents, 0) AS open_payer_cents
FROM claims c LEFT JOIN paid USING (claim_id) LEFT JOIN adjusted USING (claim_id);

CREATE OR REPLACE TEMP VIEW kpi_claims_by_state AS
WITH latest AS (
    SELECT claim_id, to_state FROM status_changes
    QUALIFY row_number() OVER (PARTITION BY claim_id ORDER BY changed_at DESC, event_time DESC, event_id DESC) = 1
)
SELECT coalesce(latest.to_state, 'submitted') AS state, count(*) AS claims
FROM claims LEFT JOIN latest USING (claim_id)
GROUP BY ALL
UNION ALL
SELECT 'not_submitted' AS state, count(*) AS claims
FROM encounters WHERE encounter_id NOT IN (SELECT encounter_id FROM claims WHERE encounter_id IS NOT NULL)
HAVING count(*) > 0
ORDER BY state;

CREATE OR REPLACE TEMP VIEW kpi_clean_claim_rate AS
SELECT count(*) AS claims_built,
       count(*) FILTER (WHERE encounter_id IN (SELECT encounter_id FROM claims WHERE is_primary)) AS clean_claims,
       round(clean_claims / nullif(claims_built, 0), 4) AS clean_claim_rate
FROM encounters;

CREATE OR REPLACE TEMP VIEW kpi_first_pass_rate AS
WITH answered AS (
    SELECT claim_id, bool_or(to_state = 'rejected') AS rejected FROM status_changes GROUP BY claim_id
)
SELECT count(*) AS claims_answered,
       count(*) FILTER (WHERE NOT answered.rejected AND claims.submissions = 1) AS accepted_first_pass,
       round(accepted_first_pass / nullif(claims_answered, 0), 4) AS first_pass_rate
FROM answered JOIN claims USING (claim_id);

CREATE OR REPLACE TEMP VIEW denials AS
SELECT payload->>'$.claim_id' AS claim_id, payload->>'$.payer_id' AS payer_id, payload->>'$.denial' AS denial,
       CAST(payload->>'$.denied_cents' AS BIGINT) AS denied_cents,
       from_json(payload->'$.carcs', '["VARCHAR"]') AS carcs
FROM events WHERE event_type = 'claim-denied.v1'
QUALIFY row_number() OVER (PARTITION BY payload->>'$.claim_id', payload->>'$.trace_number' ORDER BY event_time) = 1;

CREATE OR REPLACE TEMP VIEW kpi_denial_rate AS
SELECT count(DISTINCT claim_id) AS claims_remitted,
       count(DISTINCT claim_id) FILTER (WHERE claim_id IN (SELECT claim_id FROM denials WHERE denial = 'full'))
           AS claims_denied,
       round(claims_denied / nullif(claims_remitted, 0), 4) AS denial_rate
FROM payments WHERE reversal_of IS NULL;

CREATE OR REPLACE TEMP VIEW kpi_denial_rate_by_payer AS
SELECT c.payer_id, count(DISTINCT p.claim_id) AS claims_remitted,
       count(DISTINCT d.claim_id) AS claims_denied,
       round(count(DISTINCT d.claim_id) / count(DISTINCT p.claim_id), 4) AS denial_rate
FROM payments p JOIN claims c USING (claim_id)
LEFT JOIN (SELECT claim_id FROM denials WHERE denial = 'full') d USING (claim_id)
WHERE p.reversal_of IS NULL
GROUP BY c.payer_id ORDER BY c.payer_id;

CREATE OR REPLACE TEMP VIEW kpi_denial_rate_by_provider AS
SELECT c.rendering_provider_npi, count(DISTINCT p.claim_id) AS claims_remitted,
       count(DISTINCT d.claim_id) AS claims_denied,
       round(count(DISTINCT d.claim_id) / count(DISTINCT p.claim_id), 4) AS denial_rate
FROM payments p JOIN claims c USING (claim_id)
LEFT JOIN (SELECT claim_id FROM denials WHERE denial = 'full') d USING (claim_id)
WHERE p.reversal_of IS NULL
GROUP BY c.rendering_provider_npi ORDER BY c.rendering_provider_npi;

CREATE OR REPLACE TEMP VIEW kpi_denials_by_carc AS
SELECT carc, count(DISTINCT claim_id) AS claims, sum(denied_cents) AS denied_cents
FROM (SELECT claim_id, denied_cents, unnest(carcs) AS carc FROM denials)
GROUP BY carc ORDER BY claims DESC, carc;

CREATE OR REPLACE TEMP VIEW kpi_ar_aging_by_payer AS
SELECT payer_id,
       coalesce(sum(open_payer_cents) FILTER (WHERE age BETWEEN 0 AND 30), 0) AS days_0_30_cents,
       coalesce(sum(open_payer_cents) FILTER (WHERE age BETWEEN 31 AND 60), 0) AS days_31_60_cents,
       coalesce(sum(open_payer_cents) FILTER (WHERE age BETWEEN 61 AND 90), 0) AS days_61_90_cents,
       coalesce(sum(open_payer_cents) FILTER (WHERE age > 90), 0) AS days_over_90_cents,
       sum(open_payer_cents) AS open_cents
FROM (SELECT payer_id, open_payer_cents,
             date_diff('day', coalesce(service_date, CAST(submitted_at AS DATE)), getvariable('as_of')) AS age
      FROM claim_money)
GROUP BY payer_id ORDER BY payer_id;

CREATE OR REPLACE TEMP VIEW kpi_days_in_ar AS
SELECT sum(open_payer_cents + patient_responsibility_cents) AS net_ar_cents,
       sum(total_charge_cents - contractual_cents) FILTER (
           WHERE coalesce(service_date, CAST(submitted_at AS DATE)) > getvariable('as_of') - INTERVAL 90 DAY
       ) AS net_revenue_90_days_cents,
       round(net_ar_cents / nullif(net_revenue_90_days_cents / 90.0, 0), 1) AS days_in_ar
FROM claim_money;

CREATE OR REPLACE TEMP VIEW kpi_net_collection_rate AS
SELECT sum(paid_cents) AS paid_cents, sum(total_charge_cents - contractual_cents) AS collectible_cents,
       round(sum(paid_cents) / nullif(sum(total_charge_cents - contractual_cents), 0), 4) AS net_collection_rate
FROM claim_money WHERE adjudicated;

SELECT * FROM kpi_claims_by_state;
SELECT * FROM kpi_clean_claim_rate;
SELECT * FROM kpi_first_pass_rate;
SELECT * FROM kpi_denial_rate;
SELECT * FROM kpi_denial_rate_by_payer;
SELECT * FROM kpi_denial_rate_by_provider;
SELECT * FROM kpi_denials_by_carc;
SELECT * FROM kpi_ar_aging_by_payer;
SELECT * FROM kpi_days_in_ar;
SELECT * FROM kpi_net_collection_rate;
