-- grain: one row per seller x as-of date
-- primary key: seller_id, as_of_date
-- materialized: as_of
-- Generated from reference/metrics.toml and sql/templates/seller_scorecard.sql.j2
-- by `make models`: edit those.
-- The seller's standing in one row: account status (SPEC 3.4) and the rows behind it
-- (`failing_metrics`), seller rating and feedback rating (3.5), unread notices, and the
-- headline rate, status and change since seven days before of each status-bearing metric.
with sellers as (
    select * from staging.stg_sellers
),

metrics as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date')
),

-- The same rows seven days before (none where that date was not built).
week_before as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date') - 7
),

rating_inputs as (
    select * from intermediate.int_rating_days
),

notices as (
    select * from intermediate.int_notices_evaluated
),

windows as (
    select * from intermediate.int_metric_windows
),

-- Status-bearing rows: the headline window of every metric with a target, every
-- channel, and policy notices.
account as (
    select
        seller_id,
        case
            when bool_or(status = 'poor') then 'critical'
            when bool_or(status = 'fair') then 'at_risk'
            else 'healthy'
        end as account_status,
        -- What makes it so: "metric/channel" of each row at poor, then fair.
        coalesce(
            list(metric || '/' || channel order by status = 'poor' desc, metric, channel)
                filter (where status in ('fair', 'poor')),
            []
        ) as failing_metrics,
    from metrics
    where is_headline and (target is not null or metric = 'policy_notices')
    group by seller_id
),

-- Seller rating: 100 points for a perfect order, 0 for a defective one, 50 otherwise,
-- weighted by 0.5 ^ (age in days / 90), over orders purchased in the last 365 days.
-- Points are summed per day as integers, then days in date order: a floating-point sum
-- in parallel aggregation would depend on thread scheduling in its last digit.
rating_days as (
    select
        seller_id,
        purchase_date,
        power(0.5, (getvariable('as_of_date') - purchase_date) / 90) as weight,
        points,
        orders,
    from rating_inputs
),

rating as (
    select
        seller_id,
        list_sum(list(weight * points order by purchase_date))
        / list_sum(list(weight * orders order by purchase_date)) as seller_rating,
    from rating_days
    group by seller_id
),

-- The notices SPEC 3.4 judges: issued in the window, unresolved and unread at the date.
unread as (
    select
        notices.seller_id,
        count(*) as unread_notices,
        count(*) filter (where notices.severity = 'critical') as unread_critical_notices,
    from notices
    join windows
        on windows.metric = 'policy_notices'
        and notices.issued_date between windows.window_start and windows.window_end
    where not notices.is_resolved and not notices.is_read
    group by notices.seller_id
),

-- The headline row of each metric: channel all, or the metric's one channel.
headline as (
    select *
    from metrics
    where is_headline
      and (channel = 'all' or metric in (
          'cancellation_rate',
          'late_shipment_rate',
          'valid_tracking_rate',
          'on_time_delivery_rate',
          'unit_on_time_delivery_rate'
      ))
),

pivoted as (
    select
        seller_id,
        max(headline.rate) filter (where metric = 'order_defect_rate')
            as order_defect_rate,
        max(headline.status) filter (where metric = 'order_defect_rate')
            as order_defect_rate_status,
        bool_or(headline.spike) filter (where metric = 'order_defect_rate') as order_defect_spike,
        max(headline.rate - week_before.rate) filter (where metric = 'order_defect_rate')
            as order_defect_rate_change_7d,
        max(headline.rate) filter (where metric = 'cancellation_rate')
            as cancellation_rate,
        max(headline.status) filter (where metric = 'cancellation_rate')
            as cancellation_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'cancellation_rate')
            as cancellation_rate_change_7d,
        max(headline.rate) filter (where metric = 'late_shipment_rate')
            as late_shipment_rate,
        max(headline.status) filter (where metric = 'late_shipment_rate')
            as late_shipment_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'late_shipment_rate')
            as late_shipment_rate_change_7d,
        max(headline.rate) filter (where metric = 'valid_tracking_rate')
            as valid_tracking_rate,
        max(headline.status) filter (where metric = 'valid_tracking_rate')
            as valid_tracking_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'valid_tracking_rate')
            as valid_tracking_rate_change_7d,
        max(headline.rate) filter (where metric = 'on_time_delivery_rate')
            as on_time_delivery_rate,
        max(headline.status) filter (where metric = 'on_time_delivery_rate')
            as on_time_delivery_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'on_time_delivery_rate')
            as on_time_delivery_rate_change_7d,
        max(headline.rate) filter (where metric = 'unit_on_time_delivery_rate')
            as unit_on_time_delivery_rate,
        max(headline.status) filter (where metric = 'unit_on_time_delivery_rate')
            as unit_on_time_delivery_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'unit_on_time_delivery_rate')
            as unit_on_time_delivery_rate_change_7d,
        max(headline.rate) filter (where metric = 'contact_response_rate')
            as contact_response_rate,
        max(headline.status) filter (where metric = 'contact_response_rate')
            as contact_response_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'contact_response_rate')
            as contact_response_rate_change_7d,
        max(headline.rate) filter (where metric = 'customer_service_dissatisfaction_rate')
            as customer_service_dissatisfaction_rate,
        max(headline.status) filter (where metric = 'customer_service_dissatisfaction_rate')
            as customer_service_dissatisfaction_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'customer_service_dissatisfaction_rate')
            as customer_service_dissatisfaction_rate_change_7d,
        max(headline.rate) filter (where metric = 'perfect_order_rate')
            as perfect_order_rate,
        max(headline.status) filter (where metric = 'perfect_order_rate')
            as perfect_order_rate_status,
        max(headline.rate - week_before.rate) filter (where metric = 'perfect_order_rate')
            as perfect_order_rate_change_7d,
        max(headline.rate) filter (where metric = 'feedback_positive_rate')
            as feedback_positive_rate,
        max(headline.numerator) filter (where metric = 'policy_notices') as policy_notices,
        max(headline.status) filter (where metric = 'policy_notices')
            as policy_notices_status,
    from headline
    left join week_before using (seller_id, metric, channel, window_days)
    group by seller_id
),

final as (
    select
        sellers.seller_id,
        getvariable('as_of_date') as as_of_date,
        sellers.seller_name,
        sellers.marketplace,
        coalesce(account.account_status, 'healthy') as account_status,
        coalesce(account.failing_metrics, []) as failing_metrics,
        rating.seller_rating,
        pivoted.feedback_positive_rate,
        coalesce(unread.unread_notices, 0) as unread_notices,
        coalesce(unread.unread_critical_notices, 0) as unread_critical_notices,
        pivoted.order_defect_rate,
        pivoted.order_defect_rate_status,
        pivoted.order_defect_rate_change_7d,
        coalesce(pivoted.order_defect_spike, false) as order_defect_spike,
        pivoted.cancellation_rate,
        pivoted.cancellation_rate_status,
        pivoted.cancellation_rate_change_7d,
        pivoted.late_shipment_rate,
        pivoted.late_shipment_rate_status,
        pivoted.late_shipment_rate_change_7d,
        pivoted.valid_tracking_rate,
        pivoted.valid_tracking_rate_status,
        pivoted.valid_tracking_rate_change_7d,
        pivoted.on_time_delivery_rate,
        pivoted.on_time_delivery_rate_status,
        pivoted.on_time_delivery_rate_change_7d,
        pivoted.unit_on_time_delivery_rate,
        pivoted.unit_on_time_delivery_rate_status,
        pivoted.unit_on_time_delivery_rate_change_7d,
        pivoted.contact_response_rate,
        pivoted.contact_response_rate_status,
        pivoted.contact_response_rate_change_7d,
        pivoted.customer_service_dissatisfaction_rate,
        pivoted.customer_service_dissatisfaction_rate_status,
        pivoted.customer_service_dissatisfaction_rate_change_7d,
        pivoted.perfect_order_rate,
        pivoted.perfect_order_rate_status,
        pivoted.perfect_order_rate_change_7d,
        cast(pivoted.policy_notices as integer) as policy_notices,
        pivoted.policy_notices_status,
    from sellers
    left join account on account.seller_id = sellers.seller_id
    left join rating on rating.seller_id = sellers.seller_id
    left join unread on unread.seller_id = sellers.seller_id
    left join pivoted on pivoted.seller_id = sellers.seller_id
)

select * from final
