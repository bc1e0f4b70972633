-- grain: one row per seller x as-of date x status-bearing rate row (metric x channel)
-- primary key: seller_id, as_of_date, metric, channel
-- materialized: as_of
-- The bad events, as known at D, on the key dates of each headline window
-- that are still in the window 28 days later: [D - L - N + 29, D - L] (none when N <= 28).
-- marts.metric_outlook of D + 28 reads them to tell the days that left its window from
-- the days whose counts changed in between (restated), SPEC 3.6. Kept per as-of date
-- like a mart, but not one: analysts read the change parts in marts.metric_outlook.
with outlook_rows as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date')
      and is_headline
      and target is not null
      and metric <> 'policy_notices'
),

daily as (
    select * from intermediate.int_daily_counts
),

final as (
    select
        outlook_rows.seller_id,
        outlook_rows.as_of_date,
        outlook_rows.metric,
        outlook_rows.channel,
        cast(coalesce(sum(
            cxn_bad_events(daily.numerator, daily.denominator, outlook_rows.target_condition)
        ), 0) as bigint) as bad_events,
    from outlook_rows
    left join daily
        on daily.seller_id = outlook_rows.seller_id
        and daily.metric = outlook_rows.metric
        and daily.channel = outlook_rows.channel
        and daily.key_date between outlook_rows.window_start + 28 and outlook_rows.window_end
    group by all
)

select * from final
