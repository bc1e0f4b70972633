-- grain: one row per seller x as-of date x metric x channel x window
-- primary key: seller_id, as_of_date, metric, channel, window_days
-- materialized: as_of
-- Every seller known at the as-of date gets every row of SPEC 3.3; no data means
-- numerator 0, denominator 0, rate NULL, status none (policy_notices: a count, with
-- NULL denominator). Status follows SPEC 3.4 through the cxn_status macro (target,
-- low-volume rule, poor-at threshold; pipeline/models/build.py), then the order-defect spike
-- rule (Poisson tail) and the notice statuses.
with sellers as (
    select * from staging.stg_sellers
),

windows as (
    select * from intermediate.int_metric_windows
    where is_reported
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
    select * from intermediate.int_seller_targets
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

-- The seller's marketplace's target, else the default row ('*').
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
        on targets.seller_id = spine.seller_id
        and targets.metric = spine.metric
),

judged as (
    select
        *,
        case when denominator > 0 then numerator / denominator end as rate,
        cxn_status(
            numerator, denominator, target, target_condition, poor_at, min_bad_events,
            max_p_value
        ) as target_status,
        cxn_low_volume(
            numerator, denominator, target, target_condition, min_bad_events, max_p_value
        ) as low_volume,
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
            else target_status
        end as base_status,
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
        cast(denominator as bigint) as denominator,
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
),

-- The row a plan of action explains, one per metric at fair or poor: its headline row,
-- and where it has several channels (the ODR) the worst, among equals the whole account.
-- marts.metric_drivers and the newsletter both read this flag.
planned as (
    select
        *,
        coalesce(
            is_headline
            and status in ('fair', 'poor')
            and row_number() over (
                partition by seller_id, metric, is_headline and status in ('fair', 'poor')
                order by status = 'poor' desc, channel = 'all' desc, channel
            ) = 1,
            false
        ) as is_plan_row,
    from final
)

select * from planned
