-- grain: one row per order known at the as-of date
-- primary key: order_id
-- materialized: temp_view
-- The incremental build's int_orders_evaluated: the order histories as of the date
-- (sql/state/), identical row for row to the full model of the same name.
select * exclude (has_feedback, feedback_left_at, feedback_date, is_feedback_removed,
    late_from, valid_from, valid_to)
from cxn_orders_at(getvariable('as_of_date'))
