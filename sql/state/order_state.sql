-- grain: one row per order and span of load dates over which its outcome inputs hold
-- primary key: order_id, valid_from
-- The per-order outcomes of SPEC 3.2, as intermediate.int_orders_evaluated computes them
-- for one as-of date, kept as a history for the incremental build (pipeline/models/engine.py):
-- a row holds for as-of dates D with valid_from <= D < valid_to (NULL: still current).
-- Evaluated from the inputs in temp table _order_inputs (order_inputs.sql: every
-- breakpoint of some orders' histories; order_inputs_of_day.sql: one new load date).
-- The one outcome that moves with the as-of date alone, the late shipment of an MFN
-- order not yet confirmed, is `late_from`: late as of D when late_from <= D. The
-- versions in effect are kept too: the next day's inputs are merged with them.
with inputs as (
    select * from _order_inputs
),

-- The same expressions as intermediate.int_orders_evaluated.
joined as (
    select
        order_id,
        valid_from,
        seller_id,
        purchased_at,
        purchase_date,
        order_status,
        fulfillment_channel,
        product_line,
        sku,
        quantity,
        item_price,
        currency,
        latest_ship_date,
        latest_delivery_date,
        ship_confirmed_at,
        carrier,
        tracking_id,
        first_scan_at,
        delivered_at,
        cancelled_at,
        cancellation_initiated_by,
        feedback_rating,
        feedback_comment,
        case when feedback_rating <= 2 and not is_feedback_removed then feedback_left_at end
            as negative_feedback_at,
        counting_claim_at,
        service_chargeback_at,
        coalesce(feedback_rating <= 2 and not is_feedback_removed, false)
            as is_negative_feedback,
        coalesce(is_counting_claim, false) as is_counting_claim,
        coalesce(is_service_chargeback, false) as is_service_chargeback,
        cancellation_version is not null as is_cancelled,
        coalesce(cancellation_initiated_by = 'seller', false) as is_seller_cancelled,
        shipment_version is not null as is_ship_confirmed,
        coalesce(refunds, 0) > 0 as is_refunded,
        coalesce(buyer_messages, 0) > 0 as has_buyer_contact,
        -- The feedback itself, for the feedback rating (int_feedback_evaluated).
        feedback_version is not null as has_feedback,
        feedback_left_at,
        feedback_date,
        is_feedback_removed,
        order_version,
        shipment_version,
        cancellation_version,
        feedback_version,
    from inputs
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
