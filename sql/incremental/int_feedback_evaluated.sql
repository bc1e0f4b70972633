-- grain: one row per order with feedback known at the as-of date
-- primary key: order_id
-- materialized: temp_view
-- The incremental build's int_feedback_evaluated: the feedback held in the order
-- histories (an order's feedback counts only while the order is known, as in the full
-- model's join).
select
    order_id,
    seller_id,
    feedback_left_at as left_at,
    feedback_date,
    feedback_rating as rating,
    feedback_comment as comment,
    is_feedback_removed as removed,
    not is_feedback_removed and feedback_rating >= 4 as is_positive,
    weight,
from cxn_orders_at(getvariable('as_of_date'))
where has_feedback
