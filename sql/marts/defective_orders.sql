-- grain: one row per seller x as-of date x defective order in the 60-day ODR window
-- primary key: seller_id, as_of_date, order_id
-- materialized: as_of
-- The orders behind the numerator of order_defect_rate / all / 60 days: "which orders
-- are the problem?"
with orders as (
    select * from intermediate.int_orders_evaluated
),

odr_window as (
    select * from intermediate.int_metric_windows
    where metric = 'order_defect_rate' and channel = 'all' and window_days = 60
),

final as (
    select
        orders.seller_id,
        getvariable('as_of_date') as as_of_date,
        orders.order_id,
        orders.purchase_date,
        orders.fulfillment_channel,
        orders.product_line,
        orders.sku,
        orders.is_negative_feedback,
        orders.is_counting_claim,
        orders.is_service_chargeback,
        orders.feedback_rating,
        orders.feedback_comment,
        orders.first_defect_at,
    from orders
    join odr_window
        on orders.purchase_date between odr_window.window_start and odr_window.window_end
    where orders.is_defective
)

select * from final
