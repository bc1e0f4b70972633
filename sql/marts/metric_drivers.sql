-- grain: one row per seller x as-of date x failing metric x dimension x value
-- primary key: seller_id, as_of_date, metric, dimension, value
-- materialized: as_of
-- What is behind each metric at `fair` or `poor` (its headline row): the SKUs, product
-- lines, carriers and weekdays with the most bad events in the metric's headline window,
-- the top 3 of each. The newsletter's plan of action reads this; analysts can too.
-- Bad events per metric, counted over exactly the population of its headline row:
--   order_defect_rate       defective orders, by purchase weekday
--   cancellation_rate       seller-cancelled MFN orders, by purchase weekday
--   late_shipment_rate      late MFN shipments, by weekday of the latest ship date
--   valid_tracking_rate     ship-confirmed MFN orders without valid tracking, by ship weekday
--   on_time_delivery_rate   tracked MFN orders delivered late, by ship weekday
--   contact_response_rate   due messages not answered within 24 h, by weekday received
--   perfect_order_rate      orders that are not perfect, by purchase weekday
with metrics as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date')
),

windows as (
    select * from intermediate.int_metric_windows
    where is_headline
),

orders as (
    select * from intermediate.int_orders_evaluated
),

messages as (
    select * from intermediate.int_messages_evaluated
),

-- One headline row per failing metric. The ODR has three (all, MFN, AFN): take the worst,
-- and among equals the whole account, so an MFN-only problem is explained by MFN orders.
failing as (
    select seller_id, metric, channel,
    from metrics
    where is_headline and status in ('fair', 'poor') and metric <> 'policy_notices'
    qualify row_number() over (
        partition by seller_id, metric
        order by status = 'poor' desc, channel = 'all' desc, channel
    ) = 1
),

failing_sellers as (
    select distinct seller_id from failing
),

candidate_orders as (
    select orders.*
    from orders
    semi join failing_sellers on failing_sellers.seller_id = orders.seller_id
),

-- One row per order or message in a failing metric's population, with whether it is bad.
order_events as (
    select
        failing.seller_id,
        failing.metric,
        failing.channel,
        candidate_orders.sku,
        candidate_orders.product_line,
        candidate_orders.carrier,
        case failing.metric
            when 'late_shipment_rate' then candidate_orders.latest_ship_date
            when 'valid_tracking_rate' then cast(candidate_orders.ship_confirmed_at as date)
            when 'on_time_delivery_rate' then cast(candidate_orders.ship_confirmed_at as date)
            else candidate_orders.purchase_date
        end as event_date,
        case failing.metric
            when 'order_defect_rate' then candidate_orders.is_defective
            when 'cancellation_rate' then candidate_orders.is_seller_cancelled
            when 'late_shipment_rate' then candidate_orders.is_late_shipment
            when 'valid_tracking_rate' then not candidate_orders.has_valid_tracking
            when 'on_time_delivery_rate' then not candidate_orders.is_delivered_on_time
            when 'perfect_order_rate' then not candidate_orders.is_perfect
        end as is_bad,
    from failing
    join windows
        on windows.metric = failing.metric and windows.channel = failing.channel
    join candidate_orders
        on candidate_orders.seller_id = failing.seller_id
        and (failing.channel = 'all' or candidate_orders.fulfillment_channel = failing.channel)
        and case failing.metric
            when 'late_shipment_rate' then
                not candidate_orders.is_cancelled
                and candidate_orders.latest_ship_date
                between windows.window_start and windows.window_end
            when 'valid_tracking_rate' then
                candidate_orders.is_ship_confirmed
                and candidate_orders.latest_delivery_date
                between windows.window_start and windows.window_end
            when 'on_time_delivery_rate' then
                candidate_orders.has_valid_tracking
                and candidate_orders.latest_delivery_date
                between windows.window_start and windows.window_end
            else candidate_orders.purchase_date between windows.window_start and windows.window_end
        end
    where failing.metric in (
        'order_defect_rate', 'cancellation_rate', 'late_shipment_rate', 'valid_tracking_rate',
        'on_time_delivery_rate', 'perfect_order_rate'
    )
),

message_events as (
    select
        failing.seller_id,
        failing.metric,
        failing.channel,
        candidate_orders.sku,
        candidate_orders.product_line,
        cast(null as varchar) as carrier,
        messages.received_date as event_date,
        not messages.is_answered_within_24h as is_bad,
    from failing
    join windows
        on windows.metric = failing.metric and windows.channel = failing.channel
    join messages
        on messages.seller_id = failing.seller_id
        and messages.received_date between windows.window_start and windows.window_end
        and messages.is_due
    left join candidate_orders
        on candidate_orders.order_id = messages.order_id
        and candidate_orders.seller_id = messages.seller_id
    where failing.metric = 'contact_response_rate'
),

events as (
    select * from order_events
    union all
    select * from message_events
),

by_value as (
    select
        seller_id,
        metric,
        channel,
        dimension,
        value,
        count(*) filter (where is_bad) as bad_events,
        count(*) as population,
    from (
        select seller_id, metric, channel, is_bad, 'sku' as dimension, sku as value from events
        union all
        select seller_id, metric, channel, is_bad, 'product_line', product_line from events
        union all
        select seller_id, metric, channel, is_bad, 'carrier', carrier from events
        where carrier is not null
        union all
        select seller_id, metric, channel, is_bad, 'weekday', dayname(event_date) from events
        where event_date is not null
    )
    where value is not null
    group by seller_id, metric, channel, dimension, value
),

-- Every bad event of the metric, including those without a value in a dimension (an
-- order never shipped has no carrier; a message about no order has no SKU).
totals as (
    select seller_id, metric, count(*) filter (where is_bad) as total_bad_events,
    from events
    group by seller_id, metric
),

ranked as (
    select
        by_value.*,
        totals.total_bad_events,
        row_number() over (
            partition by by_value.seller_id, by_value.metric, by_value.dimension
            order by by_value.bad_events desc, by_value.population desc, by_value.value
        ) as rank,
    from by_value
    join totals on totals.seller_id = by_value.seller_id and totals.metric = by_value.metric
),

final as (
    select
        seller_id,
        getvariable('as_of_date') as as_of_date,
        metric,
        channel,
        dimension,
        value,
        rank,
        bad_events,
        population,
        bad_events / population as bad_rate,
        bad_events / total_bad_events as share_of_bad_events,
    from ranked
    where rank <= 3 and bad_events > 0
)

select * from final
