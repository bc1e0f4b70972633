-- grain: one row per seller x as-of date x metric x channel x window
-- primary key: seller_id, as_of_date, metric, channel, window_days
-- materialized: as_of
-- Every seller known at the as-of date gets every row; no data = denominator 0, status
-- none. Status follows SPEC 3.4: target, low-volume rule (binomial tail), poor-at
-- threshold, and the order-defect spike rule (Poisson tail).
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
        coalesce(counts.denominator, 0) as denominator,
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

rated as (
    select
        *,
        case when denominator > 0 then numerator / denominator end as rate,
    from targeted
),

judged as (
    select
        *,
        case target_condition
            when 'LESS_THAN' then rate < target
            when 'GREATER_THAN' then rate >= target
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
            when 'LESS_THAN' then rate >= poor_at
            when 'GREATER_THAN' then rate < poor_at
        end as is_at_poor,
    from rated
),

statused as (
    select
        judged.*,
        case
            when target is null or denominator = 0 then 'none'
            when meets_target then 'good'
            when not is_credible_miss then 'good'
            when is_at_poor then 'poor'
            else 'fair'
        end as base_status,
        coalesce(target is not null and denominator > 0 and not meets_target
            and not is_credible_miss, false) as low_volume,
        coalesce(
            judged.metric = 'order_defect_rate'
            and judged.channel = 'all'
            and judged.window_days = 60
            and spikes.is_spike,
            false
        ) as spike,
    from judged
    left join spikes on spikes.seller_id = judged.seller_id
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
        case when spike and base_status in ('good', 'none') then 'fair' else base_status end
            as status,
        low_volume,
        spike,
        is_headline,
    from statused
)

select * from final
