-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."i__lake_tmp";

-- build [exec]
create table "gold"."i__lake_tmp" as
select * from (
select id, name, amount, day from "silver"."orders"
) as __lake_src
qualify row_number() over (partition by "id", "day" order by "name", "amount") = 1;

-- count [count]
select count(*) as n from "gold"."i__lake_tmp";

-- swap [exec]
alter table "gold"."i__lake_tmp" rename to "i";
