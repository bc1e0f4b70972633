-- marts.seller_notices: the primary key (seller_id, as_of_date, notice_id) is unique and never null.
-- Checked for the as-of date being built; earlier dates were checked when they were built.
select seller_id, as_of_date, notice_id, count(*) as copies
from marts.seller_notices
where as_of_date = getvariable('as_of_date')
group by all
having count(*) > 1 or bool_or(seller_id is null or as_of_date is null or notice_id is null)
