-- grain: one row per order, as of the most recent as-of date built
-- primary key: order_id, as_of_date
-- materialized: latest_as_of
-- changes: intermediate.int_orders_evaluated by order_id
with orders as (
    select * from intermediate.int_orders_evaluated
),

final as (
    select
        order_id,
        getvariable('as_of_date') as as_of_date,
        seller_id,
        purchase_date,
        fulfillment_channel,
        product_line,
        sku,
        is_negative_feedback,
        is_counting_claim,
        is_service_chargeback,
        is_defective,
        is_seller_cancelled,
        is_cancelled,
        is_late_shipment,
        is_refunded,
        has_buyer_contact,
        has_valid_tracking,
        is_delivered_on_time,
        is_perfect,
        is_ship_confirmed,
        first_defect_at,
    from orders
)

select * from final
