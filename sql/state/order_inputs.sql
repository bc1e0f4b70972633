-- grain: one row per order and breakpoint of its history
-- primary key: order_id, valid_from
-- The inputs of each order's outcome (SPEC 3.2) at every breakpoint of its history, from
-- the raw versions: the version of each record in effect (the staging rule), and the
-- order's claims, chargebacks, refunds and messages counted. An order's inputs change
-- only on the load date of a version that refers to it, or on the load date of the
-- version that replaces one (SPEC 3.1), so those dates are the breakpoints.
-- For the orders in temp table _state_keys (key). order_state.sql evaluates them;
-- order_inputs_of_day.sql gets the same inputs for one new load date without the raw
-- history (the daily case).
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
    select order_id, valid_from, count(*) as refunds,
    from refunds
    group by order_id, valid_from
),

contact_flags as (
    select order_id, valid_from, count(*) as buyer_messages,
    from messages
    group by order_id, valid_from
),

final as (
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
        {'updated_at': orders.last_updated_at, 'loaded_on': orders._load_date, 'line': orders._line}
            as order_version,
        shipments.ship_confirmed_at,
        shipments.carrier,
        shipments.tracking_id,
        shipments.first_scan_at,
        shipments.delivered_at,
        case when shipments.order_id is not null then
            {'updated_at': shipments.last_updated_at, 'loaded_on': shipments._load_date,
             'line': shipments._line}
        end as shipment_version,
        cancellations.cancelled_at,
        cancellations.initiated_by as cancellation_initiated_by,
        case when cancellations.order_id is not null then
            {'updated_at': cancellations.last_updated_at, 'loaded_on': cancellations._load_date,
             'line': cancellations._line}
        end as cancellation_version,
        feedback.left_at as feedback_left_at,
        feedback.feedback_date,
        feedback.rating as feedback_rating,
        feedback.comment as feedback_comment,
        feedback.removed as is_feedback_removed,
        case when feedback.order_id is not null then
            {'updated_at': feedback.last_updated_at, 'loaded_on': feedback._load_date,
             'line': feedback._line}
        end as feedback_version,
        claim_flags.is_counting_claim,
        claim_flags.counting_claim_at,
        chargeback_flags.is_service_chargeback,
        chargeback_flags.service_chargeback_at,
        refund_flags.refunds,
        contact_flags.buyer_messages,
    from orders
    left join shipments using (order_id, valid_from)
    left join cancellations using (order_id, valid_from)
    left join feedback using (order_id, valid_from)
    left join claim_flags using (order_id, valid_from)
    left join chargeback_flags using (order_id, valid_from)
    left join refund_flags using (order_id, valid_from)
    left join contact_flags using (order_id, valid_from)
)

select * from final
