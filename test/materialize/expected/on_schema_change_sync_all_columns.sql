-- schema [exec]
create schema if not exists "gold";

-- add column day [exec]
alter table "gold"."i" add column "day" DATE;

-- drop column legacy [exec]
alter table "gold"."i" drop column "legacy";

-- stage new rows [exec]
create or replace temp table "__lake_new__gold__i" as
select id, name, amount, day from "silver"."orders";

-- check duplicate keys [assert-empty]
-- message: gold.i: the new rows carry the same unique_key (id) more than once
select "id", count(*) as copies from "__lake_new__gold__i" group by "id" having count(*) > 1 limit 1;

-- merge [exec, rows]
merge into "gold"."i" as DBT_INTERNAL_DEST using "__lake_new__gold__i" as DBT_INTERNAL_SOURCE
on DBT_INTERNAL_DEST."id" is not distinct from DBT_INTERNAL_SOURCE."id"
when matched and true then update set "name" = DBT_INTERNAL_SOURCE."name", "amount" = DBT_INTERNAL_SOURCE."amount", "day" = DBT_INTERNAL_SOURCE."day"
when not matched and true then insert ("id", "name", "amount", "day") values (DBT_INTERNAL_SOURCE."id", DBT_INTERNAL_SOURCE."name", DBT_INTERNAL_SOURCE."amount", DBT_INTERNAL_SOURCE."day");

-- drop stage [exec]
drop table if exists "__lake_new__gold__i";
