-- grain: one row per metric x channel x window
-- primary key: metric, channel, window_days
-- Generated from reference/metrics.toml and sql/templates/int_metric_windows.sql.j2
-- by `make models`: edit those.
-- The metric table of SPEC 3.3: channels, windows, key dates and lags, and which window
-- is the headline (the one the account status reads). A window of N days with lag L
-- covers key dates [D - L - N + 1, D - L]. `is_reported` is false for the internal
-- windows of the spike rule (SPEC 3.4: first defects in the last 7 days, against the
-- 84 days before), which are not rows of marts.seller_metrics.
with definitions as (
    select *
    from (
        values
        ('order_defect_rate', 'all', 30, 14, false, 'purchase date', true),
        ('order_defect_rate', 'all', 60, 14, true, 'purchase date', true),
        ('order_defect_rate', 'all', 90, 14, false, 'purchase date', true),
        ('order_defect_rate', 'MFN', 30, 14, false, 'purchase date', true),
        ('order_defect_rate', 'MFN', 60, 14, true, 'purchase date', true),
        ('order_defect_rate', 'MFN', 90, 14, false, 'purchase date', true),
        ('order_defect_rate', 'AFN', 30, 14, false, 'purchase date', true),
        ('order_defect_rate', 'AFN', 60, 14, true, 'purchase date', true),
        ('order_defect_rate', 'AFN', 90, 14, false, 'purchase date', true),
        ('negative_feedback_rate', 'all', 60, 14, true, 'purchase date', true),
        ('negative_feedback_rate', 'MFN', 60, 14, true, 'purchase date', true),
        ('negative_feedback_rate', 'AFN', 60, 14, true, 'purchase date', true),
        ('claim_rate', 'all', 60, 14, true, 'purchase date', true),
        ('claim_rate', 'MFN', 60, 14, true, 'purchase date', true),
        ('claim_rate', 'AFN', 60, 14, true, 'purchase date', true),
        ('chargeback_rate', 'all', 60, 14, true, 'purchase date', true),
        ('chargeback_rate', 'MFN', 60, 14, true, 'purchase date', true),
        ('chargeback_rate', 'AFN', 60, 14, true, 'purchase date', true),
        ('cancellation_rate', 'MFN', 7, 0, true, 'purchase date', true),
        ('late_shipment_rate', 'MFN', 10, 0, false, 'latest ship date', true),
        ('late_shipment_rate', 'MFN', 30, 0, true, 'latest ship date', true),
        ('refund_rate', 'all', 30, 0, true, 'purchase date', true),
        ('valid_tracking_rate', 'MFN', 30, 0, true, 'latest delivery date', true),
        ('on_time_delivery_rate', 'MFN', 14, 7, true, 'latest delivery date', true),
        ('unit_on_time_delivery_rate', 'MFN', 14, 7, true, 'latest delivery date', true),
        ('contact_response_rate', 'all', 7, 0, false, 'message received date', true),
        ('contact_response_rate', 'all', 30, 0, true, 'message received date', true),
        ('contact_response_rate', 'all', 90, 0, false, 'message received date', true),
        ('avg_response_hours', 'all', 30, 0, true, 'message received date', true),
        ('first_contact_resolution_rate', 'all', 56, 0, true, 'thread first message date', true),
        ('customer_service_dissatisfaction_rate', 'all', 60, 0, true, 'message received date', true),
        ('perfect_order_rate', 'all', 90, 0, true, 'purchase date', true),
        ('feedback_positive_rate', 'all', 365, 0, true, 'feedback date', true),
        ('policy_notices', 'all', 180, 0, true, 'notice issued date', true),
        ('defect_events', 'all', 7, 0, false, 'first defect date', false),
        ('defect_events', 'all', 84, 7, false, 'first defect date', false)
    ) as definitions (metric, channel, window_days, lag_days, is_headline, key_date, is_reported)
),

final as (
    select
        metric,
        channel,
        window_days,
        lag_days,
        is_headline,
        is_reported,
        key_date,
        getvariable('as_of_date') - lag_days - window_days + 1 as window_start,
        getvariable('as_of_date') - lag_days as window_end,
    from definitions
)

select * from final
