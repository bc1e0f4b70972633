-- grain: one row per seller x as-of date
-- primary key: seller_id, as_of_date
-- materialized: as_of
-- The seller's standing in one row: account status (SPEC 3.4), seller rating (3.5)
-- and the headline rate and status of each status-bearing metric.
with sellers as (
    select * from staging.stg_sellers
),

metrics as (
    select * from marts.seller_metrics
    where as_of_date = getvariable('as_of_date')
),

orders as (
    select * from intermediate.int_orders_evaluated
),

account as (
    select
        seller_id,
        case
            when bool_or(status = 'poor') then 'critical'
            when bool_or(status = 'fair') then 'at_risk'
            else 'healthy'
        end as account_status,
    from metrics
    where is_headline and target is not null
    group by seller_id
),

-- Seller rating: 100 points for a perfect order, 0 for a defective one, 50 otherwise,
-- weighted by 0.5 ^ (age in days / 90) over the last 365 days.
rating as (
    select
        seller_id,
        sum(
            power(0.5, (getvariable('as_of_date') - purchase_date) / 90)
            * case when is_defective then 0 when is_perfect then 100 else 50 end
        ) / sum(power(0.5, (getvariable('as_of_date') - purchase_date) / 90)) as seller_rating,
    from orders
    where purchase_date between getvariable('as_of_date') - 364 and getvariable('as_of_date')
    group by seller_id
),

headline as (
    select
        seller_id,
        max(rate) filter (where metric = 'order_defect_rate' and channel = 'all' and is_headline)
            as order_defect_rate,
        max(status) filter (
            where metric = 'order_defect_rate' and channel = 'all' and is_headline
        ) as order_defect_rate_status,
        bool_or(spike) as order_defect_spike,
    from metrics
    group by seller_id
),

final as (
    select
        sellers.seller_id,
        getvariable('as_of_date') as as_of_date,
        sellers.seller_name,
        sellers.marketplace,
        coalesce(account.account_status, 'healthy') as account_status,
        rating.seller_rating,
        headline.order_defect_rate,
        headline.order_defect_rate_status,
        coalesce(headline.order_defect_spike, false) as order_defect_spike,
    from sellers
    left join account on account.seller_id = sellers.seller_id
    left join rating on rating.seller_id = sellers.seller_id
    left join headline on headline.seller_id = sellers.seller_id
)

select * from final
