-- grain: one row per seller x metric with a target
-- primary key: seller_id, metric
-- Each seller's target and thresholds from ref.metric_targets (reference/
-- metric_targets.csv): its marketplace's own row wins over the default row ('*').
-- seller_metrics judges statuses with them, metric_outlook its recovery dates,
-- projections and peer cohorts.
with sellers as (
    select * from staging.stg_sellers
),

targets as (
    select * from ref.metric_targets
),

final as (
    select
        sellers.seller_id,
        sellers.marketplace,
        targets.metric,
        targets.target,
        targets.target_condition,
        targets.poor_at,
        targets.min_bad_events,
        targets.max_p_value,
        targets.peer_min_denominator,
        targets.peer_min_sellers,
    from sellers
    join targets
        on targets.marketplace in (sellers.marketplace, '*')
    qualify row_number() over (
        partition by sellers.seller_id, targets.metric
        order by targets.marketplace = '*'
    ) = 1
)

select * from final
