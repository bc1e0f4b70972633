-- grain: one row per seller x as-of date x metric x channel x window
-- primary key: seller_id, as_of_date, metric, channel, window_days
-- materialized: as_of
-- Every seller known at the as-of date gets every row of SPEC 3.3; no data means
-- numerator 0, denominator 0, rate NULL, status none (policy_notices: a count, with
-- NULL denominator). Status follows SPEC 3.4: target, low-volume rule (binomial tail),
-- poor-at threshold, the order-defect spike rule (Poisson tail), notice statuses.
with sellers as (
    select * from staging.stg_sellers
),

windows as (
    select * from intermediate.int_metric_windows
),

counts as (
    select * from intermediate.int_seller_metrics_windowed
),

spikes as (
    select * from intermediate.int_seller_defect_spikes
),

notices as (
    select * from intermediate.int_notices_evaluated
),

targets as (
    select * from ref.metric_targets
),

spine as (
    select
        sellers.seller_id,
        sellers.marketplace,
        windows.metric,
        windows.channel,
        windows.window_days,
        windows.window_start,
        windows.window_end,
        windows.is_headline,
        coalesce(counts.numerator, 0) as numerator,
        case
            when windows.metric <> 'policy_notices' then coalesce(counts.denominator, 0)
        end as denominator,
    from sellers
    cross join windows
    left join counts
        on counts.seller_id = sellers.seller_id
        and counts.metric = windows.metric
        and counts.channel = windows.channel
        and counts.window_days = windows.window_days
),

-- A marketplace's own target wins over the default row ('*').
targeted as (
    select
        spine.*,
        targets.target,
        targets.target_condition,
        targets.poor_at,
        targets.min_bad_events,
        targets.max_p_value,
    from spine
    left join targets
        on targets.metric = spine.metric
        and targets.marketplace in (spine.marketplace, '*')
    qualify row_number() over (
        partition by spine.seller_id, spine.metric, spine.channel, spine.window_days
        order by targets.marketplace = '*'
    ) = 1
),

judged as (
    select
        *,
        case when denominator > 0 then numerator / denominator end as rate,
        case target_condition
            when 'LESS_THAN' then numerator / denominator < target
            when 'GREATER_THAN' then numerator / denominator >= target
        end as meets_target,
        -- A miss is credible only with enough bad events behind it and a small chance
        -- that a seller exactly at target would have done this badly.
        case target_condition
            when 'LESS_THAN' then
                numerator >= min_bad_events
                and cxn_binom_sf(numerator, denominator, target) < max_p_value
            when 'GREATER_THAN' then
                denominator - numerator >= min_bad_events
                and cxn_binom_cdf(numerator, denominator, target) < max_p_value
        end as is_credible_miss,
        case target_condition
            when 'LESS_THAN' then numerator / denominator >= poor_at
            when 'GREATER_THAN' then numerator / denominator < poor_at
        end as is_at_poor,
    from targeted
),

-- Policy notices (SPEC 3.4): of the notices issued in the window and unresolved at the
-- as-of date, a critical unread one is poor, any other unread one is fair.
notice_status as (
    select
        notices.seller_id,
        case
            when bool_or(not notices.is_read and notices.severity = 'critical') then 'poor'
            when bool_or(not notices.is_read) then 'fair'
            else 'good'
        end as status,
    from notices
    join windows
        on windows.metric = 'policy_notices'
        and notices.issued_date between windows.window_start and windows.window_end
    where not notices.is_resolved
    group by notices.seller_id
),

statused as (
    select
        judged.*,
        case
            when judged.metric = 'policy_notices' then coalesce(notice_status.status, 'good')
            when target is null or denominator = 0 then 'none'
            when meets_target then 'good'
            when not is_credible_miss then 'good'
            when is_at_poor then 'poor'
            else 'fair'
        end as base_status,
        coalesce(
            target is not null and denominator > 0 and not meets_target
            and not is_credible_miss,
            false
        ) as low_volume,
        coalesce(
            judged.metric = 'order_defect_rate'
            and judged.channel = 'all'
            and judged.window_days = 60
            and spikes.is_spike,
            false
        ) as spike,
    from judged
    left join spikes on spikes.seller_id = judged.seller_id
    left join notice_status
        on notice_status.seller_id = judged.seller_id
        and judged.metric = 'policy_notices'
),

final as (
    select
        seller_id,
        getvariable('as_of_date') as as_of_date,
        metric,
        channel,
        window_days,
        window_start,
        window_end,
        numerator,
        denominator,
        cast(rate as double) as rate,
        target,
        target_condition,
        -- A spike raises a fine or data-less row to fair (low_volume keeps its value).
        case when spike and base_status in ('good', 'none') then 'fair' else base_status end
            as status,
        low_volume,
        spike,
        is_headline,
    from statused
)

select * from final
