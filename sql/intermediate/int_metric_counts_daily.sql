-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
-- Generated from reference/metrics.toml by `make models`: edit the registry.
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

-- Key date: purchase date.
by_purchase_date as (
    select
        seller_id,
        coalesce(fulfillment_channel, 'all') as channel,
        purchase_date as key_date,
        sum(weight) filter (where is_defective) as order_defect_rate__numerator,
        sum(weight) as order_defect_rate__denominator,
        sum(weight) filter (where is_negative_feedback) as negative_feedback_rate__numerator,
        sum(weight) as negative_feedback_rate__denominator,
        sum(weight) filter (where is_counting_claim) as claim_rate__numerator,
        sum(weight) as claim_rate__denominator,
        sum(weight) filter (where is_service_chargeback) as chargeback_rate__numerator,
        sum(weight) as chargeback_rate__denominator,
        sum(weight) filter (where is_seller_cancelled) as cancellation_rate__numerator,
        sum(weight) as cancellation_rate__denominator,
        sum(weight) filter (where is_refunded) as refund_rate__numerator,
        sum(weight) as refund_rate__denominator,
        sum(weight) filter (where is_perfect) as perfect_order_rate__numerator,
        sum(weight) as perfect_order_rate__denominator,
        sum(weight * case when is_defective then 0 when is_perfect then 100 else 50 end)
            as rating_points__numerator,
        sum(weight) as rating_points__denominator,
    from orders
    group by grouping sets (
        (seller_id, fulfillment_channel, purchase_date),
        (seller_id, purchase_date)
    )
),

-- Key date: latest ship date; not is_cancelled.
by_latest_ship_date as (
    select
        seller_id,
        'MFN' as channel,
        latest_ship_date as key_date,
        sum(weight) filter (where is_late_shipment) as late_shipment_rate__numerator,
        sum(weight) as late_shipment_rate__denominator,
    from orders
    where fulfillment_channel = 'MFN' and not is_cancelled
    group by seller_id, latest_ship_date
),

-- Key date: latest delivery date; is_ship_confirmed.
by_latest_delivery_date as (
    select
        seller_id,
        'MFN' as channel,
        latest_delivery_date as key_date,
        sum(weight) filter (where has_valid_tracking) as valid_tracking_rate__numerator,
        sum(weight) as valid_tracking_rate__denominator,
        sum(weight) filter (where has_valid_tracking and is_delivered_on_time)
            as on_time_delivery_rate__numerator,
        sum(weight) filter (where has_valid_tracking) as on_time_delivery_rate__denominator,
        sum(weight * quantity) filter (where has_valid_tracking and is_delivered_on_time)
            as unit_on_time_delivery_rate__numerator,
        sum(weight * quantity) filter (where has_valid_tracking)
            as unit_on_time_delivery_rate__denominator,
    from orders
    where fulfillment_channel = 'MFN' and is_ship_confirmed
    group by seller_id, latest_delivery_date
),

-- Key date: message received date.
by_received_date as (
    select
        seller_id,
        'all' as channel,
        received_date as key_date,
        sum(weight) filter (where is_due and is_answered_within_24h)
            as contact_response_rate__numerator,
        sum(weight) filter (where is_due) as contact_response_rate__denominator,
        sum(weight * response_seconds) filter (where is_answered and not no_response_needed)
            as avg_response_hours__numerator,
        sum(weight) filter (where is_answered and not no_response_needed)
            as avg_response_hours__denominator,
        sum(weight) filter (where has_verdict and is_not_solved)
            as customer_service_dissatisfaction_rate__numerator,
        sum(weight) filter (where has_verdict)
            as customer_service_dissatisfaction_rate__denominator,
    from messages
    group by seller_id, received_date
),

-- Key date: thread first message date.
by_first_received_date as (
    select
        seller_id,
        'all' as channel,
        first_received_date as key_date,
        sum(weight) filter (where is_single_message)
            as first_contact_resolution_rate__numerator,
        sum(weight) as first_contact_resolution_rate__denominator,
    from threads
    group by seller_id, first_received_date
),

-- Key date: feedback date.
by_feedback_date as (
    select
        seller_id,
        'all' as channel,
        feedback_date as key_date,
        sum(weight) filter (where not removed and is_positive)
            as feedback_positive_rate__numerator,
        sum(weight) filter (where not removed) as feedback_positive_rate__denominator,
    from feedback
    group by seller_id, feedback_date
),

-- Key date: notice issued date.
by_issued_date as (
    select
        seller_id,
        'all' as channel,
        issued_date as key_date,
        sum(weight) as policy_notices__numerator,
    from notices
    group by seller_id, issued_date
),

-- Key date: first defect date; first_defect_at is not null.
by_first_defect_date as (
    select
        seller_id,
        'all' as channel,
        cast(first_defect_at as date) as key_date,
        sum(weight) as defect_events__numerator,
    from orders
    where first_defect_at is not null
    group by seller_id, cast(first_defect_at as date)
),

final as (
    select seller_id, channel, key_date, 'order_defect_rate' as metric,
        order_defect_rate__numerator as numerator,
        order_defect_rate__denominator as denominator,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'negative_feedback_rate' as metric,
        negative_feedback_rate__numerator as numerator,
        negative_feedback_rate__denominator as denominator,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'claim_rate' as metric,
        claim_rate__numerator as numerator,
        claim_rate__denominator as denominator,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'chargeback_rate' as metric,
        chargeback_rate__numerator as numerator,
        chargeback_rate__denominator as denominator,
    from by_purchase_date
    union all
    select seller_id, channel, key_date, 'cancellation_rate' as metric,
        cancellation_rate__numerator as numerator,
        cancellation_rate__denominator as denominator,
    from by_purchase_date
    where channel in ('MFN')
    union all
    select seller_id, channel, key_date, 'refund_rate' as metric,
        refund_rate__numerator as numerator,
        refund_rate__denominator as denominator,
    from by_purchase_date
    where channel in ('all')
    union all
    select seller_id, channel, key_date, 'perfect_order_rate' as metric,
        perfect_order_rate__numerator as numerator,
        perfect_order_rate__denominator as denominator,
    from by_purchase_date
    where channel in ('all')
    union all
    select seller_id, channel, key_date, 'rating_points' as metric,
        rating_points__numerator as numerator,
        rating_points__denominator as denominator,
    from by_purchase_date
    where channel in ('all')
    union all
    select seller_id, channel, key_date, 'late_shipment_rate' as metric,
        late_shipment_rate__numerator as numerator,
        late_shipment_rate__denominator as denominator,
    from by_latest_ship_date
    union all
    select seller_id, channel, key_date, 'valid_tracking_rate' as metric,
        valid_tracking_rate__numerator as numerator,
        valid_tracking_rate__denominator as denominator,
    from by_latest_delivery_date
    union all
    select seller_id, channel, key_date, 'on_time_delivery_rate' as metric,
        on_time_delivery_rate__numerator as numerator,
        on_time_delivery_rate__denominator as denominator,
    from by_latest_delivery_date
    union all
    select seller_id, channel, key_date, 'unit_on_time_delivery_rate' as metric,
        unit_on_time_delivery_rate__numerator as numerator,
        unit_on_time_delivery_rate__denominator as denominator,
    from by_latest_delivery_date
    union all
    select seller_id, channel, key_date, 'contact_response_rate' as metric,
        contact_response_rate__numerator as numerator,
        contact_response_rate__denominator as denominator,
    from by_received_date
    union all
    select seller_id, channel, key_date, 'avg_response_hours' as metric,
        avg_response_hours__numerator as numerator,
        avg_response_hours__denominator as denominator,
    from by_received_date
    union all
    select seller_id, channel, key_date, 'customer_service_dissatisfaction_rate' as metric,
        customer_service_dissatisfaction_rate__numerator as numerator,
        customer_service_dissatisfaction_rate__denominator as denominator,
    from by_received_date
    union all
    select seller_id, channel, key_date, 'first_contact_resolution_rate' as metric,
        first_contact_resolution_rate__numerator as numerator,
        first_contact_resolution_rate__denominator as denominator,
    from by_first_received_date
    union all
    select seller_id, channel, key_date, 'feedback_positive_rate' as metric,
        feedback_positive_rate__numerator as numerator,
        feedback_positive_rate__denominator as denominator,
    from by_feedback_date
    union all
    select seller_id, channel, key_date, 'policy_notices' as metric,
        policy_notices__numerator as numerator,
        null as denominator,
    from by_issued_date
    union all
    select seller_id, channel, key_date, 'defect_events' as metric,
        defect_events__numerator as numerator,
        null as denominator,
    from by_first_defect_date
)

select
    seller_id,
    channel,
    key_date,
    metric,
    -- avg_response_hours counts seconds here; the windowed model turns them into hours.
    cast(coalesce(numerator, 0) as bigint) as numerator,
    -- Counts ('policy_notices', 'defect_events') have no denominator.
    cast(
        case
            when metric not in ('policy_notices', 'defect_events') then coalesce(denominator, 0)
        end as bigint
    ) as denominator,
from final
