-- schema [exec]
create schema if not exists "gold";

-- drop stale temp [exec]
drop table if exists "gold"."i__lake_tmp";

-- build [exec]
create table "gold"."i__lake_tmp" as
select id, name, amount, day from "silver"."orders";

-- check duplicate keys [assert-empty]
-- message: gold.i: the rows of its first build carry the same unique_key (id) more than once
select "id", count(*) as copies from "gold"."i__lake_tmp" group by "id" having count(*) > 1 limit 1;

-- count [count]
select count(*) as n from "gold"."i__lake_tmp";

-- drop old table [exec]
drop table if exists "gold"."i";

-- swap [exec]
alter table "gold"."i__lake_tmp" rename to "i";
