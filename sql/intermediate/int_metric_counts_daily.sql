-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
-- Daily numerators and denominators of each metric by the key date of SPEC 3.3, so a
-- window of any length is a sum over days rather than another scan of the orders.
-- Every flag comes from the evaluated intermediate models; nothing is re-derived here.
with orders as (
    select * from intermediate.int_orders_evaluated
),

messages as (
    select * from intermediate.int_messages_evaluated
),

threads as (
    select * from intermediate.int_threads_evaluated
),

feedback as (
    select * from intermediate.int_feedback_evaluated
),

notices as (
    select * from intermediate.int_notices_evaluated
),

-- Key date: purchase date; channels all, MFN, AFN.
by_purchase_date as (
    select
        seller_id,
        coalesce(fulfillment_channel, 'all') as channel,
        purchase_date as key_date,
        count(*) as orders,
        count(*) filter (where is_defective) as defective_orders,
        count(*) filter (where is_negative_feedback) as negative_feedback_orders,
        count(*) filter (where is_counting_claim) as claim_orders,
        count(*) filter (where is_service_chargeback) as chargeback_orders,
        count(*) filter (where is_seller_cancelled) as seller_cancelled_orders,
        count(*) filter (where is_refunded) as refunded_orders,
        count(*) filter (where is_perfect) as perfect_orders,
    from orders
    group by grouping sets (
        (seller_id, fulfillment_channel, purchase_date),
        (seller_id, purchase_date)
    )
),

-- Key date: latest ship date; MFN orders that were not cancelled.
by_ship_date as (
    select
        seller_id,
        'MFN' as channel,
        latest_ship_date as key_date,
        count(*) as orders,
        count(*) filter (where is_late_shipment) as late_orders,
    from orders
    where fulfillment_channel = 'MFN' and not is_cancelled
    group by seller_id, latest_ship_date
),

-- Key date: latest delivery date; ship-confirmed MFN orders.
by_delivery_date as (
    select
        seller_id,
        'MFN' as channel,
        latest_delivery_date as key_date,
        count(*) as shipped_orders,
        count(*) filter (where has_valid_tracking) as tracked_orders,
        count(*) filter (where is_delivered_on_time) as on_time_orders,
    from orders
    where fulfillment_channel = 'MFN' and is_ship_confirmed
    group by seller_id, latest_delivery_date
),

by_received_date as (
    select
        seller_id,
        'all' as channel,
        received_date as key_date,
        count(*) filter (where is_due) as due_messages,
        count(*) filter (where is_due and is_answered_within_24h) as answered_in_time,
        count(*) filter (where is_answered and not no_response_needed) as answered_messages,
        coalesce(
            sum(response_seconds) filter (where is_answered and not no_response_needed), 0
        ) as response_seconds,
    from messages
    group by seller_id, received_date
),

by_thread_date as (
    select
        seller_id,
        'all' as channel,
        first_received_date as key_date,
        count(*) as threads,
        count(*) filter (where is_single_message) as single_message_threads,
    from threads
    group by seller_id, first_received_date
),

by_feedback_date as (
    select
        seller_id,
        'all' as channel,
        feedback_date as key_date,
        count(*) filter (where not removed) as counted_feedback,
        count(*) filter (where is_positive) as positive_feedback,
    from feedback
    group by seller_id, feedback_date
),

by_issued_date as (
    select
        seller_id,
        'all' as channel,
        issued_date as key_date,
        count(*) as notices,
    from notices
    group by seller_id, issued_date
),

final as (
    select seller_id, channel, key_date, 'order_defect_rate' as metric,
        defective_orders as numerator, orders as denominator,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'negative_feedback_rate',
        negative_feedback_orders, orders,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'claim_rate', claim_orders, orders,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'chargeback_rate', chargeback_orders, orders,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'cancellation_rate', seller_cancelled_orders, orders,
    from by_purchase_date
    where channel = 'MFN'
    union all
    select seller_id, channel, key_date, 'refund_rate', refunded_orders, orders,
    from by_purchase_date
    where channel = 'all'
    union all
    select seller_id, channel, key_date, 'perfect_order_rate', perfect_orders, orders,
    from by_purchase_date
    where channel = 'all'
    union all
    select seller_id, channel, key_date, 'late_shipment_rate', late_orders, orders,
    from by_ship_date
    union all
    select seller_id, channel, key_date, 'valid_tracking_rate', tracked_orders, shipped_orders,
    from by_delivery_date
    union all
    select seller_id, channel, key_date, 'on_time_delivery_rate', on_time_orders, tracked_orders,
    from by_delivery_date
    union all
    select seller_id, channel, key_date, 'contact_response_rate', answered_in_time, due_messages,
    from by_received_date
    union all
    select seller_id, channel, key_date, 'avg_response_hours', response_seconds, answered_messages,
    from by_received_date
    union all
    select seller_id, channel, key_date, 'first_contact_resolution_rate',
        single_message_threads, threads,
    from by_thread_date
    union all
    select seller_id, channel, key_date, 'feedback_positive_rate',
        positive_feedback, counted_feedback,
    from by_feedback_date
    union all
    select seller_id, channel, key_date, 'policy_notices', notices, null,
    from by_issued_date
)

select
    seller_id,
    channel,
    key_date,
    metric,
    -- avg_response_hours counts seconds here; the windowed model turns them into hours.
    cast(numerator as bigint) as numerator,
    cast(denominator as bigint) as denominator,
from final
