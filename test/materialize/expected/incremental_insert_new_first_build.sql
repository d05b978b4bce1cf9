-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."i__lake_tmp";

-- build [exec]
create table "gold"."i__lake_tmp" as
with __lake_repeated as materialized (
  select "id", "day" from (
select id, name, amount, day from "silver"."orders"
) as __lake_src group by "id", "day" having count(*) > 1
)
select s.* from (
select id, name, amount, day from "silver"."orders"
) as s anti join __lake_repeated as r on s."id" is not distinct from r."id" and s."day" is not distinct from r."day"
union all
select * from (select s.* from (
select id, name, amount, day from "silver"."orders"
) as s semi join __lake_repeated as r on s."id" is not distinct from r."id" and s."day" is not distinct from r."day") as __lake_src
qualify row_number() over (partition by "id", "day" order by "name", "amount") = 1;

-- count [count]
select count(*) as n from "gold"."i__lake_tmp";

-- swap [exec]
alter table "gold"."i__lake_tmp" rename to "i";
