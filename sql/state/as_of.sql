-- The outcome histories (order_state.sql, message_state.sql, thread_state.sql) as of one
-- date: the rows that hold at `d`, with the outcomes that depend on the date itself. An
-- order's history is kept in three tables: spans that ended (order_state), current rows
-- that changed in the last weeks (order_state_open) and current rows that did not
-- (order_state_dormant): the daily update looks orders up in the small one first.
-- The incremental build (pipeline/models/engine.py) reads them at the as-of date, and at the
-- as-of date and the day before to find what changed between the two.

-- One of the three order tables, its rows read as of `d`.
create or replace temp macro cxn_order_rows(tbl, d) as table
select
    order_id,
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
    negative_feedback_at,
    counting_claim_at,
    service_chargeback_at,
    is_negative_feedback,
    is_counting_claim,
    is_service_chargeback,
    is_cancelled,
    is_seller_cancelled,
    is_ship_confirmed,
    is_refunded,
    has_buyer_contact,
    is_defective,
    first_defect_at,
    coalesce(late_from <= d, false) as is_late_shipment,
    has_valid_tracking,
    is_delivered_on_time,
    is_perfect_unless_late and not coalesce(late_from <= d, false) as is_perfect,
    1 as weight,
    has_feedback,
    feedback_left_at,
    feedback_date,
    is_feedback_removed,
    late_from,
    valid_from,
    valid_to,
from query_table(tbl);

create or replace temp macro cxn_orders_at(d) as table
select * from cxn_order_rows('intermediate.order_state', d) where valid_from <= d and valid_to > d
union all
select * from cxn_order_rows('intermediate.order_state_open', d) where valid_from <= d
union all
select * from cxn_order_rows('intermediate.order_state_dormant', d) where valid_from <= d;

create or replace temp macro cxn_messages_at(d) as table
select
    message_id,
    thread_id,
    seller_id,
    order_id,
    received_at,
    received_date,
    first_response_at,
    no_response_needed,
    is_answered,
    response_seconds,
    is_answered_within_24h,
    not no_response_needed and coalesce(due_from <= d, false) as is_due,
    has_verdict,
    is_not_solved,
    1 as weight,
    due_from,
    valid_from,
    valid_to,
from intermediate.message_state
where valid_from <= d and (valid_to is null or valid_to > d);

create or replace temp macro cxn_threads_at(d) as table
select
    thread_id,
    seller_id,
    first_received_at,
    first_received_date,
    messages,
    is_single_message,
    1 as weight,
    valid_from,
    valid_to,
from intermediate.thread_state
where valid_from <= d and (valid_to is null or valid_to > d);
