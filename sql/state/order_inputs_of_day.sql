-- grain: one row per order touched by the load of one day
-- primary key: order_id
-- The inputs of order_state.sql at load date D = getvariable('state_day') for the orders
-- in temp table _state_keys (key), as order_inputs.sql would find them, but without
-- reading the raw history: the record versions in effect the day before are the ones
-- the orders' current rows (_current_orders) keep, and a version loaded on D replaces
-- one when it ranks higher (greater last_updated_at, then the later folder, then the
-- later record: SPEC 3.1). An order's claims, chargebacks, refunds and messages are few
-- and are counted from their raw versions in effect at D.
with keys as (
    select key as order_id from _state_keys
),

current_orders as (
    select * from _current_orders
),

day_orders as (
    select * from raw.orders
    where _load_date = getvariable('state_day') and order_id in (select order_id from keys)
),

day_shipments as (
    select * from raw.shipments
    where _load_date = getvariable('state_day') and order_id in (select order_id from keys)
),

day_cancellations as (
    select * from raw.cancellations
    where _load_date = getvariable('state_day') and order_id in (select order_id from keys)
),

day_feedback as (
    select * from raw.feedback
    where _load_date = getvariable('state_day') and order_id in (select order_id from keys)
),

-- The candidates for each record: the version kept, and the day's versions.
order_candidates as (
    select
        order_id, order_version as version, seller_id, purchased_at, purchase_date,
        order_status, fulfillment_channel, product_line, sku, quantity, item_price, currency,
        latest_ship_date, latest_delivery_date,
    from current_orders
    union all
    select
        order_id, {'updated_at': last_updated_at, 'loaded_on': _load_date, 'line': _line},
        seller_id, purchased_at, cast(purchased_at as date), order_status,
        fulfillment_channel, product_line, sku, quantity, item_price, currency,
        latest_ship_date, latest_delivery_date,
    from day_orders
),

shipment_candidates as (
    select
        order_id, shipment_version as version, ship_confirmed_at, carrier, tracking_id,
        first_scan_at, delivered_at,
    from current_orders
    where shipment_version is not null
    union all
    select
        order_id, {'updated_at': last_updated_at, 'loaded_on': _load_date, 'line': _line},
        ship_confirmed_at, carrier, tracking_id, first_scan_at, delivered_at,
    from day_shipments
),

cancellation_candidates as (
    select order_id, cancellation_version as version, cancelled_at, cancellation_initiated_by,
    from current_orders
    where cancellation_version is not null
    union all
    select
        order_id, {'updated_at': last_updated_at, 'loaded_on': _load_date, 'line': _line},
        cancelled_at, initiated_by,
    from day_cancellations
),

feedback_candidates as (
    select
        order_id, feedback_version as version, feedback_left_at, feedback_date,
        feedback_rating, feedback_comment, is_feedback_removed,
    from current_orders
    where feedback_version is not null
    union all
    select
        order_id, {'updated_at': last_updated_at, 'loaded_on': _load_date, 'line': _line},
        left_at, cast(left_at as date), rating, comment, removed,
    from day_feedback
),

orders as (
    select * from order_candidates
    qualify row_number() over (partition by order_id order by version desc) = 1
),

shipments as (
    select * from shipment_candidates
    qualify row_number() over (partition by order_id order by version desc) = 1
),

cancellations as (
    select * from cancellation_candidates
    qualify row_number() over (partition by order_id order by version desc) = 1
),

feedback as (
    select * from feedback_candidates
    qualify row_number() over (partition by order_id order by version desc) = 1
),

in_effect_claims as (
    select * from raw.claims
    where order_id in (select order_id from keys)
      and _load_date <= getvariable('state_day')
      and (_superseded_on is null or _superseded_on > getvariable('state_day'))
),

in_effect_chargebacks as (
    select * from raw.chargebacks
    where order_id in (select order_id from keys)
      and _load_date <= getvariable('state_day')
      and (_superseded_on is null or _superseded_on > getvariable('state_day'))
),

in_effect_refunds as (
    select * from raw.refunds
    where order_id in (select order_id from keys)
      and _load_date <= getvariable('state_day')
      and (_superseded_on is null or _superseded_on > getvariable('state_day'))
),

in_effect_messages as (
    select * from raw.messages
    where order_id in (select order_id from keys)
      and _load_date <= getvariable('state_day')
      and (_superseded_on is null or _superseded_on > getvariable('state_day'))
),

claim_flags as (
    select
        order_id,
        bool_or(status not in ('denied', 'withdrawn', 'marketplace_funded')) as is_counting_claim,
        min(filed_at) filter (
            where status not in ('denied', 'withdrawn', 'marketplace_funded')
        ) as counting_claim_at,
    from in_effect_claims
    group by order_id
),

chargeback_flags as (
    select
        order_id,
        bool_or(kind = 'service' and status <> 'reversed') as is_service_chargeback,
        min(filed_at) filter (
            where kind = 'service' and status <> 'reversed'
        ) as service_chargeback_at,
    from in_effect_chargebacks
    group by order_id
),

refund_flags as (
    select order_id, count(*) as refunds,
    from in_effect_refunds
    group by order_id
),

contact_flags as (
    select order_id, count(*) as buyer_messages,
    from in_effect_messages
    group by order_id
),

final as (
    select
        orders.order_id,
        getvariable('state_day') as valid_from,
        orders.seller_id,
        orders.purchased_at,
        orders.purchase_date,
        orders.order_status,
        orders.fulfillment_channel,
        orders.product_line,
        orders.sku,
        orders.quantity,
        orders.item_price,
        orders.currency,
        orders.latest_ship_date,
        orders.latest_delivery_date,
        orders.version as order_version,
        shipments.ship_confirmed_at,
        shipments.carrier,
        shipments.tracking_id,
        shipments.first_scan_at,
        shipments.delivered_at,
        shipments.version as shipment_version,
        cancellations.cancelled_at,
        cancellations.cancellation_initiated_by,
        cancellations.version as cancellation_version,
        feedback.feedback_left_at,
        feedback.feedback_date,
        feedback.feedback_rating,
        feedback.feedback_comment,
        feedback.is_feedback_removed,
        feedback.version as feedback_version,
        claim_flags.is_counting_claim,
        claim_flags.counting_claim_at,
        chargeback_flags.is_service_chargeback,
        chargeback_flags.service_chargeback_at,
        refund_flags.refunds,
        contact_flags.buyer_messages,
    from orders
    left join shipments using (order_id)
    left join cancellations using (order_id)
    left join feedback using (order_id)
    left join claim_flags using (order_id)
    left join chargeback_flags using (order_id)
    left join refund_flags using (order_id)
    left join contact_flags using (order_id)
)

select * from final
