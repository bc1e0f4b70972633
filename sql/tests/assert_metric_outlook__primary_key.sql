-- marts.metric_outlook: the primary key (seller_id, as_of_date, metric, channel) is unique.
select seller_id, as_of_date, metric, channel, count(*) as n
from marts.metric_outlook
where as_of_date = getvariable('as_of_date')
group by all
having count(*) > 1
