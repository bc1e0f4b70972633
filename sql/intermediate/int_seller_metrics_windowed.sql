-- grain: one row per seller x metric x channel x window with any data in the window
-- primary key: seller_id, metric, channel, window_days
with daily as (
    select * from intermediate.int_metric_counts_daily
),

windows as (
    select * from intermediate.int_metric_windows
),

final as (
    select
        daily.seller_id,
        windows.metric,
        windows.channel,
        windows.window_days,
        -- Integer sums (exact); response seconds become hours once, per window.
        case
            when windows.metric = 'avg_response_hours' then sum(daily.numerator) / 3600
            else cast(sum(daily.numerator) as double)
        end as numerator,
        sum(daily.denominator) as denominator,
    from windows
    join daily
        on daily.metric = windows.metric
        and daily.channel = windows.channel
        and daily.key_date between windows.window_start and windows.window_end
    group by daily.seller_id, windows.metric, windows.channel, windows.window_days
)

select * from final
