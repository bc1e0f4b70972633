-- grain: one row per seller x channel x metric x key date
-- primary key: seller_id, channel, metric, key_date
-- Daily numerators and denominators of each metric by the key date of SPEC 3.3, so a
-- window of any length is a sum over days rather than another scan of the orders.
with orders as (
    select * from intermediate.int_orders_evaluated
),

by_purchase_date as (
    select
        seller_id,
        coalesce(fulfillment_channel, 'all') as channel,
        purchase_date as key_date,
        count(*) as orders,
        count(*) filter (where is_defective) as defective_orders,
        count(*) filter (where is_negative_feedback) as negative_feedback_orders,
        count(*) filter (where is_counting_claim) as claim_orders,
        count(*) filter (where is_service_chargeback) as chargeback_orders,
    from orders
    group by grouping sets (
        (seller_id, fulfillment_channel, purchase_date),
        (seller_id, purchase_date)
    )
),

final as (
    select
        seller_id, channel, key_date,
        'order_defect_rate' as metric,
        defective_orders as numerator,
        orders as denominator,
    from by_purchase_date
    union all
    select
        seller_id, channel, key_date,
        'negative_feedback_rate' as metric,
        negative_feedback_orders as numerator,
        orders as denominator,
    from by_purchase_date
    union all
    select
        seller_id, channel, key_date,
        'claim_rate' as metric,
        claim_orders as numerator,
        orders as denominator,
    from by_purchase_date
    union all
    select
        seller_id, channel, key_date,
        'chargeback_rate' as metric,
        chargeback_orders as numerator,
        orders as denominator,
    from by_purchase_date
)

select * from final
