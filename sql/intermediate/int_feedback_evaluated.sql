-- grain: one row per order with feedback known at the as-of date
-- primary key: order_id
-- Feedback carries no seller: it belongs to the seller of its order. Feedback on an
-- order not known at the as-of date cannot be attributed and is left out.
with feedback as (
    select * from staging.stg_feedback
),

orders as (
    select * from intermediate.int_orders_evaluated
),

final as (
    select
        feedback.order_id,
        orders.seller_id,
        feedback.left_at,
        feedback.feedback_date,
        feedback.rating,
        feedback.comment,
        feedback.removed,
        not feedback.removed and feedback.rating >= 4 as is_positive,
        1 as weight,
    from feedback
    join orders on orders.order_id = feedback.order_id
)

select * from final
