-- grain: one row per seller x as-of date x product line with orders in the 60-day ODR window
-- primary key: seller_id, as_of_date, product_line
-- materialized: as_of
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
        orders.product_line,
        any_value(odr_window.window_start) as window_start,
        any_value(odr_window.window_end) as window_end,
        count(*) as orders,
        count(*) filter (where orders.is_defective) as defective_orders,
        count(*) filter (where orders.is_negative_feedback) as negative_feedback,
        count(*) filter (where orders.is_counting_claim) as claims,
        count(*) filter (where orders.is_service_chargeback) as chargebacks,
        count(*) filter (where orders.is_refunded) as refunds,
        count(*) filter (where orders.is_defective) / count(*) as order_defect_rate,
    from orders
    join odr_window
        on orders.purchase_date between odr_window.window_start and odr_window.window_end
    group by orders.seller_id, orders.product_line
)

select * from final
