-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."i__lake_tmp";

-- build [exec]
create table "gold"."i__lake_tmp" as
select id, name, amount, day from "silver"."orders";

-- count [count]
select count(*) as n from "gold"."i__lake_tmp";

-- drop old table [exec]
drop table if exists "gold"."i";

-- swap [exec]
alter table "gold"."i__lake_tmp" rename to "i";
