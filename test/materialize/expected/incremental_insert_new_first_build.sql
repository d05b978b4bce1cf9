-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."i__lake_tmp";

-- build [exec]
create table "gold"."i__lake_tmp" as
with __lake_repeated as materialized (
  select s."id", s."day" from (
select id, name, amount, day from "silver"."orders"
) as s semi join (
    select "day", "id" >> 6 as __lake_block from (
select id, name, amount, day from "silver"."orders"
) as __lake_src group by all
    having count(*) <> coalesce(bit_count(bit_or(1::ubigint << ("id" & 63)::ubigint)), 0)
  ) as b on s."day" is not distinct from b."day" and (s."id" >> 6) is not distinct from b.__lake_block
  group by all having count(*) > 1
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
