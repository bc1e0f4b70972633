-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
-- Daily numerators and denominators of each metric by the key date of SPEC 3.3, so a
-- window of any length is a sum over days rather than another scan of the orders.
-- Every flag comes from the evaluated intermediate models; nothing is re-derived here.
-- Rows are summed by `weight`: 1 here, +1 / -1 when the incremental build (pipeline/
-- engine.py) runs this same SQL over the orders and messages whose outcome changed,
-- so both builds count with one definition. Internal metrics: `rating_points` (the
-- seller rating's points by purchase date, SPEC 3.5) and `defect_events` (orders by the
-- date of their first counting defect, for the spike rule of SPEC 3.4).
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
        sum(weight) as orders,
        sum(weight) filter (where is_defective) as defective_orders,
        sum(weight) filter (where is_negative_feedback) as negative_feedback_orders,
        sum(weight) filter (where is_counting_claim) as claim_orders,
        sum(weight) filter (where is_service_chargeback) as chargeback_orders,
        sum(weight) filter (where is_seller_cancelled) as seller_cancelled_orders,
        sum(weight) filter (where is_refunded) as refunded_orders,
        sum(weight) filter (where is_perfect) as perfect_orders,
        sum(weight * case when is_defective then 0 when is_perfect then 100 else 50 end)
            as rating_points,
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
        sum(weight) as orders,
        sum(weight) filter (where is_late_shipment) as late_orders,
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
        sum(weight) as shipped_orders,
        sum(weight) filter (where has_valid_tracking) as tracked_orders,
        sum(weight) filter (where is_delivered_on_time) as on_time_orders,
    from orders
    where fulfillment_channel = 'MFN' and is_ship_confirmed
    group by seller_id, latest_delivery_date
),

by_received_date as (
    select
        seller_id,
        'all' as channel,
        received_date as key_date,
        sum(weight) filter (where is_due) as due_messages,
        sum(weight) filter (where is_due and is_answered_within_24h) as answered_in_time,
        sum(weight) filter (where is_answered and not no_response_needed) as answered_messages,
        coalesce(
            sum(weight * response_seconds) filter (where is_answered and not no_response_needed),
            0
        ) as response_seconds,
    from messages
    group by seller_id, received_date
),

by_thread_date as (
    select
        seller_id,
        'all' as channel,
        first_received_date as key_date,
        sum(weight) as threads,
        sum(weight) filter (where is_single_message) as single_message_threads,
    from threads
    group by seller_id, first_received_date
),

by_feedback_date as (
    select
        seller_id,
        'all' as channel,
        feedback_date as key_date,
        sum(weight) filter (where not removed) as counted_feedback,
        sum(weight) filter (where is_positive) as positive_feedback,
    from feedback
    group by seller_id, feedback_date
),

by_first_defect_date as (
    select
        seller_id,
        'all' as channel,
        cast(first_defect_at as date) as key_date,
        sum(weight) as defective_orders,
    from orders
    where first_defect_at is not null
    group by seller_id, cast(first_defect_at as date)
),

by_issued_date as (
    select
        seller_id,
        'all' as channel,
        issued_date as key_date,
        sum(weight) as notices,
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
    union all
    select seller_id, channel, key_date, 'rating_points', rating_points, orders,
    from by_purchase_date
    where channel = 'all'
    union all
    select seller_id, channel, key_date, 'defect_events', defective_orders, null,
    from by_first_defect_date
)

select
    seller_id,
    channel,
    key_date,
    metric,
    -- avg_response_hours counts seconds here; the windowed model turns them into hours.
    cast(coalesce(numerator, 0) as bigint) as numerator,
    -- policy_notices and defect_events are counts: no denominator.
    cast(
        case when metric not in ('policy_notices', 'defect_events') then coalesce(denominator, 0) end
        as bigint
    ) as denominator,
from final
