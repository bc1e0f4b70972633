-- grain: one row per seller x metric x channel x window with any data in the window
-- primary key: seller_id, metric, channel, window_days
-- The incremental build's window sums: the running totals pipeline/models/engine.py keeps up
-- to date (or computed for this date), and the policy notices counted as of the date.
with totals as (
    select * from _window_totals_at_date
),

notices as (
    select * from intermediate.int_notices_evaluated
),

windows as (
    select * from intermediate.int_metric_windows
),

notice_counts as (
    select
        notices.seller_id,
        windows.metric,
        windows.channel,
        windows.window_days,
        cast(sum(notices.weight) as double) as numerator,
        cast(null as hugeint) as denominator,
    from windows
    join notices
        on notices.issued_date between windows.window_start and windows.window_end
    where windows.metric = 'policy_notices'
    group by notices.seller_id, windows.metric, windows.channel, windows.window_days
),

final as (
    select
        seller_id,
        metric,
        channel,
        window_days,
        case
            when metric = 'avg_response_hours' then numerator / 3600
            else cast(numerator as double)
        end as numerator,
        cast(denominator as hugeint) as denominator,
    from totals
    union all
    select * from notice_counts
)

select * from final
