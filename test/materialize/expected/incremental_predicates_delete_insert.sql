-- schema [exec]
create schema if not exists "gold";

-- stage new rows [exec]
create or replace temp table "__lake_new__gold__i" as
select id, name, amount, day from "silver"."orders";

-- delete matching keys [exec]
delete from "gold"."i" as DBT_INTERNAL_DEST where exists (select 1 from "__lake_new__gold__i" as DBT_INTERNAL_SOURCE where DBT_INTERNAL_DEST."id" is not distinct from DBT_INTERNAL_SOURCE."id") and (DBT_INTERNAL_DEST.day >= date '2024-01-01');

-- insert [exec, rows]
insert into "gold"."i" ("id", "name", "amount", "day") select "id", "name", "amount", "day" from "__lake_new__gold__i";

-- drop stage [exec]
drop table if exists "__lake_new__gold__i";
