-- grain: one row per seller x as-of date x status-bearing rate row (metric x channel)
-- primary key: seller_id, as_of_date, metric, channel
-- materialized: as_of
-- What comes next for each status-bearing rate row of the headline window (SPEC 3.6; not
-- policy_notices), from the daily counts known at D only, so a rebuild of D gives the
-- same rows. With N, L the window and lag, n the denominator and v = n / N:
--   recovery_date        rows at fair or poor: the first R in [D + 1, D + N + L] at which
--                        the row would be neither fair nor poor (low-volume rule and
--                        spike rule included) keeping the counts known at D for its key
--                        dates <= D and gaining floor(n * f / N) volume without a bad
--                        event (f: its key dates after D). A rate row always recovers by
--                        D + N + L, when its window holds only key dates after D and a
--                        spike's days are long past; NULL at good or none.
--   bad_events_to_leave  the bad events of D's window on key dates that left by R
--   projected_status_7d  the status at D + 7: the counts known at D, plus floor(n * f / N)
--                        volume at the rate of D (bad events rounded half up); the
--                        order-defect spike rule is not projected
--   change_28d = change_entering + change_leaving + change_restated + change_volume
--                        (docs/data_dictionary.md derives the split; NULL where D - 28 was
--                        not built with the outlook, or a window has no volume)
--   peer_*               the seller among its marketplace's sellers with a denominator of
--                        at least peer_min_denominator (the cohort): the share whose rate
--                        is worse (other sellers at the same rate count half; NULL for a
--                        seller outside the cohort), the median rate and the cohort's
--                        size; all NULL below peer_min_sellers
-- Bad events (the macro cxn_bad_events) are the numerator of a lower-is-better rate and
-- the rest of the denominator of a higher-is-better one; `sign` is +1 and -1 for them
-- (rate = sign * bad / n + a constant).
with outlook_rows as (
    select
        metrics.seller_id,
        metrics.metric,
        metrics.channel,
        metrics.window_days,
        windows.lag_days,
        metrics.window_start,
        metrics.window_end,
        metrics.denominator,
        metrics.rate,
        metrics.status,
        metrics.spike,
        targets.marketplace,
        targets.target,
        targets.target_condition,
        targets.poor_at,
        targets.min_bad_events,
        targets.max_p_value,
        targets.peer_min_denominator,
        targets.peer_min_sellers,
        case targets.target_condition when 'LESS_THAN' then 1 else -1 end as sign,
        cast(
            cxn_bad_events(metrics.numerator, metrics.denominator, targets.target_condition)
            as bigint
        ) as bad_events,
    from marts.seller_metrics as metrics
    join intermediate.int_metric_windows as windows
        on windows.metric = metrics.metric
        and windows.channel = metrics.channel
        and windows.window_days = metrics.window_days
    join intermediate.int_seller_targets as targets
        on targets.seller_id = metrics.seller_id
        and targets.metric = metrics.metric
    where metrics.as_of_date = getvariable('as_of_date')
      and metrics.is_headline
      and metrics.target is not null
      and metrics.metric <> 'policy_notices'
),

-- Bad events and volume per key date known at D, from the window's first day to D
-- (the days after the window's end, inside the lag, enter later windows).
daily as (
    select
        outlook_rows.seller_id,
        outlook_rows.metric,
        outlook_rows.channel,
        counts.key_date,
        cxn_bad_events(counts.numerator, counts.denominator, outlook_rows.target_condition)
            as bad,
        counts.denominator as volume,
    from outlook_rows
    join intermediate.int_daily_counts as counts
        on counts.seller_id = outlook_rows.seller_id
        and counts.metric = outlook_rows.metric
        and counts.channel = outlook_rows.channel
        and counts.key_date between outlook_rows.window_start and getvariable('as_of_date')
),

-- The parts of each row's days that the figures below read, in one pass: the days D's
-- window shares with the window of D - 28 and the 28 it gained since, and what the
-- window of D + 7 keeps ([window_start + 7, window_end + 7], up to D).
window_parts as (
    select
        outlook_rows.seller_id,
        outlook_rows.metric,
        outlook_rows.channel,
        coalesce(sum(daily.bad) filter (
            where daily.key_date < outlook_rows.window_end - 27
        ), 0) as overlap_bad,
        coalesce(sum(daily.bad) filter (
            where daily.key_date >= outlook_rows.window_end - 27
              and daily.key_date <= outlook_rows.window_end
        ), 0) as entering_bad,
        coalesce(sum(daily.bad) filter (
            where daily.key_date between outlook_rows.window_start + 7
                and outlook_rows.window_end + 7
        ), 0) as kept7_bad,
        coalesce(sum(daily.volume) filter (
            where daily.key_date between outlook_rows.window_start + 7
                and outlook_rows.window_end + 7
        ), 0) as kept7_volume,
    from outlook_rows
    left join daily
        on daily.seller_id = outlook_rows.seller_id
        and daily.metric = outlook_rows.metric
        and daily.channel = outlook_rows.channel
    group by all
),

-- The rows at fair or poor, day by day: from each key date on, up to D, what a window
-- starting that day keeps of what is known at D. A window from day s keeps the `onward`
-- row of the first key date >= s (asof join).
onward as (
    select
        daily.seller_id,
        daily.metric,
        daily.channel,
        daily.key_date,
        daily.bad,
        sum(daily.bad) over later as bad_onward,
        sum(daily.volume) over later as volume_onward,
    from daily
    semi join outlook_rows
        on outlook_rows.seller_id = daily.seller_id
        and outlook_rows.metric = daily.metric
        and outlook_rows.channel = daily.channel
        and outlook_rows.status in ('fair', 'poor')
    window later as (partition by daily.seller_id, daily.metric, daily.channel
        order by daily.key_date desc)
),

-- First counting defects by date (internal metric defect_events), for the spike rule of
-- SPEC 3.4: the last 7 days against the 84 before them, as far back as a candidate of
-- the next 7 days reads.
defect_daily as (
    select seller_id, key_date, numerator as events,
    from intermediate.int_daily_counts
    where metric = 'defect_events'
      and channel = 'all'
      and key_date between getvariable('as_of_date') - 90 and getvariable('as_of_date')
),

-- Each date R = D + i of the horizon of a row at fair or poor; its window starts at
-- keep_from and holds `future_days` key dates after D.
candidates as (
    select
        *,
        cast(getvariable('as_of_date') + i as date) as candidate_date,
        cast(getvariable('as_of_date') + i - lag_days - window_days + 1 as date) as keep_from,
        greatest(0, i - lag_days) as future_days,
    from (
        select
            outlook_rows.*,
            cast(unnest(generate_series(1, window_days + lag_days)) as integer) as i,
        from outlook_rows
        where status in ('fair', 'poor')
    )
),

-- A row raised by a spike: is there still one at R, with no new first defect after D?
-- Recent: first defects in [R - 6, R]; baseline: in [R - 90, R - 7]. After D + 6 the
-- recent days hold none, so only the first week's candidates are judged.
spike_at as (
    select
        candidates.seller_id,
        candidates.metric,
        candidates.channel,
        candidates.candidate_date,
        coalesce(sum(defect_daily.events) filter (
            where defect_daily.key_date >= candidates.candidate_date - 6
        ), 0) as recent,
        coalesce(sum(defect_daily.events) filter (
            where defect_daily.key_date between candidates.candidate_date - 90
                and candidates.candidate_date - 7
        ), 0) as baseline,
    from candidates
    left join defect_daily on defect_daily.seller_id = candidates.seller_id
    where candidates.spike and candidates.i <= 6
    group by all
),

-- What R's window keeps of what is known at D: its key dates from keep_from up to its
-- own end (R - L) or D, whichever comes first; the lag's days after R - L enter later.
candidate_counts as (
    select
        candidates.*,
        coalesce(onward.bad_onward, 0) - coalesce(beyond.bad_onward, 0) as kept_bad,
        coalesce(onward.volume_onward, 0) - coalesce(beyond.volume_onward, 0) as kept_volume,
        candidates.denominator * candidates.future_days // candidates.window_days as new_volume,
        not candidates.spike
        or coalesce(
            spike_at.recent < 3
            or cxn_poisson_sf(spike_at.recent, greatest(0.5, spike_at.baseline / 12)) >= 0.01,
            true
        ) as spike_over,
    from candidates
    asof left join onward
        on onward.seller_id = candidates.seller_id
        and onward.metric = candidates.metric
        and onward.channel = candidates.channel
        and candidates.keep_from <= onward.key_date
    asof left join onward as beyond
        on beyond.seller_id = candidates.seller_id
        and beyond.metric = candidates.metric
        and beyond.channel = candidates.channel
        and candidates.candidate_date - candidates.lag_days + 1 <= beyond.key_date
    left join spike_at
        on spike_at.seller_id = candidates.seller_id
        and spike_at.metric = candidates.metric
        and spike_at.channel = candidates.channel
        and spike_at.candidate_date = candidates.candidate_date
),

recovered as (
    select
        seller_id,
        metric,
        channel,
        min(candidate_date) as recovery_date,
        arg_min(keep_from, candidate_date) as keep_from,
        arg_min(window_start, candidate_date) as window_start,
        arg_min(window_end, candidate_date) as window_end,
    from candidate_counts
    where spike_over
      and cxn_status(
          case sign when 1 then kept_bad else kept_volume - kept_bad + new_volume end,
          kept_volume + new_volume,
          target, target_condition, poor_at, min_bad_events, max_p_value
      ) not in ('fair', 'poor')
    group by all
),

-- The bad events of D's window on the days that left it by the recovery date.
recovery as (
    select
        recovered.seller_id,
        recovered.metric,
        recovered.channel,
        recovered.recovery_date,
        cast(coalesce(sum(onward.bad), 0) as bigint) as bad_events_to_leave,
    from recovered
    left join onward
        on onward.seller_id = recovered.seller_id
        and onward.metric = recovered.metric
        and onward.channel = recovered.channel
        and onward.key_date >= recovered.window_start
        and onward.key_date < least(recovered.keep_from, recovered.window_end + 1)
    group by all
),

-- The window of D + 7, as a recovery candidate, plus volume at the rate of D.
projection_counts as (
    select
        outlook_rows.*,
        window_parts.kept7_bad as kept_bad,
        window_parts.kept7_volume as kept_volume,
        outlook_rows.denominator * greatest(0, 7 - outlook_rows.lag_days)
            // outlook_rows.window_days as new_volume,
    from outlook_rows
    join window_parts
        on window_parts.seller_id = outlook_rows.seller_id
        and window_parts.metric = outlook_rows.metric
        and window_parts.channel = outlook_rows.channel
),

projection as (
    select
        *,
        -- new_volume * bad / n, rounded half up, in integers.
        case
            when denominator > 0
                then (2 * new_volume * bad_events + denominator) // (2 * denominator)
            else 0
        end as new_bad,
    from projection_counts
),

-- The change since D - 28: the window of D - 28 as known then (seller_metrics), and the
-- part of it still in D's window as known then (int_metric_overlap_28d).
before as (
    select
        metrics.seller_id,
        metrics.metric,
        metrics.channel,
        metrics.rate,
        metrics.denominator,
        cxn_bad_events(metrics.numerator, metrics.denominator, metrics.target_condition)
            as bad_events,
        overlap.bad_events as overlap_bad,
    from marts.seller_metrics as metrics
    left join intermediate.int_metric_overlap_28d as overlap
        on overlap.seller_id = metrics.seller_id
        and overlap.as_of_date = metrics.as_of_date
        and overlap.metric = metrics.metric
        and overlap.channel = metrics.channel
    where metrics.as_of_date = getvariable('as_of_date') - 28
      and metrics.is_headline
),

change as (
    select
        outlook_rows.seller_id,
        outlook_rows.metric,
        outlook_rows.channel,
        before.rate as rate_28d_before,
        before.denominator as denominator_28d_before,
        before.bad_events as bad_events_28d_before,
        outlook_rows.rate - before.rate as change_28d,
        window_parts.entering_bad as bad_events_entering,
        before.bad_events - before.overlap_bad as bad_events_leaving,
        window_parts.overlap_bad - before.overlap_bad as bad_events_restated,
        -- The parts of rate_now - rate_before (b: bad events, n: volume, 1 before, 2 now):
        --   b2/n2 - b1/n1 = (entering - leaving + restated) / n2 - (b1/n1) (n2 - n1) / n2
        before.overlap_bad is not null
        and before.denominator > 0
        and outlook_rows.denominator > 0 as has_parts,
    from outlook_rows
    join window_parts
        on window_parts.seller_id = outlook_rows.seller_id
        and window_parts.metric = outlook_rows.metric
        and window_parts.channel = outlook_rows.channel
    left join before
        on before.seller_id = outlook_rows.seller_id
        and before.metric = outlook_rows.metric
        and before.channel = outlook_rows.channel
),

-- Peers: the marketplace's sellers with enough volume on the row (the cohort).
cohort as (
    select
        marketplace,
        metric,
        channel,
        rate,
    from outlook_rows
    where denominator >= peer_min_denominator
),

cohort_size as (
    select
        marketplace,
        metric,
        channel,
        count(*) as peer_count,
        cast(quantile_cont(rate, 0.5) as double) as peer_median,
    from cohort
    group by all
),

-- How many of the cohort are at each rate, and at or below it.
cohort_rates as (
    select
        marketplace,
        metric,
        channel,
        rate,
        count(*) as at_rate,
        sum(count(*)) over (
            partition by marketplace, metric, channel order by rate
        ) as at_or_below,
    from cohort
    group by marketplace, metric, channel, rate
),

peers_placed as (
    select
        outlook_rows.seller_id,
        outlook_rows.metric,
        outlook_rows.channel,
        outlook_rows.sign,
        outlook_rows.rate,
        cohort_size.peer_count,
        cohort_size.peer_median,
        coalesce(rates.at_or_below, 0) as at_or_below,
        case when rates.rate = outlook_rows.rate then rates.at_rate else 0 end as at_same_rate,
        -- the seller itself, when it is in the cohort
        case when outlook_rows.denominator >= outlook_rows.peer_min_denominator then 1 else 0 end
            as in_cohort,
    from outlook_rows
    join cohort_size
        on cohort_size.marketplace = outlook_rows.marketplace
        and cohort_size.metric = outlook_rows.metric
        and cohort_size.channel = outlook_rows.channel
        and cohort_size.peer_count >= outlook_rows.peer_min_sellers
    asof left join cohort_rates as rates
        on rates.marketplace = outlook_rows.marketplace
        and rates.metric = outlook_rows.metric
        and rates.channel = outlook_rows.channel
        and outlook_rows.rate >= rates.rate
),

-- The share of the cohort whose rate is worse (higher where lower is better), the other
-- sellers at the same rate counting half; for the cohort's own members only (a seller
-- with a few orders is not ranked against the others).
peers as (
    select
        seller_id,
        metric,
        channel,
        peer_count,
        peer_median,
        case
            when in_cohort = 1 then
                (
                    case sign
                        when 1 then peer_count - at_or_below
                        else at_or_below - at_same_rate
                    end
                    + 0.5 * (at_same_rate - in_cohort)
                ) / peer_count
        end as peer_percentile,
    from peers_placed
),

final as (
    select
        outlook_rows.seller_id,
        getvariable('as_of_date') as as_of_date,
        outlook_rows.metric,
        outlook_rows.channel,
        outlook_rows.window_days,
        outlook_rows.lag_days,
        outlook_rows.status,
        outlook_rows.rate,
        outlook_rows.bad_events,
        outlook_rows.denominator,
        recovery.recovery_date,
        recovery.bad_events_to_leave,
        cxn_status(
            case projection.sign
                when 1 then projection.kept_bad + projection.new_bad
                else projection.kept_volume - projection.kept_bad
                    + projection.new_volume - projection.new_bad
            end,
            projection.kept_volume + projection.new_volume,
            projection.target, projection.target_condition, projection.poor_at,
            projection.min_bad_events, projection.max_p_value
        ) as projected_status_7d,
        change.rate_28d_before,
        change.denominator_28d_before,
        change.change_28d,
        case when change.has_parts then
            outlook_rows.sign * change.bad_events_entering / outlook_rows.denominator
        end as change_entering,
        case when change.has_parts then
            -outlook_rows.sign * change.bad_events_leaving / outlook_rows.denominator
        end as change_leaving,
        case when change.has_parts then
            outlook_rows.sign * change.bad_events_restated / outlook_rows.denominator
        end as change_restated,
        case when change.has_parts then
            -outlook_rows.sign
            * (change.bad_events_28d_before / change.denominator_28d_before)
            * (outlook_rows.denominator - change.denominator_28d_before)
            / outlook_rows.denominator
        end as change_volume,
        case when change.has_parts then cast(change.bad_events_entering as bigint) end
            as bad_events_entering,
        case when change.has_parts then cast(change.bad_events_leaving as bigint) end
            as bad_events_leaving,
        case when change.has_parts then cast(change.bad_events_restated as bigint) end
            as bad_events_restated,
        peers.peer_percentile,
        peers.peer_median,
        peers.peer_count,
    from outlook_rows
    left join recovery
        on recovery.seller_id = outlook_rows.seller_id
        and recovery.metric = outlook_rows.metric
        and recovery.channel = outlook_rows.channel
    join projection
        on projection.seller_id = outlook_rows.seller_id
        and projection.metric = outlook_rows.metric
        and projection.channel = outlook_rows.channel
    join change
        on change.seller_id = outlook_rows.seller_id
        and change.metric = outlook_rows.metric
        and change.channel = outlook_rows.channel
    left join peers
        on peers.seller_id = outlook_rows.seller_id
        and peers.metric = outlook_rows.metric
        and peers.channel = outlook_rows.channel
)

select * from final
