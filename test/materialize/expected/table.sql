-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."t__lake_tmp";

-- build [exec]
create table "gold"."t__lake_tmp" as
select id, name, amount, day from "silver"."orders";

-- count [count]
select count(*) as n from "gold"."t__lake_tmp";

-- swap [exec]
alter table "gold"."t__lake_tmp" rename to "t";
