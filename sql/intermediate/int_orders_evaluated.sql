-- grain: one row per order known at the as-of date
-- primary key: order_id
-- The per-order outcomes of SPEC 3.2: the one place their definitions live. Every
-- metric, mart and newsletter section aggregates these flags instead of re-deriving them.
with orders as (
    select * from staging.stg_orders
),

feedback as (
    select * from staging.stg_feedback
),

claims as (
    select * from staging.stg_claims
),

chargebacks as (
    select * from staging.stg_chargebacks
),

cancellations as (
    select * from staging.stg_cancellations
),

shipments as (
    select * from staging.stg_shipments
),

refunds as (
    select * from staging.stg_refunds
),

messages as (
    select * from staging.stg_messages
),

feedback_flags as (
    select
        order_id,
        rating as feedback_rating,
        comment as feedback_comment,
        removed as is_feedback_removed,
        rating <= 2 and not removed as is_negative_feedback,
        case when rating <= 2 and not removed then left_at end as negative_feedback_at,
    from feedback
),

claim_flags as (
    select
        order_id,
        bool_or(status not in ('denied', 'withdrawn', 'marketplace_funded')) as is_counting_claim,
        min(filed_at) filter (
            where status not in ('denied', 'withdrawn', 'marketplace_funded')
        ) as counting_claim_at,
    from claims
    group by order_id
),

chargeback_flags as (
    select
        order_id,
        bool_or(kind = 'service' and status <> 'reversed') as is_service_chargeback,
        min(filed_at) filter (
            where kind = 'service' and status <> 'reversed'
        ) as service_chargeback_at,
    from chargebacks
    group by order_id
),

refund_flags as (
    select
        order_id,
        count(*) as refunds,
        sum(amount) as refunded_amount,
    from refunds
    group by order_id
),

contact_flags as (
    select
        order_id,
        count(*) as buyer_messages,
    from messages
    where order_id is not null
    group by order_id
),

joined as (
    select
        orders.order_id,
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
        shipments.ship_confirmed_at,
        shipments.carrier,
        shipments.tracking_id,
        shipments.first_scan_at,
        shipments.delivered_at,
        cancellations.cancelled_at,
        cancellations.initiated_by as cancellation_initiated_by,
        feedback_flags.feedback_rating,
        feedback_flags.feedback_comment,
        feedback_flags.negative_feedback_at,
        claim_flags.counting_claim_at,
        chargeback_flags.service_chargeback_at,
        coalesce(feedback_flags.is_negative_feedback, false) as is_negative_feedback,
        coalesce(claim_flags.is_counting_claim, false) as is_counting_claim,
        coalesce(chargeback_flags.is_service_chargeback, false) as is_service_chargeback,
        cancellations.order_id is not null as is_cancelled,
        coalesce(cancellations.initiated_by = 'seller', false) as is_seller_cancelled,
        shipments.order_id is not null as is_ship_confirmed,
        coalesce(refund_flags.refunds, 0) > 0 as is_refunded,
        coalesce(contact_flags.buyer_messages, 0) > 0 as has_buyer_contact,
    from orders
    left join shipments on shipments.order_id = orders.order_id
    left join cancellations on cancellations.order_id = orders.order_id
    left join feedback_flags on feedback_flags.order_id = orders.order_id
    left join claim_flags on claim_flags.order_id = orders.order_id
    left join chargeback_flags on chargeback_flags.order_id = orders.order_id
    left join refund_flags on refund_flags.order_id = orders.order_id
    left join contact_flags on contact_flags.order_id = orders.order_id
),

flagged as (
    select
        *,
        is_negative_feedback or is_counting_claim or is_service_chargeback as is_defective,
        -- least() skips NULLs: the earliest of the defects that count at the as-of date.
        least(negative_feedback_at, counting_claim_at, service_chargeback_at)
            as first_defect_at,
        coalesce(
            fulfillment_channel = 'MFN'
            and not is_cancelled
            and (
                cast(ship_confirmed_at as date) > latest_ship_date
                or (not is_ship_confirmed and latest_ship_date < getvariable('as_of_date'))
            ),
            false
        ) as is_late_shipment,
        fulfillment_channel = 'MFN'
        and is_ship_confirmed
        and nullif(trim(tracking_id), '') is not null
        and first_scan_at is not null as has_valid_tracking,
    from joined
),

final as (
    select
        *,
        coalesce(
            has_valid_tracking
            and delivered_at is not null
            and cast(delivered_at as date) <= latest_delivery_date,
            false
        ) as is_delivered_on_time,
        not (
            is_negative_feedback
            or is_counting_claim
            or is_service_chargeback
            or is_cancelled
            or is_late_shipment
            or is_refunded
            or has_buyer_contact
        ) as is_perfect,
        -- Every order counts once here; the incremental build feeds the same counting
        -- model rows of weight +1 / -1 (pipeline/models/engine.py).
        1 as weight,
    from flagged
)

select * from final
