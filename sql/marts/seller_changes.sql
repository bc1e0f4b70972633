-- grain: one row per seller x as-of date x status-bearing headline row (metric x channel)
-- primary key: seller_id, as_of_date, metric, channel
-- materialized: as_of
-- "Which sellers got worse this week, and why?" in one plain select: each status-bearing
-- headline row (the rows the account status reads, SPEC 3.4) beside the same row seven
-- days before (NULL where that date was not built), with whether its status got worse.
with now as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date')
      and is_headline and (target is not null or metric = 'policy_notices')
),

week_before as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date') - 7
      and is_headline and (target is not null or metric = 'policy_notices')
),

final as (
    select
        now.seller_id,
        now.as_of_date,
        now.metric,
        now.channel,
        week_before.status as status_week_before,
        now.status,
        week_before.rate as rate_week_before,
        now.rate,
        now.rate - week_before.rate as rate_change,
        now.numerator,
        now.denominator,
        now.target,
        now.target_condition,
        coalesce(
            case now.status when 'poor' then 2 when 'fair' then 1 else 0 end
            > case week_before.status when 'poor' then 2 when 'fair' then 1 else 0 end,
            false
        ) as got_worse,
        coalesce(
            case now.status when 'poor' then 2 when 'fair' then 1 else 0 end
            < case week_before.status when 'poor' then 2 when 'fair' then 1 else 0 end,
            false
        ) as got_better,
    from now
    left join week_before
        on week_before.seller_id = now.seller_id
        and week_before.metric = now.metric
        and week_before.channel = now.channel
)

select * from final
