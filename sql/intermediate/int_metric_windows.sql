-- grain: one row per metric x channel x window
-- primary key: metric, channel, window_days
-- The metric table of SPEC 3.3: channels, windows, lags, and which window is the
-- headline (the one the account status reads). A window of N days with lag L covers
-- key dates [D - L - N + 1, D - L].
with definitions as (
    select *
    from (
        values
        ('order_defect_rate', 'all', 30, 14, false),
        ('order_defect_rate', 'all', 60, 14, true),
        ('order_defect_rate', 'all', 90, 14, false),
        ('order_defect_rate', 'MFN', 30, 14, false),
        ('order_defect_rate', 'MFN', 60, 14, true),
        ('order_defect_rate', 'MFN', 90, 14, false),
        ('order_defect_rate', 'AFN', 30, 14, false),
        ('order_defect_rate', 'AFN', 60, 14, true),
        ('order_defect_rate', 'AFN', 90, 14, false),
        ('negative_feedback_rate', 'all', 60, 14, true),
        ('negative_feedback_rate', 'MFN', 60, 14, true),
        ('negative_feedback_rate', 'AFN', 60, 14, true),
        ('claim_rate', 'all', 60, 14, true),
        ('claim_rate', 'MFN', 60, 14, true),
        ('claim_rate', 'AFN', 60, 14, true),
        ('chargeback_rate', 'all', 60, 14, true),
        ('chargeback_rate', 'MFN', 60, 14, true),
        ('chargeback_rate', 'AFN', 60, 14, true)
    ) as definitions (metric, channel, window_days, lag_days, is_headline)
),

final as (
    select
        metric,
        channel,
        window_days,
        lag_days,
        is_headline,
        getvariable('as_of_date') - lag_days - window_days + 1 as window_start,
        getvariable('as_of_date') - lag_days as window_end,
    from definitions
)

select * from final
