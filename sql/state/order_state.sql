-- grain: one row per order and span of load dates over which its outcome inputs hold
-- primary key: order_id, valid_from
-- The per-order outcomes of SPEC 3.2, as intermediate.int_orders_evaluated computes them
-- for one as-of date, kept as a history for the incremental build (pipeline/engine.py):
-- a row holds for as-of dates D with valid_from <= D < valid_to (NULL: still current).
-- An order's inputs change only on the load date of a version that refers to it, or on
-- the load date of the version that replaces one (SPEC 3.1), so those dates are the
-- breakpoints. The one outcome that moves with the as-of date alone, the late shipment of
-- an MFN order not yet confirmed, is `late_from`: late as of D when late_from <= D.
-- Computed for the orders in temp table _state_keys (key): every breakpoint of each.
with keys as (
    select key as order_id from _state_keys
),

order_versions as materialized (
    select * from raw.orders semi join keys using (order_id)
),

shipment_versions as materialized (
    select * from raw.shipments semi join keys using (order_id)
),

cancellation_versions as materialized (
    select * from raw.cancellations semi join keys using (order_id)
),

feedback_versions as materialized (
    select * from raw.feedback semi join keys using (order_id)
),

claim_versions as materialized (
    select * from raw.claims semi join keys using (order_id)
),

chargeback_versions as materialized (
    select * from raw.chargebacks semi join keys using (order_id)
),

refund_versions as materialized (
    select * from raw.refunds semi join keys using (order_id)
),

message_versions as materialized (
    select * from raw.messages semi join keys using (order_id)
),

version_dates as (
    select order_id, _load_date, _superseded_on from order_versions
    union all
    select order_id, _load_date, _superseded_on from shipment_versions
    union all
    select order_id, _load_date, _superseded_on from cancellation_versions
    union all
    select order_id, _load_date, _superseded_on from feedback_versions
    union all
    select order_id, _load_date, _superseded_on from claim_versions
    union all
    select order_id, _load_date, _superseded_on from chargeback_versions
    union all
    select order_id, _load_date, _superseded_on from refund_versions
    union all
    select order_id, _load_date, _superseded_on from message_versions
),

breakpoints as (
    select distinct order_id, valid_from
    from (
        select order_id, _load_date as valid_from from version_dates
        union all
        select order_id, _superseded_on from version_dates where _superseded_on is not null
    )
),

-- The version of each record in effect at each breakpoint (the staging rule).
orders as (
    select breakpoints.valid_from, v.*, cast(v.purchased_at as date) as purchase_date,
    from breakpoints
    join order_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

shipments as (
    select breakpoints.valid_from, v.*,
    from breakpoints
    join shipment_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

cancellations as (
    select breakpoints.valid_from, v.*,
    from breakpoints
    join cancellation_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

feedback as (
    select breakpoints.valid_from, v.*, cast(v.left_at as date) as feedback_date,
    from breakpoints
    join feedback_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

claims as (
    select breakpoints.valid_from, v.*,
    from breakpoints
    join claim_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

chargebacks as (
    select breakpoints.valid_from, v.*,
    from breakpoints
    join chargeback_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

refunds as (
    select breakpoints.valid_from, v.*,
    from breakpoints
    join refund_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

messages as (
    select breakpoints.valid_from, v.*,
    from breakpoints
    join message_versions as v
        on v.order_id = breakpoints.order_id
        and v._load_date <= breakpoints.valid_from
        and (v._superseded_on is null or v._superseded_on > breakpoints.valid_from)
),

-- From here on, the same expressions as intermediate.int_orders_evaluated, per
-- (order_id, valid_from) instead of per order_id.
feedback_flags as (
    select
        order_id,
        valid_from,
        left_at as feedback_left_at,
        feedback_date,
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
        valid_from,
        bool_or(status not in ('denied', 'withdrawn', 'marketplace_funded')) as is_counting_claim,
        min(filed_at) filter (
            where status not in ('denied', 'withdrawn', 'marketplace_funded')
        ) as counting_claim_at,
    from claims
    group by order_id, valid_from
),

chargeback_flags as (
    select
        order_id,
        valid_from,
        bool_or(kind = 'service' and status <> 'reversed') as is_service_chargeback,
        min(filed_at) filter (
            where kind = 'service' and status <> 'reversed'
        ) as service_chargeback_at,
    from chargebacks
    group by order_id, valid_from
),

refund_flags as (
    select
        order_id,
        valid_from,
        count(*) as refunds,
    from refunds
    group by order_id, valid_from
),

contact_flags as (
    select
        order_id,
        valid_from,
        count(*) as buyer_messages,
    from messages
    group by order_id, valid_from
),

joined as (
    select
        orders.order_id,
        orders.valid_from,
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
        -- The feedback itself, for the feedback rating (int_feedback_evaluated).
        feedback_flags.order_id is not null as has_feedback,
        feedback_flags.feedback_left_at,
        feedback_flags.feedback_date,
        feedback_flags.is_feedback_removed,
    from orders
    left join shipments using (order_id, valid_from)
    left join cancellations using (order_id, valid_from)
    left join feedback_flags using (order_id, valid_from)
    left join claim_flags using (order_id, valid_from)
    left join chargeback_flags using (order_id, valid_from)
    left join refund_flags using (order_id, valid_from)
    left join contact_flags using (order_id, valid_from)
),

flagged as (
    select
        *,
        is_negative_feedback or is_counting_claim or is_service_chargeback as is_defective,
        least(negative_feedback_at, counting_claim_at, service_chargeback_at)
            as first_defect_at,
        -- int_orders_evaluated's is_late_shipment, with the as-of date left open:
        -- confirmed after the promise is late at once, unconfirmed is late the day after.
        case
            when fulfillment_channel = 'MFN' and not is_cancelled then
                case
                    when cast(ship_confirmed_at as date) > latest_ship_date
                        then date '0001-01-01'
                    when not is_ship_confirmed then latest_ship_date + 1
                end
        end as late_from,
        fulfillment_channel = 'MFN'
        and is_ship_confirmed
        and nullif(trim(tracking_id), '') is not null
        and first_scan_at is not null as has_valid_tracking,
    from joined
),

evaluated as (
    select
        *,
        coalesce(
            has_valid_tracking
            and delivered_at is not null
            and cast(delivered_at as date) <= latest_delivery_date,
            false
        ) as is_delivered_on_time,
        -- is_perfect, but for a late shipment (which depends on the as-of date).
        not (
            is_negative_feedback
            or is_counting_claim
            or is_service_chargeback
            or is_cancelled
            or is_refunded
            or has_buyer_contact
        ) as is_perfect_unless_late,
    from flagged
),

-- A breakpoint that changes nothing (a message about the order that was already
-- counted, say) does not start a new span.
changed as (
    select
        *,
        row(*columns(* exclude (order_id, valid_from))) as _state,
    from evaluated
    qualify _state is distinct from lag(_state) over (partition by order_id order by valid_from)
),

final as (
    select
        * exclude (_state),
        lead(valid_from) over (partition by order_id order by valid_from) as valid_to,
    from changed
)

select * from final
