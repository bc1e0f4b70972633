-- grain: one row per seller x as-of date x failing metric x dimension x value
-- primary key: seller_id, as_of_date, metric, dimension, value
-- materialized: as_of
-- Generated from reference/metrics.toml and sql/templates/metric_drivers.sql.j2
-- by `make models`: edit those.
-- What is behind each metric at `fair` or `poor` (its headline row): the SKUs, product
-- lines, carriers (of seller-fulfilled orders), weekdays and causes (where the registry
-- names them) with the most bad events in the metric's headline window,
-- the top 3 of each. The newsletter's plan of action reads this; analysts can too.
-- Bad events per metric, counted over exactly the population of its headline row (the
-- registry's population and denominator; bad: the numerator, or its opposite for a
-- higher-is-better metric), by the weekday of:
--   order_defect_rate           purchase date
--   cancellation_rate           purchase date
--   late_shipment_rate          latest ship date
--   valid_tracking_rate         cast(ship_confirmed_at as date)
--   on_time_delivery_rate       cast(ship_confirmed_at as date)
--   unit_on_time_delivery_rate  cast(ship_confirmed_at as date)
--   contact_response_rate       message received date
--   customer_service_dissatisfaction_ratemessage received date
--   perfect_order_rate          purchase date
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

-- The row each failing metric's plan of action explains (marts.seller_metrics decides:
-- `is_plan_row`), for the metrics whose bad events are orders or messages.
failing as (
    select seller_id, metric, channel,
    from metrics
    where is_plan_row and metric in (
        'order_defect_rate',
        'cancellation_rate',
        'late_shipment_rate',
        'valid_tracking_rate',
        'on_time_delivery_rate',
        'unit_on_time_delivery_rate',
        'contact_response_rate',
        'customer_service_dissatisfaction_rate',
        'perfect_order_rate'
    )
),

failing_sellers as (
    select distinct seller_id from failing
),

candidate_orders as (
    select orders.*
    from orders
    semi join failing_sellers on failing_sellers.seller_id = orders.seller_id
),
-- Each metric's population (every order or message of it, and whether it is bad), by
-- the registry's population, denominator and numerator; one select per metric.
populations as (
    -- Order defect rate
    select
        'order_defect_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        purchase_date as key_date,
        purchase_date as event_date,
        is_defective as is_bad,
        cast(null as varchar[]) as causes,
    from candidate_orders
    union all
    -- Pre-fulfilment cancellation rate
    select
        'cancellation_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        purchase_date as key_date,
        purchase_date as event_date,
        is_seller_cancelled as is_bad,
        cast(null as varchar[]) as causes,
    from candidate_orders
    union all
    -- Late shipment rate
    select
        'late_shipment_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        latest_ship_date as key_date,
        latest_ship_date as event_date,
        is_late_shipment as is_bad,
        cast(null as varchar[]) as causes,
    from candidate_orders
    where not is_cancelled
    union all
    -- Valid tracking rate
    select
        'valid_tracking_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        latest_delivery_date as key_date,
        cast(ship_confirmed_at as date) as event_date,
        not has_valid_tracking as is_bad,
        cast(null as varchar[]) as causes,
    from candidate_orders
    where is_ship_confirmed
    union all
    -- On-time delivery rate
    select
        'on_time_delivery_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        latest_delivery_date as key_date,
        cast(ship_confirmed_at as date) as event_date,
        not is_delivered_on_time as is_bad,
        cast(null as varchar[]) as causes,
    from candidate_orders
    where is_ship_confirmed and has_valid_tracking
    union all
    -- Unit on-time delivery rate
    select
        'unit_on_time_delivery_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        latest_delivery_date as key_date,
        cast(ship_confirmed_at as date) as event_date,
        not is_delivered_on_time as is_bad,
        cast(null as varchar[]) as causes,
    from candidate_orders
    where is_ship_confirmed and has_valid_tracking
    union all
    -- Buyer messages answered within 24 hours
    select
        'contact_response_rate' as metric,
        messages.seller_id,
        'all' as fulfillment_channel,
        candidate_orders.sku,
        candidate_orders.product_line,
        cast(null as varchar) as carrier,
        received_date as key_date,
        received_date as event_date,
        not is_answered_within_24h as is_bad,
        cast(null as varchar[]) as causes,
    from messages
    semi join failing_sellers on failing_sellers.seller_id = messages.seller_id
    left join candidate_orders
        on candidate_orders.order_id = messages.order_id
        and candidate_orders.seller_id = messages.seller_id
    where is_due
    union all
    -- Customer service dissatisfaction rate
    select
        'customer_service_dissatisfaction_rate' as metric,
        messages.seller_id,
        'all' as fulfillment_channel,
        candidate_orders.sku,
        candidate_orders.product_line,
        cast(null as varchar) as carrier,
        received_date as key_date,
        received_date as event_date,
        is_not_solved as is_bad,
        cast(null as varchar[]) as causes,
    from messages
    semi join failing_sellers on failing_sellers.seller_id = messages.seller_id
    left join candidate_orders
        on candidate_orders.order_id = messages.order_id
        and candidate_orders.seller_id = messages.seller_id
    where has_verdict
    union all
    -- Perfect order percentage
    select
        'perfect_order_rate' as metric,
        seller_id,
        fulfillment_channel,
        sku,
        product_line,
        -- The marketplace ships its own orders: carriers explain seller-fulfilled ones.
        case when fulfillment_channel = 'MFN' then carrier end as carrier,
        purchase_date as key_date,
        purchase_date as event_date,
        not is_perfect as is_bad,
        list_filter([
            case when is_negative_feedback then 'negative feedback' end,
            case when is_counting_claim then 'A-to-z claim' end,
            case when is_service_chargeback then 'chargeback' end,
            case when is_cancelled then 'cancellation' end,
            case when is_late_shipment then 'late shipment' end,
            case when is_refunded then 'refund' end,
            case when has_buyer_contact then 'buyer message' end
        ], lambda cause: cause is not null) as causes,
    from candidate_orders
),

-- The population of each failing row: its seller, its channel, its headline window.
events as (
    select
        failing.seller_id,
        failing.metric,
        failing.channel,
        population.sku,
        population.product_line,
        population.carrier,
        population.event_date,
        population.is_bad,
        population.causes,
    from failing
    join windows
        on windows.metric = failing.metric and windows.channel = failing.channel
    join populations as population
        on population.metric = failing.metric
        and population.seller_id = failing.seller_id
        and (failing.channel = 'all' or population.fulfillment_channel = failing.channel)
        and population.key_date between windows.window_start and windows.window_end
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
        union all
        select seller_id, metric, channel, is_bad, 'cause', unnest(causes) from events
        where causes is not null
    )
    where value is not null
    group by seller_id, metric, channel, dimension, value
),

-- Every bad event of the metric, including those without a value in a dimension (an
-- order never shipped has no carrier; a message about no order has no SKU).
totals as (
    select
        seller_id,
        metric,
        count(*) filter (where is_bad) as total_bad_events,
        count(*) as total_population,
    from events
    group by seller_id, metric
),

ranked as (
    select
        -- A cause is counted among all of the metric's population (every row that has a
        -- cause is a bad event, so its own rows alone would make every rate 100 %).
        by_value.* replace (
            case
                when by_value.dimension = 'cause' then totals.total_population
                else by_value.population
            end as population
        ),
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
