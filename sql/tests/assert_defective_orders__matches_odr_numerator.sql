-- marts.defective_orders lists exactly the orders behind the 60-day ODR numerator.
with listed as (
    select seller_id, count(*) as orders
    from marts.defective_orders
    where as_of_date = getvariable('as_of_date')
    group by seller_id
),

counted as (
    select seller_id, numerator
    from marts.seller_metrics
    where as_of_date = getvariable('as_of_date')
      and metric = 'order_defect_rate' and channel = 'all' and window_days = 60
)

select counted.seller_id, counted.numerator, coalesce(listed.orders, 0) as listed
from counted
left join listed on listed.seller_id = counted.seller_id
where counted.numerator <> coalesce(listed.orders, 0)
